"""The whole loop with real parts: the web client, a real Redis, a real Celery worker process,
and a real Qwen3 model (tiny, seeded random weights, real tokenizer and chat template)."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import GradingRun, Submission, UploadBatch
from tests.conftest import client_for

pytestmark = pytest.mark.slow

RUN_TIMEOUT_SECONDS = 180
READ_TIMEOUT_SECONDS = 60
STUDENT_TEXT = "Recursion is a function calling itself.\nThe base case stops it.\n"


def wait_for_run_to_end(run_id: int, worker) -> GradingRun:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = GradingRun.objects.get(pk=run_id)
        if not run.is_active:
            return run
        if worker.poll() is not None:
            pytest.fail(f"The worker died:\n{worker.log_path.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"Run {run_id} did not end in time:\n{worker.log_path.read_text()[-4000:]}")


# The work asked of the model is bounded, not the time it may take: random weights fill every
# string to its limit, and the answer's text bounds shrink to fit this budget.
TEST_ANSWER_TOKENS = 256


def wait_for_upload_to_be_read(batch_id: int, worker) -> UploadBatch:
    deadline = time.monotonic() + READ_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        batch = UploadBatch.objects.get(pk=batch_id)
        if batch.status != UploadBatch.Status.PROCESSING:
            return batch
        if worker.poll() is not None:
            pytest.fail(f"The worker died:\n{worker.log_path.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"Upload {batch_id} was not read in time:\n{worker.log_path.read_text()[-4000:]}")


@pytest.fixture
def tiny_model_settings(settings, tiny_model_dir):
    settings.AAIE_DEFAULT_MODEL = {
        "backend": "transformers",
        "model": str(tiny_model_dir),
        "device": "cpu",
        "dtype": "float32",
        "enable_thinking": True,
        "thinking_budget": 32,
        "max_answer_tokens": TEST_ANSWER_TOKENS,
        "context_limit": 8192,
    }


def test_upload_grade_review_release_and_only_the_student_reads_it(
    celery_worker_process, tiny_model_settings, educator, student, classmate, assignment
):
    web = client_for(educator)

    # 1. Upload through the upload page.
    response = web.post(
        reverse("submission_upload", args=[assignment.pk]),
        {"student": student.pk, "files": [SimpleUploadedFile("essay.md", STUDENT_TEXT.encode())]},
    )
    assert response.status_code == 302, response.content[:2000]
    # The worker reads the file off the request path (its light task shares this worker).
    batch = wait_for_upload_to_be_read(UploadBatch.objects.get().pk, celery_worker_process)
    assert batch.status == UploadBatch.Status.DONE, batch.error
    submission = Submission.objects.get(assignment=assignment, student=student)

    # 2. Start AI grading; the worker process picks the task up from Redis.
    response = web.post(reverse("grade_assignment", args=[assignment.pk]))
    assert response.status_code == 302
    run = wait_for_run_to_end(
        Submission.objects.get(pk=submission.pk).latest_run_id, celery_worker_process
    )
    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.reasoning_trace and run.thinking_tokens > 0
    assert run.results.count() == 2
    used = run.model_snapshot["used"]
    assert used["max_answer_tokens"] == TEST_ANSWER_TOKENS
    assert run.answer_tokens <= used["answer_token_bound"] <= TEST_ANSWER_TOKENS

    # 3. The review page shows the trace and the scores.
    page = web.get(reverse("submission_review", args=[submission.pk])).content.decode()
    assert "Reasoning trace" in page
    for result in run.results.all():
        assert f"AI: {result.level_label} — {result.points} pts" in page
    assert "Recursion is a function calling itself." in page

    # 4. Release with the AI's points.
    criteria = list(run.rubric_version.criteria.all())
    form = {f"points_{r.criterion_id}": r.points for r in run.results.all()}
    form.update({f"comment_{c.pk}": "" for c in criteria})
    form.update({"comment": "Nice work.", "action": "release"})
    response = web.post(reverse("submission_review", args=[submission.pk]), form)
    assert response.status_code == 302

    # 5. The student reads it; a classmate cannot.
    feedback_url = reverse("my_feedback", args=[submission.pk])
    feedback = client_for(student).get(feedback_url)
    assert feedback.status_code == 200
    assert b"Nice work." in feedback.content
    assert f"{run.total} / {run.max_total}".encode() in feedback.content
    assert client_for(classmate).get(feedback_url).status_code in (403, 404)


def test_a_model_that_cannot_load_fails_the_run_clearly_and_can_be_retried(
    celery_worker_process, settings, educator, submission, tmp_path
):
    missing = tmp_path / "no-such-model"
    settings.AAIE_DEFAULT_MODEL = {
        **settings.AAIE_DEFAULT_MODEL,
        "backend": "transformers",
        "model": str(missing),
    }
    web = client_for(educator)
    web.post(reverse("grade_submission", args=[submission.pk]))
    run = wait_for_run_to_end(
        Submission.objects.get(pk=submission.pk).latest_run_id, celery_worker_process
    )
    assert run.status == GradingRun.Status.FAILED
    assert str(missing) in run.error and "AAIE_MODEL" in run.error

    page = web.get(reverse("submission_review", args=[submission.pk])).content.decode()
    assert "AI grading failed" in page and "AAIE_MODEL" in page

    # Nothing is lost: the submission is intact and grading can be asked for again.
    settings.AAIE_DEFAULT_MODEL = {**settings.AAIE_DEFAULT_MODEL, "backend": "scripted"}
    web.post(reverse("grade_submission", args=[submission.pk]))
    retry = wait_for_run_to_end(
        Submission.objects.get(pk=submission.pk).latest_run_id, celery_worker_process
    )
    assert retry.pk != run.pk
    assert retry.status == GradingRun.Status.SUCCEEDED, retry.error
    assert submission.runs.count() == 2


def test_a_worker_grades_a_class_in_one_model_batch(
    celery_worker_process, tiny_model_settings, settings, educator, student, classmate,
    assignment, make_submission,
):  # fmt: skip
    settings.AAIE_DEFAULT_MODEL = {**settings.AAIE_DEFAULT_MODEL, "batch_size": 8}
    for user, text in ((student, STUDENT_TEXT), (classmate, "Recursion loops forever.\n")):
        make_submission(assignment, user, text)

    response = client_for(educator).post(reverse("grade_assignment", args=[assignment.pk]))
    assert response.status_code == 302
    runs = [
        wait_for_run_to_end(run_id, celery_worker_process)
        for run_id in GradingRun.objects.order_by("pk").values_list("pk", flat=True)
    ]

    assert [run.status for run in runs] == [GradingRun.Status.SUCCEEDED] * 2, [
        r.error for r in runs
    ]
    # Both were claimed by the first task, which graded them together.
    assert runs[0].task_id and runs[0].task_id == runs[1].task_id
    assert all(run.results.count() == 2 and run.reasoning_trace for run in runs)
