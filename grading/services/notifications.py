"""Emails to students: a grade was released, a regrade request was answered.

Never from the web process: services call `notifications_send_after_commit`, and the light
worker's send_notifications task sends a whole batch (a bulk release) over one SMTP connection.
Each email sent is recorded, so a task delivered twice, or retried after the mail server broke
off, sends no one the same email again. A mail failure never undoes the grade.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse

from grading.models import RegradeRequest, Review, SentNotification
from grading.site import links_to, site_url

logger = logging.getLogger(__name__)

GRADE_RELEASED = "grade_released"
REGRADE_ANSWERED = "regrade_answered"
# The server refused this one message (its address, its content); the others still go.
REFUSED_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


def notifications_send_after_commit(*, kind: str, ids: list[int]) -> None:
    """Have the light worker email the students about these objects, once this commits."""
    if not ids:
        return
    site = site_url()  # the address this request came in on, for the links in the emails

    def send() -> None:
        from grading.tasks import send_notifications  # the task module imports this one

        try:
            send_notifications.delay(kind, list(ids), site)
        except Exception:  # the broker is down: the grade stands, the email is lost
            logger.exception("Could not queue %s emails for %s", kind, ids)

    transaction.on_commit(send)


def notifications_send(*, kind: str, ids: list[int], site: str = "") -> int:
    """Send the emails not sent yet, over one connection; how many went out. Their links go to
    `site` (the address the release came in on) unless AAIE_SITE_URL says otherwise.

    A connection failure propagates (the task retries; sent ones are skipped next time).
    """
    with links_to(site):
        pending = [
            (key, message)
            for key, message in _messages(kind, ids)
            if not SentNotification.objects.filter(key=key).exists()
        ]
    if not pending:
        return 0
    sent = 0
    with get_connection() as connection:
        for key, message in pending:
            message.connection = connection
            try:
                message.send()
            except REFUSED_MESSAGE_ERRORS:
                logger.exception("The mail server refused %s", key)
                continue
            SentNotification.objects.get_or_create(key=key)
            sent += 1
    return sent


def _messages(kind: str, ids: list[int]) -> Iterable[tuple[str, EmailMessage]]:
    if kind == GRADE_RELEASED:
        reviews = Review.objects.filter(pk__in=ids, released=True).select_related(
            "submission__student", "submission__assignment__course"
        )
        for review in reviews:
            if review.submission.student.email:
                yield _key(kind, review.pk, review.released_at), _grade_released(review)
    elif kind == REGRADE_ANSWERED:
        answered = RegradeRequest.objects.filter(
            pk__in=ids, responded_at__isnull=False
        ).select_related("submission__student", "submission__assignment__course")
        for regrade_request in answered:
            if regrade_request.submission.student.email:
                key = _key(kind, regrade_request.pk, regrade_request.responded_at)
                yield key, _regrade_answered(regrade_request)
    else:
        raise ValueError(f"No such notification: {kind!r}")


def _key(kind: str, pk: int, at) -> str:
    # The time tells a second release (after a regrade) from a repeat of the first.
    return f"{kind}:{pk}:{at.isoformat() if at else ''}"


def _feedback_link(submission) -> str:
    return site_url() + reverse("my_feedback", args=[submission.pk])


def _email(*, user, subject: str, body: str) -> EmailMessage:
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def _grade_released(review: Review) -> EmailMessage:
    submission = review.submission
    assignment = submission.assignment
    return _email(
        user=submission.student,
        subject=f"[{assignment.course.code}] Your grade for {assignment.title} is ready",
        body=(
            f"Your grade and feedback for “{assignment.title}” have been released.\n\n"
            f"Read them here: {_feedback_link(submission)}\n"
        ),
    )


def _regrade_answered(regrade_request: RegradeRequest) -> EmailMessage:
    submission = regrade_request.submission
    assignment = submission.assignment
    outcome = regrade_request.get_status_display().lower()
    return _email(
        user=submission.student,
        subject=f"[{assignment.course.code}] Your regrade request for {assignment.title}",
        body=(
            f"Your regrade request was answered ({outcome}).\n\n"
            f"{regrade_request.response}\n\nSee your grade: {_feedback_link(submission)}\n"
        ),
    )
