"""Uploads, AI grading runs and batch progress over the API.

An upload answers 202 with a URL to poll; the light worker's task (run here by `light_tasks`
as the request commits) reads the files, and the poll then shows what became of each.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from grading.models import GradingRun, Submission
from grading.services.grading import grading_run_execute, grading_run_request
from tests.api.conftest import api_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def upload(light_tasks):
    """upload(client, assignment, *files, student=…) → the upload's answer; the files are read
    as the request commits."""

    def post(client, assignment, *files, student="student", **extra):
        data = {"files": list(files), **extra}
        if student:
            data["student"] = student
        with light_tasks():
            return client.post(
                reverse("api_submissions", args=[assignment.pk]), data, format="multipart"
            )

    return post


def read(client, response) -> dict:
    """The accepted upload (202, nothing read yet) as its URL shows it once read."""
    assert response.status_code == 202, response.content
    accepted = response.json()
    assert accepted["status"] == "processing" and accepted["files"] == []
    assert response.headers["Location"] == accepted["url"]
    polled = client.get(accepted["url"])
    assert polled.status_code == 200, polled.content
    assert polled.json()["status"] == "done", polled.json()
    return polled.json()


def test_an_educator_uploads_several_files_for_a_student(educator, assignment, student, upload):
    client = api_for(educator)
    response = upload(
        client,
        assignment,
        SimpleUploadedFile("one.py", b"def f(n):\n    return f(n - 1) if n else 0\n"),
        SimpleUploadedFile("two.md", b"# Recursion\nBase case first."),
    )
    assert [f["outcome"] for f in read(client, response)["files"]] == ["stored", "stored"]
    attempts = Submission.objects.filter(student=student).order_by("attempt")
    assert [s.original_name for s in attempts] == ["one.py", "two.md"]


def class_zip(files: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return SimpleUploadedFile("class.zip", buffer.getvalue())


def test_a_class_zip_is_matched_to_students_by_the_roster(
    educator, assignment, student, classmate, upload
):
    roster = SimpleUploadedFile(
        "roster.csv", b"student id,file name\nstudent,essay-17.txt\nclassmate,essay-18.txt\n"
    )
    archive = class_zip(
        {"essay-17.txt": b"Mine.", "essay-18.txt": b"Theirs.", "stray.txt": b"Whose?"}
    )
    client = api_for(educator)
    response = upload(client, assignment, archive, student="", roster=roster)
    outcomes = {f["name"]: f["outcome"] for f in read(client, response)["files"]}
    assert outcomes == {
        "class.zip/essay-17.txt": "stored",
        "class.zip/essay-18.txt": "stored",
        "class.zip/stray.txt": "unmatched",  # kept for the educator to assign, never dropped
    }
    assert Submission.objects.get(student=student).text.strip() == "Mine."
    assert Submission.objects.get(student=classmate).text.strip() == "Theirs."


def test_bad_files_are_listed_and_good_ones_kept(educator, assignment, settings, upload):
    settings.AAIE_MAX_UPLOAD_BYTES = 20
    client = api_for(educator)
    response = upload(
        client,
        assignment,
        SimpleUploadedFile("ok.txt", b"short"),
        SimpleUploadedFile("big.txt", b"x" * 100),
    )
    outcomes = {f["name"]: f["outcome"] for f in read(client, response)["files"]}
    assert outcomes == {"ok.txt": "stored", "big.txt": "rejected"}
    only_bad = upload(api_for(educator), assignment, SimpleUploadedFile("big.txt", b"x" * 100))
    assert only_bad.status_code == 400
    assert "files" in only_bad.json()["error"]["fields"]


def test_a_named_student_must_be_in_the_course(educator, assignment, outsider_educator, upload):
    stranger = upload(
        api_for(educator), assignment, SimpleUploadedFile("a.txt", b"x"), student="outsider"
    )
    assert stranger.status_code == 400
    assert "student" in stranger.json()["error"]["fields"]
    assert not Submission.objects.exists()


def test_students_upload_their_own_work_only_where_allowed_and_before_the_due_date(
    student, assignment, upload
):
    client = api_for(student)
    file = SimpleUploadedFile("mine.txt", b"My answer.")
    assert upload(client, assignment, file, student="").status_code == 403
    assignment.students_may_upload = True
    assignment.save()
    # Naming another student changes nothing: a student's upload is always their own.
    response = upload(
        client, assignment, SimpleUploadedFile("mine.txt", b"Mine."), student="classmate"
    )
    assert read(client, response)["files"][0]["outcome"] == "stored"
    assert Submission.objects.get().student == student
    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()
    late = upload(client, assignment, SimpleUploadedFile("late.txt", b"Late."), student="")
    assert late.status_code == 400


def test_students_list_only_their_own_submissions_without_ai_grades(
    graded, classmate, make_submission, assignment, student
):
    make_submission(assignment, classmate)
    listing = api_for(student).get(reverse("api_submissions", args=[assignment.pk])).json()
    assert [s["id"] for s in listing["results"]] == [graded.pk]
    # An unreleased AI grade is never shown to the student.
    assert listing["results"][0]["latest_run"] is None
    assert listing["results"][0]["status"] == "Awaiting review"


def test_educators_filter_submissions_by_student_and_run_status(
    graded, classmate, make_submission, assignment, educator
):
    make_submission(assignment, classmate)
    client = api_for(educator)
    url = reverse("api_submissions", args=[assignment.pk])
    assert client.get(url).json()["count"] == 2
    succeeded = client.get(url, {"run_status": "succeeded"}).json()["results"]
    assert [s["id"] for s in succeeded] == [graded.pk]
    assert succeeded[0]["latest_run"]["status"] == "succeeded"
    by_student = client.get(url, {"student": "classmate"}).json()["results"]
    assert [s["student"]["username"] for s in by_student] == ["classmate"]
    assert client.get(url, {"run_status": "bogus"}).status_code == 400


def test_a_run_is_started_polled_and_read_with_trace_and_results(submission, educator):
    client = api_for(educator)
    started = client.post(reverse("api_submission_runs", args=[submission.pk]))
    assert started.status_code == 202
    run_id = started.json()["id"]
    assert started.json()["status"] == "queued"
    again = client.post(reverse("api_submission_runs", args=[submission.pk]))
    assert again.status_code == 400  # never two runs at once for one submission
    grading_run_execute(run_id=run_id)  # what the worker does
    run = client.get(reverse("api_run", args=[run_id])).json()
    assert run["status"] == "succeeded"
    assert run["reasoning_trace"]
    assert [r["key"] for r in run["results"]] == ["C1", "C2"]
    assert run["total"] == sum(r["points"] for r in run["results"])
    history = client.get(reverse("api_submission_runs", args=[submission.pk])).json()
    assert [r["id"] for r in history["results"]] == [run_id]


def test_batch_grading_reports_progress_and_can_be_cancelled(
    assignment, educator, submission, classmate, make_submission, one_run_per_task
):
    make_submission(assignment, classmate)
    client = api_for(educator)
    started = client.post(reverse("api_assignment_grade", args=[assignment.pk]))
    assert started.status_code == 202
    assert started.json()["queued"] == 2
    progress = client.get(reverse("api_assignment_progress", args=[assignment.pk])).json()
    assert (progress["queued"], progress["remaining"], progress["active"]) == (2, 2, True)
    grading_run_execute(run_id=GradingRun.objects.filter(status="queued").first().pk)
    cancelled = client.post(reverse("api_assignment_grading_cancel", args=[assignment.pk]))
    assert cancelled.json()["count"] == 1
    progress = cancelled.json()["progress"]
    assert (progress["succeeded"], progress["cancelled"], progress["active"]) == (1, 1, False)
    assert progress["percent"] == 100


def test_cancelling_a_queued_run_stops_it_for_good(educator, submission):
    run = grading_run_request(submission=submission, requested_by=educator)
    response = api_for(educator).post(reverse("api_run_cancel", args=[run.pk]))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    grading_run_execute(run_id=run.pk)  # a late task finds nothing to do
    run.refresh_from_db()
    assert run.status == "cancelled" and not run.results.exists()
