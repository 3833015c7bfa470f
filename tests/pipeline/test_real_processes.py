"""The pipeline with real parts: a real Redis, real Celery worker processes, the scripted model.

Every test ends with the same question: is each submission graded exactly once? One run per
request, succeeded, one result per criterion, whatever was killed or restarted on the way.
"""

from __future__ import annotations

import pytest

from aaie.local_redis import LocalRedis
from grading.models import GradingRun, WorkerHeartbeat
from grading.services.grading import grading_runs_request_for_assignment
from grading.services.pipeline import WORKER_LOST_ERROR, grading_runs_sweep
from tests.pipeline.conftest import (
    assert_graded_exactly_once,
    broker_for_this_process,
    make_class,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("scripted_model", "clean_broker")]

BATCH_TIMEOUT_SECONDS = 60
LARGE_BATCH_TIMEOUT_SECONDS = 120
GRADING_SECONDS = 2  # each submission's scripted "thinking", long enough to be killed during


def all_runs_ended() -> bool:
    return not GradingRun.objects.filter(status__in=GradingRun.ACTIVE_STATUSES).exists()


def statuses() -> str:
    return str(list(GradingRun.objects.values_list("pk", "status", "attempts", "error")))


@pytest.fixture
def quick_sweep(settings):
    """The sweep as beat runs it, with thresholds that fit a test's seconds."""
    settings.GRADING_RUNNING_STALE_SECONDS = 4  # workers here beat every second
    settings.GRADING_QUEUED_STALE_SECONDS = 2


def sweep_until_all_ended(timeout: float, explain) -> list:
    reports = []

    def swept_and_ended() -> bool:
        reports.append(grading_runs_sweep())
        return all_runs_ended()

    wait_until(swept_and_ended, timeout=timeout, explain=explain)
    return reports


def test_a_worker_killed_mid_grading_loses_nothing_and_grades_nothing_twice(
    start_worker, assignment, educator, quick_sweep
):
    submissions = make_class(
        assignment, [f"Essay {n} [[scripted:sleep={GRADING_SECONDS}]]" for n in range(3)]
    )
    grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
    first = start_worker("first").wait_ready()
    wait_until(
        lambda: GradingRun.objects.filter(status=GradingRun.Status.RUNNING).exists(),
        timeout=BATCH_TIMEOUT_SECONDS,
        explain=first.log,
    )
    # The first task claimed its batch: every run in it dies with the worker.
    killed = set(
        GradingRun.objects.filter(status=GradingRun.Status.RUNNING).values_list("pk", flat=True)
    )
    first.kill()

    second = start_worker("second").wait_ready()
    reports = sweep_until_all_ended(BATCH_TIMEOUT_SECONDS, lambda: statuses() + second.log())

    assert_graded_exactly_once(submissions)
    # The sweep, not luck, saved the killed runs: found lost, queued again, graded again.
    assert killed <= {run_id for report in reports for run_id in report.requeued}
    for run in GradingRun.objects.filter(pk__in=killed):
        assert run.attempts == 2
        assert [entry["error"] for entry in run.error_history] == [WORKER_LOST_ERROR]
    assert set(GradingRun.objects.exclude(pk__in=killed).values_list("attempts", flat=True)) <= {1}


def test_a_redis_restart_with_work_queued_loses_nothing(
    start_worker, assignment, educator, quick_sweep, one_run_per_task
):
    # One run per task, so that runs wait in Redis (a batch would claim them all at once).
    broker = LocalRedis().start()  # its own, on a port that stays the same across the restart
    try:
        with broker_for_this_process(broker.url):
            submissions = make_class(
                assignment, [f"Essay {n} [[scripted:sleep=1]]" for n in range(5)]
            )
            grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
            worker = start_worker("worker", broker_url=broker.url).wait_ready()
            wait_until(
                lambda: GradingRun.objects.filter(status=GradingRun.Status.RUNNING).exists(),
                timeout=BATCH_TIMEOUT_SECONDS,
                explain=worker.log,
            )
            broker.stop()  # nothing on disk: the queued tasks are gone
            broker = LocalRedis(port=broker.port).start()

            reports = sweep_until_all_ended(
                BATCH_TIMEOUT_SECONDS, lambda: statuses() + worker.log()
            )
    finally:
        broker.stop()

    assert_graded_exactly_once(submissions)
    # The tasks Redis forgot were sent again by the sweep.
    assert any(report.resent for report in reports)


def test_a_model_that_raises_times_out_or_talks_garbage_fails_that_run_only(
    start_worker, assignment, educator, one_run_per_task
):
    # One run per task: a time limit is a batch's, so a batched slow run would take its
    # companions down with it (tests/services/test_batching.py covers errors inside a batch).
    texts = {
        "fine": "A base case stops the recursion.",
        "permanent": "Essay [[scripted:permanent-error]]",
        "transient": "Essay [[scripted:transient-error]]",
        "garbage": "Essay [[scripted:garbage]]",
        "slow": "Essay [[scripted:sleep=30]]",
        "fine again": "Recursion calls itself on a smaller input.",
    }
    submissions = dict(zip(texts, make_class(assignment, list(texts.values())), strict=True))
    grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
    worker = start_worker(
        "worker",
        AAIE_GRADING_SOFT_TIME_LIMIT="2",
        AAIE_GRADING_RETRY_BACKOFF_SECONDS="0",
        AAIE_GRADING_MAX_ATTEMPTS="3",
    ).wait_ready()
    wait_until(
        all_runs_ended, timeout=BATCH_TIMEOUT_SECONDS, explain=lambda: statuses() + worker.log()
    )

    def run_of(name: str) -> GradingRun:
        return GradingRun.objects.get(submission=submissions[name])

    assert_graded_exactly_once([submissions["fine"], submissions["fine again"]])
    failed = {name: run_of(name) for name in ("permanent", "transient", "garbage", "slow")}
    for name, run in failed.items():
        assert run.status == GradingRun.Status.FAILED, name
        assert not run.results.exists(), name
    assert "Scripted permanent error" in failed["permanent"].error
    assert "did not fit the rubric" in failed["garbage"].error
    assert "longer than the limit of 2 s" in failed["slow"].error
    # A transient error is retried up to the limit; every attempt's error is kept.
    transient = failed["transient"]
    assert transient.attempts == 3
    assert transient.error.startswith("Gave up after 3 attempts")
    assert len(transient.error_history) == 3
    assert all("Scripted transient error" in entry["error"] for entry in transient.error_history)


def test_two_hundred_submissions_on_two_workers_are_each_graded_once(
    start_worker, assignment, educator
):
    submissions = make_class(assignment, [f"Essay number {n}." for n in range(200)])
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 200
    workers = [start_worker("left"), start_worker("right")]
    for worker in workers:
        worker.wait_ready()
    wait_until(
        all_runs_ended,
        timeout=LARGE_BATCH_TIMEOUT_SECONDS,
        explain=lambda: "\n".join(worker.log() for worker in workers),
    )

    assert_graded_exactly_once(submissions)
    assert set(GradingRun.objects.values_list("attempts", flat=True)) == {1}
    # Both workers took part, and both reported in.
    for worker in workers:
        assert "grading.tasks.grade_run" in worker.log() and "succeeded" in worker.log()
    names = set(WorkerHeartbeat.objects.values_list("hostname", flat=True))
    assert any(name.startswith("left@") for name in names), names
    assert any(name.startswith("right@") for name in names), names
