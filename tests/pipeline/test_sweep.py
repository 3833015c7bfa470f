"""The sweep: runs with no live task are sent again; runs lost too often stay failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from grading import broker
from grading.models import GradingRun, WorkerHeartbeat
from grading.services.grading import grading_run_claim, grading_run_request
from grading.services.pipeline import WORKER_LOST_ERROR, grading_runs_sweep
from grading.tasks import grade_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Run ids the sweep sends to the broker (after its transaction commits)."""
    sent: list[int] = []
    monkeypatch.setattr(grade_run, "delay", sent.append)
    return sent


@pytest.fixture
def broker_holds(monkeypatch):
    """broker_holds(*run_ids): what the broker has a task for; raises if called with an error."""

    def hold(*run_ids: int | Exception) -> list:
        asked = []

        def run_ids_in_broker(*, delivered_since):
            asked.append(delivered_since)
            if run_ids and isinstance(run_ids[0], Exception):
                raise run_ids[0]
            return set(run_ids)

        monkeypatch.setattr(broker, "run_ids_in_broker", run_ids_in_broker)
        return asked

    return hold


def age(run: GradingRun, *, seconds: float, **fields) -> None:
    """Make the run's last heartbeat `seconds` old (and set other fields)."""
    GradingRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds), **fields
    )


@pytest.fixture
def running_run(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    assert grading_run_claim(run_id=run.pk)
    return run


def test_a_running_run_whose_worker_went_quiet_is_queued_and_sent_again(
    running_run, settings, sent, broker_holds, django_capture_on_commit_callbacks
):
    age(running_run, seconds=settings.GRADING_RUNNING_STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    running_run.refresh_from_db()
    assert report.requeued == [running_run.pk]
    assert running_run.status == GradingRun.Status.QUEUED
    assert sent == [running_run.pk]
    # The lost attempt is on record, so an educator can see why it took longer.
    assert [entry["error"] for entry in running_run.error_history] == [WORKER_LOST_ERROR]
    assert running_run.error_history[0]["attempt"] == 1


def test_a_running_run_with_a_fresh_heartbeat_is_left_alone(
    running_run, settings, sent, django_capture_on_commit_callbacks
):
    age(running_run, seconds=settings.GRADING_RUNNING_STALE_SECONDS - 5)
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    running_run.refresh_from_db()
    assert running_run.status == GradingRun.Status.RUNNING
    assert report.requeued == [] and sent == []


def test_a_run_lost_as_often_as_allowed_stays_failed_with_every_error(
    running_run, settings, sent, django_capture_on_commit_callbacks
):
    earlier = [{"at": "then", "attempt": n, "error": f"error {n}"} for n in (1, 2)]
    age(
        running_run,
        seconds=settings.GRADING_RUNNING_STALE_SECONDS + 1,
        attempts=settings.GRADING_MAX_ATTEMPTS,
        error_history=earlier,
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    running_run.refresh_from_db()
    assert report.failed == [running_run.pk]
    assert running_run.status == GradingRun.Status.FAILED
    assert running_run.finished_at is not None
    assert running_run.error.startswith(f"Gave up after {settings.GRADING_MAX_ATTEMPTS} attempts")
    assert [entry["error"] for entry in running_run.error_history][:2] == ["error 1", "error 2"]
    assert len(running_run.error_history) == 3
    assert sent == []
    # A later sweep leaves it failed: failed is final.
    with django_capture_on_commit_callbacks(execute=True):
        grading_runs_sweep()
    running_run.refresh_from_db()
    assert running_run.status == GradingRun.Status.FAILED and sent == []


def test_a_run_past_the_hard_time_limit_fails_instead_of_running_again(
    running_run, settings, sent, django_capture_on_commit_callbacks
):
    # Its worker was killed by the hard limit: running it again would only hit the limit again.
    age(
        running_run,
        seconds=settings.GRADING_RUNNING_STALE_SECONDS + 1,
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        grading_runs_sweep()
    running_run.refresh_from_db()
    assert running_run.status == GradingRun.Status.FAILED
    assert "hard limit" in running_run.error
    assert sent == []


def test_a_queued_run_the_broker_lost_is_sent_again_once(
    submission, educator, settings, sent, broker_holds, django_capture_on_commit_callbacks
):
    run = grading_run_request(submission=submission, requested_by=educator)
    age(run, seconds=settings.GRADING_QUEUED_STALE_SECONDS + 1)
    broker_holds()  # Redis restarted: it holds nothing
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
        second = grading_runs_sweep()  # sent just now: not stale any more
    assert report.resent == [run.pk] and second.resent == []
    assert sent == [run.pk]
    run.refresh_from_db()
    assert run.status == GradingRun.Status.QUEUED


def test_a_queued_run_whose_task_waits_in_the_broker_is_not_sent_twice(
    submission, educator, settings, sent, broker_holds, django_capture_on_commit_callbacks
):
    run = grading_run_request(submission=submission, requested_by=educator)
    age(run, seconds=settings.GRADING_QUEUED_STALE_SECONDS + 1)
    broker_holds(run.pk)  # a long queue: still waiting its turn
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    assert report.resent == [] and sent == []


def test_a_freshly_queued_run_is_not_looked_for_in_the_broker(
    submission, educator, sent, broker_holds, django_capture_on_commit_callbacks
):
    grading_run_request(submission=submission, requested_by=educator)
    asked = broker_holds()
    with django_capture_on_commit_callbacks(execute=True):
        grading_runs_sweep()
    assert asked == [] and sent == []


def test_when_the_broker_does_not_answer_queued_runs_wait_for_the_next_sweep(
    submission, educator, settings, sent, broker_holds, django_capture_on_commit_callbacks
):
    run = grading_run_request(submission=submission, requested_by=educator)
    age(run, seconds=settings.GRADING_QUEUED_STALE_SECONDS + 1)
    broker_holds(broker.BrokerUnavailable("connection refused"))
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    assert report.broker_unavailable and report.resent == [] and sent == []


def test_finished_runs_are_never_touched(
    submission, educator, settings, sent, broker_holds, django_capture_on_commit_callbacks
):
    run = grading_run_request(submission=submission, requested_by=educator)
    age(
        run,
        seconds=settings.GRADING_RUNNING_STALE_SECONDS + settings.GRADING_QUEUED_STALE_SECONDS,
        status=GradingRun.Status.SUCCEEDED,
    )
    broker_holds()
    with django_capture_on_commit_callbacks(execute=True):
        report = grading_runs_sweep()
    assert (report.requeued, report.failed, report.resent, sent) == ([], [], [], [])


def test_workers_not_seen_for_long_are_forgotten(settings, broker_holds):
    now = timezone.now()
    long_ago = now - timedelta(seconds=settings.GRADING_WORKER_FORGET_SECONDS + 1)
    WorkerHeartbeat.objects.create(
        hostname="gone@old#0", pid=1, started_at=long_ago, last_seen=long_ago
    )
    WorkerHeartbeat.objects.create(hostname="up@new#0", pid=2, started_at=now, last_seen=now)
    assert grading_runs_sweep().workers_forgotten == 1
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == ["up@new#0"]
