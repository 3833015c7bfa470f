"""A large class ZIP with a roster, uploaded in the browser: the progress bar fills, the result
page fills in live as a real worker reads the files, and the unmatched file is assigned on its
page."""

from __future__ import annotations

import re
import secrets

import pytest
import redis

from grading.models import Enrolment, Submission
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.rubrics import rubric_create
from tests.conftest import two_criteria
from tests.ingest.builders import make_zip
from tests.processes import Worker

pytestmark = pytest.mark.slow

PASSWORD = "e2e-password-123"
# Hex text compresses about 2:1; two such files make a ZIP over the script's 1 MB threshold.
LARGE_TEXT_BYTES = 1_500_000

# Generous: a real worker reads the ZIP; the result page polls until it is done.
READ_DEADLINE_MS = 120_000

# Keeps the highest value the progress bar shows in sessionStorage, which survives the
# navigation to the result page.
WATCH_PROGRESS = """() => {
  const bar = document.querySelector("#upload-progress-bar");
  new MutationObserver(() => {
    const best = Number(sessionStorage.getItem("best") || 0);
    sessionStorage.setItem("best", String(Math.max(best, Number(bar.value))));
  }).observe(bar, {attributes: true});
}"""


@pytest.fixture
def assignment(django_user_model):
    educator = django_user_model.objects.create_user("teacher", password=PASSWORD)
    course = course_create(code="UP101", title="Upload course", created_by=educator)
    for username in ("ana", "ben"):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, first_name=username.title()
        )
        enrolment_set(course=course, user=user, role=Enrolment.Role.STUDENT)
    rubric = rubric_create(name="Rubric", criteria=two_criteria(), created_by=educator)
    return assignment_create(course=course, title="Essay", task="Write.", rubric_version=rubric)


@pytest.fixture
def start_light_worker(redis_url, tmp_path):
    """start_light_worker() → a real light worker (the `default` queue), stopped afterwards."""
    redis.Redis.from_url(redis_url).flushdb()
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(
            broker_url=redis_url,
            log_path=tmp_path / "light.log",
            name="light-e2e",
            env={"AAIE_VAR_DIR": str(tmp_path)},  # its media folder is this test's
            queues="default",
        )
        workers.append(worker)
        return worker.wait_ready()

    yield start
    for worker in workers:
        worker.stop()


def test_a_large_class_zip_shows_progress_and_every_file_is_accounted_for(
    visitor, assignment, tmp_path, start_light_worker
):
    class_zip = tmp_path / "class.zip"
    class_zip.write_bytes(
        make_zip(
            {
                "essay-1.txt": secrets.token_hex(LARGE_TEXT_BYTES // 2).encode(),
                "ben/answer.md": b"# Ben's answer\n"
                + secrets.token_hex(LARGE_TEXT_BYTES // 2).encode(),
                "stray-notes.txt": b"whose?",
                "../escape.txt": b"x",
            }
        )
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("student id,name,email,file name\nana,Ana,,essay-1.txt\n")

    teacher = visitor("uploader")
    page = teacher.page
    teacher.log_in("teacher", PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/upload/")
    page.get_by_label("Files").set_input_files(str(class_zip))
    page.get_by_label("Roster CSV (optional)").set_input_files(str(roster))
    teacher.snap("upload-form")
    page.evaluate(WATCH_PROGRESS)
    with page.expect_request(lambda request: request.method == "POST") as upload:
        page.get_by_role("button", name="Upload").click()
    assert upload.value.resource_type == "xhr"  # the script sent it, so progress was observable
    page.wait_for_url("**/uploads/*/")
    assert page.evaluate("sessionStorage.getItem('best')") == "100"
    # The page came back before anything was read (no worker runs yet) ...
    assert "Reading 1 uploaded file(s)" in page.content()
    assert not Submission.objects.exists()
    teacher.snap("upload-being-read")
    page.evaluate("window.notReloaded = true")
    # ... and its script fills it in, without a reload, once a light worker has read the files.
    start_light_worker()
    page.get_by_text("2 file(s) uploaded.").wait_for(timeout=READ_DEADLINE_MS)
    assert page.evaluate("window.notReloaded") is True
    content = page.content()
    assert "1 unmatched, 1 rejected" in content, re.sub(r"\s+", " ", content)[-3000:]
    assert "a path that climbs out of the archive" in content
    assert page.get_by_role("link", name="assign them to students").is_visible()
    teacher.snap("upload-result")

    page.get_by_role("link", name="assign them to students").click()
    page.get_by_label("Student for class.zip/stray-notes.txt").select_option(label="Ana (ana)")
    teacher.snap("unmatched")
    page.get_by_role("button", name="Assign").click()
    page.wait_for_load_state()
    assert "Every uploaded file is matched to a student." in page.content()
    assert Submission.objects.filter(student__username="ana").count() == 2
