"""Batch grading of an assignment: cancel, retry failed, progress with an ETA, the worker's
heartbeat and retries after transient errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from grading import worker
from grading.llm.backends import clear_backend_cache, get_backend
from grading.llm.backends.scripted import ScriptedBackend
from grading.llm.types import ModelSpec
from grading.models import CriterionResult, GradingRun, WorkerHeartbeat
from grading.services.grading import (
    grading_run_claim,
    grading_run_execute,
    grading_run_fail,
    grading_runs_request_for_assignment,
)
from grading.services.pipeline import (
    assignment_progress,
    eta_text,
    grading_run_after_transient_error,
    grading_runs_cancel_for_assignment,
    grading_runs_retry_failed,
)
from tests.pipeline.conftest import make_class

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_run_per_task")]


@pytest.fixture
def batch(assignment, educator):
    """Four submissions, each with a queued run."""
    submissions = make_class(assignment, [f"Essay {n}" for n in range(4)])
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 4
    return submissions


def current_runs(submissions) -> list[GradingRun]:
    return [GradingRun.objects.get(pk=s.latest_run_id) for s in _fresh(submissions)]


def _fresh(submissions):
    return [type(s).objects.get(pk=s.pk) for s in submissions]


def test_cancel_stops_queued_and_running_runs_and_leaves_finished_ones(batch, assignment, educator):
    done, running, *queued = current_runs(batch)
    grading_run_execute(run_id=done.pk)
    assert grading_run_claim(run_id=running.pk)

    assert grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=educator) == 3

    statuses = {run.pk: run.status for run in current_runs(batch)}
    assert statuses.pop(done.pk) == GradingRun.Status.SUCCEEDED
    assert set(statuses.values()) == {GradingRun.Status.CANCELLED}
    assert "Cancelled by educator" in GradingRun.objects.get(pk=running.pk).error


def test_a_cancelled_run_is_never_graded_even_if_its_task_arrives(batch, assignment, educator):
    run = current_runs(batch)[0]
    grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=educator)
    grading_run_execute(run_id=run.pk)  # the task was already in the queue
    run.refresh_from_db()
    assert run.status == GradingRun.Status.CANCELLED
    assert not CriterionResult.objects.filter(run=run).exists()


def test_a_run_cancelled_while_the_model_thinks_keeps_no_result(
    batch, assignment, educator, monkeypatch
):
    run = current_runs(batch)[0]
    generate = ScriptedBackend.generate

    def cancel_midway(self, request, **kwargs):
        grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=educator)
        return generate(self, request, **kwargs)

    monkeypatch.setattr(ScriptedBackend, "generate", cancel_midway)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.CANCELLED
    assert not CriterionResult.objects.filter(run=run).exists()


def test_retry_failed_queues_only_the_failed_ones(batch, assignment, educator):
    failed, succeeded, cancelled, _queued = current_runs(batch)
    grading_run_fail(run_id=failed.pk, error="model crashed")
    grading_run_execute(run_id=succeeded.pk)
    GradingRun.objects.filter(pk=cancelled.pk).update(status=GradingRun.Status.CANCELLED)

    assert grading_runs_retry_failed(assignment=assignment, requested_by=educator) == 1

    new_failed_run, *others = current_runs(batch)
    assert new_failed_run.pk != failed.pk and new_failed_run.status == GradingRun.Status.QUEUED
    assert [run.pk for run in others] == [succeeded.pk, cancelled.pk, _queued.pk]
    # The failed run is kept with its error: history, not overwritten.
    assert GradingRun.objects.get(pk=failed.pk).error == "model crashed"


def test_grade_all_picks_up_cancelled_runs_again(batch, assignment, educator):
    grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=educator)
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 4
    assert {run.status for run in current_runs(batch)} == {GradingRun.Status.QUEUED}


def test_a_failing_run_keeps_every_error_in_its_history(batch, settings):
    run = current_runs(batch)[0]
    assert grading_run_claim(run_id=run.pk)
    grading_run_fail(run_id=run.pk, error="Scripted permanent error.")
    run.refresh_from_db()
    assert run.status == GradingRun.Status.FAILED
    assert [(e["attempt"], e["error"]) for e in run.error_history] == [
        (1, "Scripted permanent error.")
    ]


def test_transient_errors_requeue_until_the_attempts_run_out(batch, settings):
    settings.GRADING_MAX_ATTEMPTS = 2
    run = current_runs(batch)[0]
    assert grading_run_claim(run_id=run.pk)
    first = grading_run_after_transient_error(run_id=run.pk, error="server unreachable")
    assert first.status == GradingRun.Status.QUEUED
    assert grading_run_claim(run_id=run.pk)
    second = grading_run_after_transient_error(run_id=run.pk, error="server unreachable")
    assert second.status == GradingRun.Status.FAILED
    run.refresh_from_db()
    assert run.error == "Gave up after 2 attempts: server unreachable"
    assert [e["attempt"] for e in run.error_history] == [1, 2]
    # Once ended, a late transient error changes nothing.
    assert grading_run_after_transient_error(run_id=run.pk, error="again") is None


def test_progress_counts_each_submissions_current_run_and_measures_an_eta(batch, assignment):
    now = timezone.now()
    runs = current_runs(batch)
    # Two finished: the first started 120 s ago, so the pipeline does 2 runs per 2 minutes.
    for run, status in zip(runs[:2], ("succeeded", "failed"), strict=True):
        GradingRun.objects.filter(pk=run.pk).update(
            status=status,
            started_at=now - timedelta(seconds=120),
            finished_at=now - timedelta(seconds=10),
        )
    GradingRun.objects.filter(pk=runs[2].pk).update(status="running", started_at=now)

    progress = assignment_progress(assignment=assignment, now=now)

    assert {k: progress[k] for k in ("total", "succeeded", "failed", "running", "queued")} == {
        "total": 4,
        "succeeded": 1,
        "failed": 1,
        "running": 1,
        "queued": 1,
    }
    assert progress["not_graded"] == 0 and progress["remaining"] == 2
    assert progress["percent"] == 50 and progress["active"] is True
    assert progress["throughput_per_minute"] == 1.0
    assert progress["eta_seconds"] == 120  # 2 remaining at 1 per minute
    assert progress["eta_text"] == "about 2 min left"


def test_progress_has_no_eta_before_anything_finished(batch, assignment):
    progress = assignment_progress(assignment=assignment)
    assert progress["queued"] == 4 and progress["percent"] == 0
    assert progress["eta_seconds"] is None and progress["eta_text"] == ""


def test_a_batch_that_is_all_running_gets_an_eta_from_measured_tokens_per_second(batch, assignment):
    now = timezone.now()
    runs = current_runs(batch)
    # One run finished after 400 thinking tokens: the expectation for the others.
    GradingRun.objects.filter(pk=runs[0].pk).update(
        status="succeeded", thinking_tokens=400, started_at=now, finished_at=now
    )
    # Two rows of one batch think side by side, 100 s in: 2 and 3 tokens a second.
    for run, tokens in zip(runs[1:3], (200, 300), strict=True):
        GradingRun.objects.filter(pk=run.pk).update(
            status="running", thinking_tokens=tokens, started_at=now - timedelta(seconds=100)
        )

    progress = assignment_progress(assignment=assignment, now=now)

    assert progress["rows"] == [
        {"submission_id": runs[1].submission_id, "tokens": 200, "tokens_per_second": 2.0},
        {"submission_id": runs[2].submission_id, "tokens": 300, "tokens_per_second": 3.0},
    ]
    assert progress["tokens_per_second"] == 5.0
    # Left: 200 + 100 tokens of the running rows and 400 of the queued one, at 5 a second.
    assert progress["eta_seconds"] == 140
    assert progress["eta_text"] == "about 2 min left"


def test_progress_of_an_assignment_nobody_graded_yet(assignment):
    make_class(assignment, ["one", "two"])
    progress = assignment_progress(assignment=assignment)
    assert progress["total"] == 2 and progress["not_graded"] == 2
    assert progress["active"] is False and progress["percent"] == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (30, "less than a minute left"), (600, "about 10 min left"),
     (3 * 3600 + 20 * 60, "about 3 h 20 min left")],
)  # fmt: skip
def test_eta_reads_like_a_person_wrote_it(seconds, text):
    assert eta_text(seconds) == text


def test_the_heartbeat_reports_the_process_its_models_and_keeps_its_run_alive(batch):
    run = current_runs(batch)[0]
    assert grading_run_claim(run_id=run.pk)
    long_ago = timezone.now() - timedelta(hours=1)
    GradingRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    clear_backend_cache()
    get_backend(ModelSpec(backend="scripted", model="scripted"))
    try:
        with worker.grading(run.pk):
            worker.heartbeat_once(name="grader@host#0")
    finally:
        clear_backend_cache()

    beat = WorkerHeartbeat.objects.get(hostname="grader@host#0")
    assert beat.current_run_id == run.pk
    assert beat.models_loaded == [
        {"backend": "scripted", "model": "scripted", "device": "cpu", "dtype": "auto"}
    ]
    run.refresh_from_db()
    assert run.heartbeat_at > long_ago

    # Between runs it still reports, with no current run.
    worker.heartbeat_once(name="grader@host#0")
    beat.refresh_from_db()
    assert beat.current_run_id is None
    assert WorkerHeartbeat.objects.count() == 1
