"""Keeping batch grading whole: the sweep, cancel, retry failed, progress, worker heartbeats.

The database is the truth about every run; Redis only carries a signal to a worker, and signals
get lost (Redis restarted with nothing on disk, a worker killed mid-run). The sweep, run by Celery
beat every GRADING_SWEEP_INTERVAL_SECONDS, finds runs that are queued or running with no live task
and sends a task again. A task for a run that is not QUEUED does nothing (the claim in
grading.services.grading), so a task sent twice never grades twice.

"No live task" means:
- RUNNING, and its heartbeat_at (set at claim, then every GRADING_HEARTBEAT_SECONDS by the
  worker's heartbeat thread) is older than GRADING_RUNNING_STALE_SECONDS: the worker is gone.
- QUEUED, its heartbeat_at (when its task was last sent) older than GRADING_QUEUED_STALE_SECONDS,
  and the broker holds no task for it: none waiting, none handed to a worker within that time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, F, Min, Q
from django.utils import timezone

from grading import broker, selectors
from grading.errors import ApplicationError
from grading.models import Assignment, GradingRun, WorkerHeartbeat
from grading.services.grading import (
    MAX_ERROR_CHARS,
    error_history_entry,
    grading_runs_request_for_assignment,
)

logger = logging.getLogger(__name__)

# Throughput for the ETA is measured over runs finished this recently.
ETA_WINDOW = timedelta(minutes=15)
ETA_MIN_FINISHED_RUNS = 2
MAX_LIVE_ROWS = 200  # running rows reported one by one; a worker batch is far smaller
DEFAULT_EXPECTED_TOKENS = 2048  # AAIE_THINKING_BUDGET's default, for a snapshot without one
SECONDS_PER_MINUTE = 60
MINUTES_PER_HOUR = 60
# A worker process is shown as up while its last heartbeat is younger than this many beats.
WORKER_UP_HEARTBEATS = 3

WORKER_LOST_ERROR = "The worker grading this run stopped answering (it crashed or was stopped)."


def _enqueue_after_commit(run_id: int) -> None:
    from grading.tasks import grade_run  # the task module imports this one

    transaction.on_commit(lambda: grade_run.delay(run_id))


# --- The sweep ----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)  # running runs whose worker was lost
    failed: list[int] = field(default_factory=list)  # lost too often, or past the hard limit
    resent: list[int] = field(default_factory=list)  # queued runs with no task in the broker
    broker_unavailable: bool = False
    workers_forgotten: int = 0


def grading_runs_sweep(*, now: datetime | None = None) -> SweepReport:
    """Re-enqueue runs with no live task. Steps:

    1. A RUNNING run whose heartbeat went stale: queue it again, or fail it if it was claimed
       GRADING_MAX_ATTEMPTS times or ran past the hard time limit; the reason joins its history.
    2. A QUEUED run sent long ago that the broker no longer holds: send its task again. If Redis
       does not answer, leave queued runs for the next sweep.
    3. Forget worker heartbeats not seen for GRADING_WORKER_FORGET_SECONDS.
    """
    now = now or timezone.now()
    report = SweepReport()

    running_cutoff = now - timedelta(seconds=settings.GRADING_RUNNING_STALE_SECONDS)
    stale_running = GradingRun.objects.filter(status=GradingRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=running_cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=running_cutoff)
    )
    for run_id in stale_running.values_list("pk", flat=True):
        outcome = _recover_lost_run(run_id=run_id, cutoff=running_cutoff, now=now)
        if outcome is not None:
            (report.requeued if outcome == GradingRun.Status.QUEUED else report.failed).append(
                run_id
            )

    queued_cutoff = now - timedelta(seconds=settings.GRADING_QUEUED_STALE_SECONDS)
    stale_queued = list(
        GradingRun.objects.filter(status=GradingRun.Status.QUEUED)
        .filter(
            Q(heartbeat_at__lt=queued_cutoff)
            | Q(heartbeat_at__isnull=True, queued_at__lt=queued_cutoff)
        )
        .values_list("pk", flat=True)
    )
    if stale_queued:
        try:
            live = broker.run_ids_in_broker(delivered_since=queued_cutoff)
        except broker.BrokerUnavailable as error:
            logger.warning("Sweep: the broker did not answer (%s); queued runs wait.", error)
            report.broker_unavailable = True
        else:
            for run_id in stale_queued:
                if run_id not in live and _resend(run_id=run_id, cutoff=queued_cutoff, now=now):
                    report.resent.append(run_id)

    forget_before = now - timedelta(seconds=settings.GRADING_WORKER_FORGET_SECONDS)
    report.workers_forgotten, _ = WorkerHeartbeat.objects.filter(
        last_seen__lt=forget_before
    ).delete()
    if report.requeued or report.failed or report.resent:
        logger.warning(
            "Sweep: requeued %s, failed %s, resent %s.",
            report.requeued,
            report.failed,
            report.resent,
        )
    return report


def _recover_lost_run(*, run_id: int, cutoff: datetime, now: datetime) -> str | None:
    """Queue a lost run again or fail it; None if it came back to life or ended meanwhile."""
    with transaction.atomic():
        run = (
            GradingRun.objects.select_for_update()
            .filter(pk=run_id, status=GradingRun.Status.RUNNING)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .only("attempts", "error_history", "started_at")
            .first()
        )
        if run is None:
            return None
        hard_limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
        if run.started_at is not None and now - run.started_at >= hard_limit:
            error = (
                f"Grading took longer than the hard limit of {settings.CELERY_TASK_TIME_LIMIT} s "
                "and was stopped. Lower the thinking budget or use a faster model, then grade "
                "again."
            )
            status = GradingRun.Status.FAILED
        elif run.attempts >= settings.GRADING_MAX_ATTEMPTS:
            error = f"Gave up after {run.attempts} attempts. {WORKER_LOST_ERROR}"
            status = GradingRun.Status.FAILED
        else:
            error = WORKER_LOST_ERROR
            status = GradingRun.Status.QUEUED
        run.error_history = [*run.error_history, error_history_entry(run=run, error=error)]
        run.status = status
        run.error = error
        run.heartbeat_at = now
        update_fields = ["status", "error", "error_history", "heartbeat_at"]
        if status == GradingRun.Status.FAILED:
            run.finished_at = now
            update_fields.append("finished_at")
        run.save(update_fields=update_fields)
        if status == GradingRun.Status.QUEUED:
            _enqueue_after_commit(run_id)
    return status


def _resend(*, run_id: int, cutoff: datetime, now: datetime) -> bool:
    with transaction.atomic():
        resent = (
            GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.QUEUED)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(heartbeat_at=now)
        )
        if resent:
            _enqueue_after_commit(run_id)
    return bool(resent)


def grading_run_after_transient_error(*, run_id: int, error: str) -> GradingRun | None:
    """Queue an active run again for a retry, or fail it once it was claimed
    GRADING_MAX_ATTEMPTS times. The error joins its history either way. None if it had ended."""
    with transaction.atomic():
        run = (
            GradingRun.objects.select_for_update()
            .filter(pk=run_id, status__in=GradingRun.ACTIVE_STATUSES)
            .only("attempts", "error_history")
            .first()
        )
        if run is None:
            return None
        run.error_history = [*run.error_history, error_history_entry(run=run, error=error)]
        update_fields = ["status", "error", "error_history", "heartbeat_at"]
        run.heartbeat_at = timezone.now()
        if run.attempts >= settings.GRADING_MAX_ATTEMPTS:
            run.status = GradingRun.Status.FAILED
            run.error = f"Gave up after {run.attempts} attempts: {error}"[:MAX_ERROR_CHARS]
            run.finished_at = run.heartbeat_at
            update_fields.append("finished_at")
        else:
            run.status = GradingRun.Status.QUEUED
            run.error = f"Attempt {run.attempts} failed, retrying: {error}"[:MAX_ERROR_CHARS]
        run.save(update_fields=update_fields)
    return run


def grading_run_heartbeat(*, run_ids: list[int]) -> None:
    """The worker grading these runs is alive."""
    GradingRun.objects.filter(pk__in=run_ids, status=GradingRun.Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


# --- Cancel and retry --------------------------------------------------------------------------


def _cancel(runs, cancelled_by) -> int:
    """Cancel the active runs among `runs`; returns how many.

    A queued run's task finds it cancelled and does nothing. A running one finishes its model
    call, and its result is dropped: only a RUNNING run can be stored.
    """
    who = cancelled_by.get_username() if cancelled_by is not None else "the system"
    return runs.filter(status__in=GradingRun.ACTIVE_STATUSES).update(
        status=GradingRun.Status.CANCELLED, finished_at=timezone.now(), error=f"Cancelled by {who}."
    )


def grading_runs_cancel_for_assignment(*, assignment: Assignment, cancelled_by) -> int:
    """Cancel every queued or running run of the assignment; returns how many."""
    return _cancel(GradingRun.objects.filter(submission__assignment=assignment), cancelled_by)


def grading_run_cancel(*, run: GradingRun, cancelled_by) -> None:
    """Cancel one queued or running run."""
    if not _cancel(GradingRun.objects.filter(pk=run.pk), cancelled_by):
        raise ApplicationError(f"Run {run.pk} has ended already ({run.get_status_display()}).")


def grading_runs_retry_failed(*, assignment: Assignment, requested_by) -> int:
    """A new run for each newest attempt whose last run failed; returns how many were queued."""
    return grading_runs_request_for_assignment(
        assignment=assignment, requested_by=requested_by, only_failed=True
    )


# --- Progress ----------------------------------------------------------------------------------


def assignment_progress(*, assignment: Assignment, now: datetime | None = None) -> dict:
    """Where the assignment's AI grading stands: each submission counted by its current run.

    Keys: total, one per run status, not_graded, remaining (queued + running), finished,
    percent (finished among those requested), active, throughput_per_minute, eta_seconds and
    eta_text (None or empty while nothing is being graded, and until ETA_MIN_FINISHED_RUNS runs
    finished within ETA_WINDOW or running rows counted tokens), tokens_per_second and rows (each
    running row's submission_id, tokens and tokens_per_second).
    Throughput is measured: runs finished in the window divided by the time since the first of
    them started, so it counts every worker and drops when they stall.
    """
    now = now or timezone.now()
    progress: dict = selectors.assignment_progress(assignment=assignment)
    requested = progress["total"] - progress["not_graded"]
    progress["remaining"] = progress["queued"] + progress["running"]
    progress["finished"] = requested - progress["remaining"]
    progress["percent"] = round(100 * progress["finished"] / requested) if requested else 0
    progress["active"] = progress["remaining"] > 0

    progress["throughput_per_minute"] = None
    progress["eta_seconds"] = None
    progress["eta_text"] = ""
    progress["rows"] = []
    progress["tokens_per_second"] = None
    if not progress["active"]:
        return progress  # nothing to estimate, and most dashboards are looked at then
    current_runs = GradingRun.objects.filter(
        submission__assignment=assignment, submission__latest_run=F("id")
    )
    recent = current_runs.filter(
        status__in=(GradingRun.Status.SUCCEEDED, GradingRun.Status.FAILED),
        finished_at__gte=now - ETA_WINDOW,
    ).aggregate(count=Count("id"), first_started=Min("started_at"))
    if recent["count"] >= ETA_MIN_FINISHED_RUNS and recent["first_started"] is not None:
        elapsed = (now - recent["first_started"]).total_seconds()
        if elapsed > 0:
            per_second = recent["count"] / elapsed
            progress["throughput_per_minute"] = round(per_second * 60, 1)
            progress["eta_seconds"] = round(progress["remaining"] / per_second)
    _token_progress(progress, current_runs, now=now)
    progress["eta_text"] = eta_text(progress["eta_seconds"])
    return progress


def _token_progress(progress: dict, current_runs, *, now: datetime) -> None:
    """Per-row live figures and an ETA from measured tokens per second.

    Each running row streams its thinking token count (see grading.services.grading); its
    rate is tokens over time since it started, and the rows of a batch decode side by side, so
    the rates add up. What is left: each running row's expected tokens less those it has, and
    the expected tokens of every queued row, the expectation being the mean of the
    assignment's finished runs, else the thinking budget. No tokens counted yet: no estimate
    from tokens (the run-based one above stays).
    """
    running = list(
        current_runs.filter(status=GradingRun.Status.RUNNING, started_at__isnull=False)
        .order_by("submission_id")
        .values("submission_id", "thinking_tokens", "started_at", "model_snapshot")[:MAX_LIVE_ROWS]
    )
    rows, rate = [], 0.0
    for run in running:
        elapsed = max((now - run["started_at"]).total_seconds(), 1.0)
        tokens = run["thinking_tokens"] or 0
        rows.append(
            {
                "submission_id": run["submission_id"],
                "tokens": tokens,
                "tokens_per_second": round(tokens / elapsed, 1),
            }
        )
        rate += tokens / elapsed
    progress["rows"] = rows
    progress["tokens_per_second"] = round(rate, 1) if rate else None
    if not rate:
        return
    finished = current_runs.filter(
        status=GradingRun.Status.SUCCEEDED, thinking_tokens__isnull=False
    ).aggregate(mean=Avg("thinking_tokens"))["mean"]
    budget = running[0]["model_snapshot"].get("thinking_budget", DEFAULT_EXPECTED_TOKENS)
    expected = finished or budget
    left = sum(max(expected - row["tokens"], 0) for row in rows) + progress["queued"] * expected
    progress["eta_seconds"] = round(left / rate)


def eta_text(seconds: int | None) -> str:
    """ "about 5 min left", for people; empty when there is no estimate."""
    if seconds is None:
        return ""
    if seconds < SECONDS_PER_MINUTE:
        return "less than a minute left"
    minutes = round(seconds / SECONDS_PER_MINUTE)
    if minutes < MINUTES_PER_HOUR:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, MINUTES_PER_HOUR)
    return f"about {hours} h {minutes} min left"


# --- Worker heartbeats -------------------------------------------------------------------------


def worker_heartbeat_record(
    *, name: str, pid: int, models_loaded: list[dict], current_run_id: int | None
) -> None:
    """A worker process reports: which it is, what it holds, what it grades."""
    now = timezone.now()
    report = {"models_loaded": models_loaded, "current_run_id": current_run_id, "last_seen": now}
    if not WorkerHeartbeat.objects.filter(hostname=name, pid=pid).update(**report):
        # A new process in this slot (first beat, or the old one was replaced).
        WorkerHeartbeat.objects.update_or_create(
            hostname=name, defaults={**report, "pid": pid, "started_at": now}
        )


def worker_heartbeat_forget(*, name: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=name).delete()


def worker_is_up(heartbeat: WorkerHeartbeat, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    silent_for = timedelta(seconds=settings.GRADING_HEARTBEAT_SECONDS * WORKER_UP_HEARTBEATS)
    return heartbeat.last_seen >= now - silent_for
