"""LTI tasks on the light `default` queue: grade passback and roster sync. Ids in."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from grading.errors import ApplicationError
from grading.lti.models import LtiContext
from grading.lti.passback import PassbackError, grade_post_give_up, grade_post_send
from grading.lti.roster import ROSTER_TASK, roster_sync

logger = logging.getLogger(__name__)

# One HTTP call or a few, each with AAIE_LTI_HTTP_TIMEOUT_SECONDS; a roster may take pages.
PASSBACK_SOFT_TIME_LIMIT_SECONDS = 120
ROSTER_SOFT_TIME_LIMIT_SECONDS = 600
HARD_LIMIT_MARGIN_SECONDS = 30


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,  # counted against AAIE_LTI_PASSBACK_MAX_RETRIES below
    soft_time_limit=PASSBACK_SOFT_TIME_LIMIT_SECONDS,
    time_limit=PASSBACK_SOFT_TIME_LIMIT_SECONDS + HARD_LIMIT_MARGIN_SECONDS,
)
def lti_grade_post_send(self, post_id: int) -> None:
    """Send a grade to the LMS; a transient refusal is retried with doubling backoff."""
    try:
        grade_post_send(post_id=post_id)
    except PassbackError as error:
        if not error.transient:
            logger.warning("LTI grade post %s refused: %s", post_id, error)
            return
        if self.request.retries >= settings.AAIE_LTI_PASSBACK_MAX_RETRIES:
            logger.warning("LTI grade post %s gave up: %s", post_id, error)
            grade_post_give_up(post_id=post_id)
            return
        backoff = settings.AAIE_LTI_PASSBACK_BACKOFF_SECONDS * 2**self.request.retries
        raise self.retry(countdown=backoff) from error


@shared_task(
    name=ROSTER_TASK,
    soft_time_limit=ROSTER_SOFT_TIME_LIMIT_SECONDS,
    time_limit=ROSTER_SOFT_TIME_LIMIT_SECONDS + HARD_LIMIT_MARGIN_SECONDS,
)
def lti_roster_sync(context_id: int) -> None:
    try:
        result = roster_sync(context_id=context_id)
    except ApplicationError as error:
        logger.warning("LTI roster sync of context %s: %s", context_id, error.message)
        return
    logger.info("LTI roster sync of context %s: %s", context_id, result)


@shared_task
def lti_rosters_sync() -> None:
    """Celery beat, every AAIE_LTI_ROSTER_SYNC_SECONDS: one sync task per linked course."""
    for context_id in LtiContext.objects.exclude(memberships_url="").values_list("pk", flat=True):
        lti_roster_sync.delay(context_id)
