"""Celery tasks: thin. Ids in, the services do the work; retries and limits live here.

grade_run is safe to receive twice (only a QUEUED run is ever claimed), so it is acknowledged
late and handed back to the queue if its worker dies; the sweep (sweep_runs, every
GRADING_SWEEP_INTERVAL_SECONDS from Celery beat) re-sends tasks that got lost on the way.

The light tasks (the `default` queue: the light worker) are safe to receive twice as well:
process_upload reads an upload only while it is PROCESSING and stores it all at once, and
send_notifications records each email it sent.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django import db
from django.conf import settings
from django.db import DatabaseError

from grading import worker
from grading.models import GradingRun
from grading.services.grading import (
    TransientGradingError,
    grading_run_execute,
    grading_run_fail,
)
from grading.services.notifications import notifications_send
from grading.services.pipeline import grading_run_after_transient_error, grading_runs_sweep
from grading.services.uploads import upload_batch_fail, upload_batch_process

logger = logging.getLogger(__name__)

SWEEP_SOFT_TIME_LIMIT_SECONDS = 120
SWEEP_TIME_LIMIT_SECONDS = SWEEP_SOFT_TIME_LIMIT_SECONDS + 30
# A 50 MB class ZIP is read (extraction and injection detection) in about three minutes.
UPLOAD_SOFT_TIME_LIMIT_SECONDS = 10 * 60
UPLOAD_TIME_LIMIT_SECONDS = UPLOAD_SOFT_TIME_LIMIT_SECONDS + 60
LIGHT_RETRY_BACKOFF_SECONDS = 5
LIGHT_MAX_RETRIES = 5
EMAIL_SOFT_TIME_LIMIT_SECONDS = 5 * 60


class WorkerTimedTask(Task):
    """Time limits from the settings of the worker that runs it, not of whoever sent it.

    Celery writes the sender's limits into each message; a grading task is sent by the web and
    the sweep, while only the worker knows its hardware (AAIE_GRADING_SOFT_TIME_LIMIT there).
    """

    def apply_async(self, args=None, kwargs=None, **options):
        options.setdefault("time_limit", None)
        options.setdefault("soft_time_limit", None)
        return super().apply_async(args, kwargs, **options)


@shared_task(
    base=WorkerTimedTask, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def grade_run(self, run_id: int) -> None:
    """Grade one GradingRun (and the queued runs it batches with); retry transient errors with
    backoff; leave a readable error."""
    with worker.grading(run_id):
        try:
            grading_run_execute(run_id=run_id, on_claimed=worker.grading_also)
        except TransientGradingError as error:
            for companion_id in error.run_ids:
                if companion_id != run_id:
                    _send_again_later(companion_id, f"{error}")
            _retry_later(self, run_id, f"{error}")
        except DatabaseError as error:
            # Database busy or restarting: the run may be stuck RUNNING; try to free it for the
            # retry, and if even that fails the sweep frees it once its heartbeat goes stale.
            logger.warning("Run %s hit a database error: %s", run_id, error)
            db.close_old_connections()  # a broken connection is replaced on the next query
            _retry_later(self, run_id, f"Database error: {error}")
        except SoftTimeLimitExceeded:
            # The limit is the batch's: every run graded with this one ran out of time.
            for timed_out in worker.current_run_ids():
                grading_run_fail(
                    run_id=timed_out,
                    error=(
                        "Grading took longer than the limit of "
                        f"{settings.CELERY_TASK_SOFT_TIME_LIMIT} s for its batch. Lower the "
                        "thinking budget or the batch size, or use a faster model, then grade "
                        "again."
                    ),
                )
        except Exception as error:
            # Anything unexpected still leaves a readable error on the run, never a stuck row.
            logger.exception("Run %s crashed", run_id)
            grading_run_fail(run_id=run_id, error=f"Internal error while grading: {error!r}")
            raise


def _queued_again(run_id: int, error: str) -> GradingRun | None:
    """Queue the run again for a retry; None if it ended meanwhile, gave up (the run says why),
    or the database failed (the sweep queues it later)."""
    try:
        run = grading_run_after_transient_error(run_id=run_id, error=error)
    except DatabaseError:
        logger.exception("Run %s could not be queued again; the sweep will.", run_id)
        return None
    return run if run is not None and run.is_active else None


def _send_again_later(run_id: int, error: str) -> None:
    """A companion run of a failed batch: its own task may be gone, so send a new one."""
    run = _queued_again(run_id, error)
    if run is not None:
        grade_run.apply_async((run_id,), countdown=_backoff_seconds(run.attempts))


def _retry_later(task, run_id: int, error: str) -> None:
    run = _queued_again(run_id, error)
    if run is None:
        return
    countdown = _backoff_seconds(run.attempts)
    logger.warning("Run %s failed transiently, retry in %ss: %s", run_id, countdown, error)
    raise task.retry(countdown=countdown)


def _backoff_seconds(attempts: int) -> int:
    return settings.GRADING_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)


@shared_task(
    acks_late=False,
    soft_time_limit=SWEEP_SOFT_TIME_LIMIT_SECONDS,
    time_limit=SWEEP_TIME_LIMIT_SECONDS,
)
def sweep_runs() -> None:
    """Re-enqueue grading runs that have no live task (see grading.services.pipeline)."""
    grading_runs_sweep()


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=UPLOAD_SOFT_TIME_LIMIT_SECONDS,
    time_limit=UPLOAD_TIME_LIMIT_SECONDS,
    max_retries=LIGHT_MAX_RETRIES,
)
def process_upload(self, batch_id: int) -> None:
    """Read one upload's files and store them all, or mark the upload failed with the reason."""
    try:
        upload_batch_process(batch_id=batch_id)
    except DatabaseError as error:
        logger.warning("Upload %s hit a database error: %s", batch_id, error)
        db.close_old_connections()
        raise self.retry(countdown=LIGHT_RETRY_BACKOFF_SECONDS * 2**self.request.retries) from None
    except SoftTimeLimitExceeded:
        upload_batch_fail(
            batch_id=batch_id,
            error=(
                f"Reading the files took longer than {UPLOAD_SOFT_TIME_LIMIT_SECONDS} s. "
                "Upload them in smaller parts."
            ),
        )
    except Exception:
        # The details go to the log, not to the page: a student may be the one reading it.
        logger.exception("Upload %s crashed", batch_id)
        upload_batch_fail(
            batch_id=batch_id,
            error="An internal error stopped the reading of these files; nothing was stored. "
            "Upload them again, and tell the administrator if it happens again.",
        )


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=EMAIL_SOFT_TIME_LIMIT_SECONDS,
    time_limit=EMAIL_SOFT_TIME_LIMIT_SECONDS + 30,
    max_retries=LIGHT_MAX_RETRIES,
)
def send_notifications(self, kind: str, ids: list[int], site: str = "") -> None:
    """Email students about these objects over one SMTP connection (see notifications_send)."""
    try:
        notifications_send(kind=kind, ids=ids, site=site)
    except DatabaseError:
        db.close_old_connections()
        raise self.retry(countdown=LIGHT_RETRY_BACKOFF_SECONDS * 2**self.request.retries) from None
