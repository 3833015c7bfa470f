"""Requesting and executing AI grading runs, with the scripted backend (fast, deterministic)."""

import pytest

from grading.errors import ApplicationError
from grading.llm import backends
from grading.llm.prompt import PROMPT_VERSION
from grading.models import CriterionResult, GradingRun
from grading.services.grading import (
    TransientGradingError,
    grading_run_execute,
    grading_run_request,
    grading_runs_request_for_assignment,
)
from grading.tasks import grade_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def test_a_request_queues_a_run_with_everything_to_reproduce_it(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    assert run.status == GradingRun.Status.QUEUED
    assert run.prompt_version == PROMPT_VERSION
    assert run.model_snapshot["backend"] == "scripted"
    assert run.model_snapshot["temperature"] == 0.6  # Qwen's thinking-mode advice
    assert run.rubric_version == submission.assignment.rubric_version
    assert run.max_total == 6
    submission.refresh_from_db()
    assert submission.latest_run == run


def test_the_run_is_enqueued_only_after_the_transaction_commits(
    submission, educator, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(grade_run, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = grading_run_request(submission=submission, requested_by=educator)
        assert sent == []  # nothing reaches the broker before commit
    for callback in callbacks:
        callback()
    assert sent == [run.pk]


def test_a_submission_is_never_graded_twice_at_once(submission, educator):
    grading_run_request(submission=submission, requested_by=educator)
    with pytest.raises(ApplicationError, match="being graded already"):
        grading_run_request(submission=submission, requested_by=educator)


def test_executing_stores_trace_results_and_total(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    results = list(run.results.order_by("criterion__order"))
    assert [r.criterion.key for r in results] == ["C1", "C2"]
    # The total is the app's sum of the stored points, not a number the model claimed.
    assert run.total == sum(r.points for r in results)
    assert run.reasoning_trace
    assert run.prompt_tokens > 0
    assert run.started_at is not None and run.finished_at is not None


def test_a_redelivered_task_does_not_grade_twice(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    grading_run_execute(run_id=run.pk)
    assert CriterionResult.objects.filter(run=run).count() == 2
    run.refresh_from_db()
    assert run.attempts == 1


def test_an_answer_that_does_not_fit_the_rubric_fails_the_run_and_keeps_it(
    assignment, student, educator, make_submission
):
    submission = make_submission(assignment, student, "Essay [[scripted:garbage]]")
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.FAILED
    assert "did not fit the rubric" in run.error
    assert run.raw_answer  # kept for the educator to see what went wrong
    assert not run.results.exists()


def test_a_permanent_model_error_fails_the_run_with_its_message(
    assignment, student, educator, make_submission
):
    submission = make_submission(assignment, student, "Essay [[scripted:permanent-error]]")
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.FAILED
    assert run.error


def test_a_transient_model_error_requeues_the_run_for_a_retry(
    assignment, student, educator, make_submission
):
    submission = make_submission(assignment, student, "Essay [[scripted:transient-error]]")
    run = grading_run_request(submission=submission, requested_by=educator)
    with pytest.raises(TransientGradingError):
        grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.QUEUED
    assert "retrying" in run.error


def test_the_task_gives_up_after_its_retries_with_a_clear_error(
    assignment, student, educator, make_submission, settings
):
    submission = make_submission(assignment, student, "Essay [[scripted:transient-error]]")
    run = grading_run_request(submission=submission, requested_by=educator)
    # Claimed all but once already: this attempt is the last one allowed.
    GradingRun.objects.filter(pk=run.pk).update(attempts=settings.GRADING_MAX_ATTEMPTS - 1)
    grade_run.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == GradingRun.Status.FAILED
    assert run.error.startswith(f"Gave up after {settings.GRADING_MAX_ATTEMPTS} attempts")


def test_grade_all_queues_each_students_newest_attempt_once(
    assignment, student, classmate, educator, make_submission
):
    make_submission(assignment, student, "first")
    newest = make_submission(assignment, student, "second")
    make_submission(assignment, classmate, "classmate")
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 2
    assert newest.runs.count() == 1
    # A second click queues nothing new while those runs are active.
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 0


def test_the_model_never_sees_who_wrote_the_submission(
    assignment, make_user, educator, make_submission, monkeypatch
):
    from grading.models import Enrolment
    from grading.services.courses import enrolment_set

    author = make_user("zq_unique_login", email="zq.author@example.edu", last_name="Quixotic")
    enrolment_set(course=assignment.course, user=author, role=Enrolment.Role.STUDENT)
    submission = make_submission(assignment, author, "My essay.", name="Quixotic_essay.txt")
    seen = []
    real_get_backend = backends.get_backend

    def spying_get_backend(spec):
        backend = real_get_backend(spec)
        real_generate = backend.generate

        def generate(request, **kwargs):
            seen.append(request)
            return real_generate(request, **kwargs)

        monkeypatch.setattr(backend, "generate", generate)
        return backend

    monkeypatch.setattr("grading.services.grading.get_backend", spying_get_backend)
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    prompt = "\n".join(message["content"] for message in seen[0].messages)
    assert "My essay." in prompt
    for identity in ("zq_unique_login", "Quixotic", "zq.author@example.edu"):
        assert identity not in prompt, identity
