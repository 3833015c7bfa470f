"""Regrade requests: a student asks, an educator answers and may change the grade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from grading.errors import ApplicationError
from grading.models import Criterion, RegradeRequest, Submission
from grading.services.notifications import REGRADE_ANSWERED, notifications_send_after_commit
from grading.services.reviews import review_release, review_save

MAX_REASON_CHARS = 3000


@transaction.atomic
def regrade_request_create(
    *, submission: Submission, student, reason: str, criteria: Sequence[Criterion] = ()
) -> RegradeRequest:
    """A student asks for a second look at a released grade, naming criteria and a reason."""
    review = getattr(submission, "review", None)
    if submission.student_id != student.pk or review is None or not review.released:
        raise ApplicationError("A regrade can be asked for only on your own released grade.")
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Say why the grade should be looked at again.", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise ApplicationError(
            f"The reason is limited to {MAX_REASON_CHARS} characters.", field="reason"
        )
    if submission.regrade_requests.filter(status=RegradeRequest.Status.OPEN).exists():
        raise ApplicationError("You have an open regrade request for this submission already.")
    allowed = {row["criterion_id"] for row in review.released_grade["criteria"]}
    if any(criterion.pk not in allowed for criterion in criteria):
        raise ApplicationError("Pick criteria of this assignment's rubric.", field="criteria")
    request = RegradeRequest.objects.create(submission=submission, student=student, reason=reason)
    request.criteria.set(criteria)
    return request


@transaction.atomic
def regrade_request_answer(
    *,
    regrade_request: RegradeRequest,
    actor,
    response: str,
    points: Mapping[int, int] | None = None,
    comments: Mapping[int, str] | None = None,
) -> RegradeRequest:
    """Answer a request; new points and comments (per criterion id) change the released grade,
    audited as usual, so that a comment never explains a score the student no longer has."""
    regrade_request = RegradeRequest.objects.select_for_update().get(pk=regrade_request.pk)
    if regrade_request.status != RegradeRequest.Status.OPEN:
        raise ApplicationError("This regrade request has been answered already.")
    response = response.strip()
    if not response:
        raise ApplicationError("Write a response to the student.", field="response")
    submission = regrade_request.submission
    review = submission.review
    changed = False
    if points is not None:
        current = {item.criterion_id: item for item in review.criteria.all()}
        changed = any(current[pk].points != value for pk, value in points.items() if pk in current)
        comments = comments or {}
        review = review_save(
            submission=submission,
            actor=actor,
            points={pk: points.get(pk, item.points) for pk, item in current.items()},
            comments={pk: comments.get(pk, item.comment) for pk, item in current.items()},
            comment=review.comment,
        )
        # The student reads the answer's grade at once (released again only if it changed; the
        # regrade's own email tells them, so the release sends none).
        review_release(review=review, actor=actor, notify=False)
    regrade_request.status = (
        RegradeRequest.Status.ACCEPTED if changed else RegradeRequest.Status.DECLINED
    )
    regrade_request.response = response
    regrade_request.responded_by = actor
    regrade_request.responded_at = timezone.now()
    regrade_request.save()
    notifications_send_after_commit(kind=REGRADE_ANSWERED, ids=[regrade_request.pk])
    return regrade_request
