"""AAIE inside an LMS page: a real browser opens the simulated LMS course, whose iframe runs the
whole LTI launch (OIDC login, the platform's auto-posted id_token, sign-in) and then AAIE's
pages. Framing is allowed only because the launched session names the LMS as frame ancestor;
a student then submits work through the frame (CSRF checked in the frame)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from grading.lti import keys
from grading.lti.models import LtiContext, LtiDeployment, LtiPlatform
from grading.models import Submission, UploadBatch
from grading.services.uploads import upload_batch_process
from tests.e2e.conftest import ARTIFACTS, assert_accessible
from tests.lti.simulator import CLIENT_ID, DEPLOYMENT_ID, INSTRUCTOR, LEARNER, PlatformSimulator

pytestmark = pytest.mark.slow

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@pytest.fixture
def lms(live_server, transactional_db):
    keys.key_signing()
    published = keys.jwks()
    with PlatformSimulator(tool_jwks=lambda: published) as sim:
        platform = LtiPlatform.objects.create(**sim.registration())
        LtiDeployment.objects.create(platform=platform, deployment_id=DEPLOYMENT_ID)
        yield sim


def aaie_url(live_server) -> str:
    # The simulator listens on 127.0.0.1; so does AAIE here, on another port (same site, so
    # the browser sends cookies without HTTPS; tests/lti/test_frames.py covers SameSite=None).
    return live_server.url.replace("localhost", "127.0.0.1")


def open_in_lms(browser, live_server, sim: PlatformSimulator, claims: dict, name: str):
    hint = f"hint-{name}"
    sim.pending[hint] = claims
    base = aaie_url(live_server)
    sim.iframe_src = f"{base}/lti/login/?" + urlencode(
        {
            "iss": sim.issuer,
            "login_hint": hint,
            "target_link_uri": f"{base}/lti/launch/",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT_ID,
        }
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{sim.url}/course")
    return context, page, page.frame_locator("iframe[name=aaie]")


def test_the_launch_runs_in_the_lms_iframe_for_educator_and_student(
    browser, live_server, lms, rubric_version
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page, frame = open_in_lms(
        browser, live_server, lms, lms.claims(sub="teacher-1", role=INSTRUCTOR), "teacher"
    )
    frame.get_by_role("heading", name="BIO101 — Biology 101").wait_for(timeout=30_000)
    assert frame.get_by_role("button", name="Sync roster").is_visible()
    page.screenshot(path=str(ARTIFACTS / "lti-educator-in-iframe.png"), full_page=True)
    context.close()

    course = LtiContext.objects.get().course
    assignment = course.assignments.create(
        title="Essay",
        task="Write an essay.",
        rubric_version=rubric_version,
        students_may_upload=True,
    )
    claims = lms.claims(sub="learner-1", role=LEARNER)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}
    context, page, frame = open_in_lms(browser, live_server, lms, claims, "learner")
    frame.get_by_role("heading", name="Submit your work: Essay").wait_for(timeout=30_000)
    frame.get_by_label("File").set_input_files(
        files=[{"name": "essay.txt", "mimeType": "text/plain", "buffer": b"My essay."}]
    )
    frame.get_by_role("button", name="Submit").click()
    # Accepted inside the frame: the upload's page says it is being read by the light worker.
    frame.get_by_role("heading", name="Your upload for Essay").wait_for(timeout=30_000)
    assert "Reading" in frame.get_by_role("status").inner_text()
    page.screenshot(path=str(ARTIFACTS / "lti-student-in-iframe.png"), full_page=True)
    context.close()
    upload_batch_process(batch_id=UploadBatch.objects.get(assignment=assignment).pk)
    submission = Submission.objects.get(assignment=assignment)
    assert submission.student.lti_identities.get().sub == "learner-1"


def test_deep_linking_in_the_browser_returns_a_signed_link_to_the_lms(
    browser, live_server, lms, rubric_version
):
    context, page, frame = open_in_lms(
        browser,
        live_server,
        lms,
        lms.claims(sub="teacher-1", role=INSTRUCTOR, message_type="LtiDeepLinkingRequest"),
        "deep-linker",
    )
    frame.get_by_role("heading", name="Add an AAIE assignment to Biology 101").wait_for(
        timeout=30_000
    )
    # The picker, opened on its own, passes the accessibility rules like every page.
    picker = context.new_page()
    picker.goto(f"{aaie_url(live_server)}/lti/deep-link/")
    assert_accessible(picker, "lti-deep-link")
    picker.close()

    frame.get_by_label("Title").fill("Lab report")
    frame.get_by_label("Task").fill("Report on the lab.")
    frame.get_by_label("Rubric").select_option(str(rubric_version.pk))
    frame.get_by_role("button", name="Add to the LMS").click()
    frame.get_by_text("Link added.").wait_for(timeout=30_000)  # the LMS's answer, in the frame
    context.close()

    [reply] = lms.recorded.deep_link_replies
    item = reply["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"][0]
    assert item["title"] == "Lab report"
    assert item["lineItem"]["scoreMaximum"] == 6
