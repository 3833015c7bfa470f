"""Emails to students: a grade was released, a regrade request was answered.

Sent after the transaction commits; a mail failure is logged and never undoes the grade.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from grading.models import RegradeRequest, Review
from grading.site import site_url

logger = logging.getLogger(__name__)


def _send(*, user, subject: str, body: str) -> None:
    if not user.email:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:  # a mail server outage must not break grading
        logger.exception("Could not email %s about %r", user.pk, subject)


def _feedback_link(submission) -> str:
    return site_url() + reverse("my_feedback", args=[submission.pk])


def notify_grade_released(*, review: Review) -> None:
    submission = review.submission
    assignment = submission.assignment
    _send(
        user=submission.student,
        subject=f"[{assignment.course.code}] Your grade for {assignment.title} is ready",
        body=(
            f"Your grade and feedback for “{assignment.title}” have been released.\n\n"
            f"Read them here: {_feedback_link(submission)}\n"
        ),
    )


def notify_regrade_answered(*, regrade_request: RegradeRequest) -> None:
    submission = regrade_request.submission
    assignment = submission.assignment
    outcome = regrade_request.get_status_display().lower()
    _send(
        user=submission.student,
        subject=f"[{assignment.course.code}] Your regrade request for {assignment.title}",
        body=(
            f"Your regrade request was answered ({outcome}).\n\n"
            f"{regrade_request.response}\n\nSee your grade: {_feedback_link(submission)}\n"
        ),
    )
