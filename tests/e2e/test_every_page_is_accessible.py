"""Every HTML page of the web app, opened in Chromium by a user who may see it, passes axe-core's
basic rules (labels, contrast, headings, names, language, title), at 1366 px and at 390 px,
breaks no rule of the Content-Security-Policy (the API docs page included), and at 390 px nothing
reaches past the screen's edge (wide tables scroll inside their box).

The pages come from the web permission matrix, so a new page is checked here as soon as it is
listed there.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.test_web_permission_matrix import MATRIX, objects  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("scripted_model")]

# Who opens each page: the first role the matrix lets in.
VIEWERS = ("educator", "student", "admin", "anonymous")
NOT_HTML = {"healthz", "grading_progress", "run_trace", "api_schema", "gradebook_download",
            "rubric_export", "evaluation_report_json", "lti_jwks", "lti_canvas_json",
            "upload_batch_status", "my_upload_status", "submission_original",
            "submission_page"}  # fmt: skip
# Swagger UI, drf-spectacular's bundled third-party page: its contrast and heading problems are
# upstream's, not ours to patch. It is opened, not checked.
THIRD_PARTY = {"api_docs"}


def html_pages() -> list[tuple[str, str]]:
    pages = []
    for name, route in sorted(MATRIX.items()):
        if route.method != "get" or name in NOT_HTML:
            continue
        viewer = next((role for role in VIEWERS if route.expected[role] in (200, "ok")), None)
        if viewer is not None:  # None: a route that only redirects, such as home
            pages.append((name, viewer))
    return pages


def test_every_page_passes_the_basic_accessibility_rules(visitor, objects, users_by_role):  # noqa: F811
    people = {}
    for name, viewer in html_pages():
        if viewer not in people:
            person = visitor(f"a11y-{viewer}")
            if viewer != "anonymous":
                person.log_in(
                    users_by_role[viewer].get_username(),
                    f"pw-{users_by_role[viewer].get_username()}",
                )
            people[viewer] = person
        person = people[viewer]
        url = reverse(name, args=MATRIX[name].args(objects))
        response = person.page.goto(url)
        assert response.status == 200, f"{name} ({viewer}): {response.status}"
        person.page.wait_for_load_state("networkidle")  # scripts ran, Swagger UI drew
        person.assert_no_csp_violations()
        if name in THIRD_PARTY:
            continue
        person.snap_sizes(name)
