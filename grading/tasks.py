"""Celery tasks: thin. Ids in, the service does the work; retries and limits live here."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from grading.services.grading import (
    TransientGradingError,
    grading_run_execute,
    grading_run_fail,
)

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 3
RETRY_BACKOFF_SECONDS = 10  # doubled on each retry


@shared_task(bind=True, acks_late=True, max_retries=MAX_TRANSIENT_RETRIES)
def grade_run(self, run_id: int) -> None:
    """Grade one GradingRun. Safe to receive twice: only a QUEUED run is ever claimed."""
    try:
        grading_run_execute(run_id=run_id)
    except TransientGradingError as error:
        if self.request.retries >= self.max_retries:
            grading_run_fail(
                run_id=run_id,
                error=f"Gave up after {self.request.retries + 1} attempts: {error}",
            )
            return
        countdown = RETRY_BACKOFF_SECONDS * 2**self.request.retries
        logger.warning("Run %s failed transiently, retry in %ss: %s", run_id, countdown, error)
        raise self.retry(exc=error, countdown=countdown) from error
    except SoftTimeLimitExceeded:
        grading_run_fail(
            run_id=run_id,
            error=(
                f"Grading took longer than the limit of {settings.CELERY_TASK_SOFT_TIME_LIMIT} s. "
                "Lower the thinking budget or use a faster model, then grade again."
            ),
        )
    except Exception as error:
        # Anything unexpected still leaves a readable error on the run, never a stuck row.
        logger.exception("Run %s crashed", run_id)
        grading_run_fail(run_id=run_id, error=f"Internal error while grading: {error!r}")
        raise
