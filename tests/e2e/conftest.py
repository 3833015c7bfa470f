"""A real browser (Debian's Chromium driven by Playwright) against the live app and a real worker.

Screenshots of every page land in test-artifacts/screenshots/. Each page visited is checked with
axe-core for basic accessibility rules.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API keeps an event loop in the main thread from the first browser start to
# the end of the session, and the test database is set up inside it; the ORM calls made between
# browser steps are plain synchronous calls and safe. So this holds for the whole session, and
# tests that start production-like subprocesses drop it (tests/security/test_deploy_settings.py).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("AAIE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_WIDTH = 390
SCREEN_WIDTHS = (1366, PHONE_WIDTH)
# The page's width beyond the window, and the first few elements that reach past its edge.
OVERFLOW_SCRIPT = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) { return null; }
  const wide = [...document.querySelectorAll("body *")].filter(
    (el) => el.getBoundingClientRect().right > width + 1
  ).slice(0, 5).map((el) => el.tagName + "." + el.className);
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide};
}"""
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The basic rules every page must pass: labels, contrast, headings, names, language, title.
AXE_RULES = [
    "label",
    "color-contrast",
    "heading-order",
    "page-has-heading-one",
    "empty-heading",
    "document-title",
    "html-has-lang",
    "button-name",
    "link-name",
    "image-alt",
    "select-name",
    "duplicate-id-aria",
]


def _browser_missing_reason() -> str | None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return None
    return f"Chromium not found at {CHROMIUM}: apt-get install chromium (scripts/test does)."


@pytest.fixture(scope="session")
def browser() -> Iterator:
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("AAIE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visitor:
    """One signed-in person in their own browser context.

    Every Content-Security-Policy violation the browser reports is kept; closing the visitor
    fails the test if there was one (the policy refuses inline scripts and styles, so each is a
    part of a page that does not work).
    """

    def __init__(self, browser, base_url: str, name: str) -> None:
        self.context = browser.new_context(base_url=base_url, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.on("console", self._note_csp_violation)
        self.name = name
        self.shots = 0
        self.csp_violations: list[str] = []

    def _note_csp_violation(self, message) -> None:
        if "Content Security Policy" not in message.text:
            return
        self.csp_violations.append(f"{urlsplit(self.page.url).path}: {message.text}")

    def assert_no_csp_violations(self) -> None:
        violations, self.csp_violations = self.csp_violations, []
        assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)

    def log_in(self, username: str, password: str) -> None:
        self.page.goto("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state()

    def snap(self, label: str) -> None:
        """Save a screenshot and check the page for accessibility problems."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert_accessible(self.page, label)

    def snap_sizes(self, label: str) -> None:
        """Screenshots at a laptop's and a phone's width; at the phone's nothing may stick out."""
        for width in SCREEN_WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.snap(f"{label}-{width}")
        overflow = self.page.evaluate(OVERFLOW_SCRIPT)
        assert not overflow, f"{label} is wider than {PHONE_WIDTH} px: {overflow}"
        self.page.set_viewport_size({"width": SCREEN_WIDTHS[0], "height": 900})

    def close(self) -> None:
        self.context.close()
        self.assert_no_csp_violations()


def assert_accessible(page, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "rule", "values": AXE_RULES}})
    violations = results.response["violations"]
    details = [
        f"{v['id']}: {v['help']} — {[node['target'] for node in v['nodes']][:3]}"
        for v in violations
    ]
    assert not violations, f"Accessibility problems on {label}:\n" + "\n".join(details)


@pytest.fixture
def visitor(browser, live_server):
    visitors: list[Visitor] = []

    def make(name: str) -> Visitor:
        person = Visitor(browser, live_server.url, name)
        visitors.append(person)
        return person

    yield make
    for person in visitors:
        person.close()
