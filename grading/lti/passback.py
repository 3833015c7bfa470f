"""Grade passback (LTI AGS): a released grade goes to the LMS line item, audited per attempt.

Release never waits on the LMS: the release's transaction only enqueues (on commit); the
Celery task sends, and retries transient failures with backoff (grading/lti/tasks.py).
"""

from __future__ import annotations

import requests
from django.db import transaction
from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade

from grading.lti.models import LtiGradePost, LtiIdentity, LtiResourceLink
from grading.lti.tool import service_connector
from grading.models import AuditEvent, Review, Submission

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
# HTTP answers worth another try: auth hiccups, timeouts, rate limits, server errors.
TRANSIENT_STATUSES = frozenset({401, 408, 425, 429})
MAX_ERROR_CHARS = 500
PASSBACK_TASK = "grading.lti.tasks.lti_grade_post_send"


class PassbackError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _released_score(review: Review) -> tuple[float, float, str]:
    """The grade as the student was shown it at release: later edits wait for a new release."""
    released = review.released_grade
    return float(released["total"]), float(released["max_total"]), released["comment"]


@transaction.atomic
def grade_posts_create(*, submission_id: int) -> list[LtiGradePost]:
    """A pending post per LMS placement of the assignment whose student came from that LMS;
    none where the same score and comment were sent (or are on their way) already."""
    links = list(
        LtiResourceLink.objects.filter(assignment__submissions=submission_id)
        .exclude(lineitem_url="")
        .select_related("context__deployment__platform")
    )
    if not links:
        return []  # the usual case outside an LMS: one query per release
    submission = Submission.objects.select_related("review").get(pk=submission_id)
    review = getattr(submission, "review", None)
    if review is None or not review.released:
        return []
    score_given, score_maximum, comment = _released_score(review)
    posts = []
    for link in links:
        issuer = link.context.deployment.platform.issuer
        identity = LtiIdentity.objects.filter(user_id=submission.student_id, issuer=issuer).first()
        if identity is None:
            continue  # a student AAIE knows from elsewhere: this LMS has no such user
        last = (
            LtiGradePost.objects.filter(submission=submission, link=link)
            .exclude(status=LtiGradePost.Status.FAILED)
            .first()
        )
        if last and (last.score_given, last.comment) == (score_given, comment):
            continue
        posts.append(
            LtiGradePost.objects.create(
                submission=submission,
                link=link,
                lineitem_url=link.lineitem_url,
                lms_user_id=identity.sub,
                score_given=score_given,
                score_maximum=score_maximum,
                comment=comment,
            )
        )
    return posts


def grade_passback_enqueue(*, submission_id: int) -> None:
    """Run on commit of a release or of a change to a released grade."""
    from aaie.celery import app  # by name: the task module imports this one

    for post in grade_posts_create(submission_id=submission_id):
        app.send_task(PASSBACK_TASK, args=[post.pk])


def _grade_of(post: LtiGradePost) -> Grade:
    return (
        Grade()
        .set_score_given(post.score_given)
        .set_score_maximum(post.score_maximum)
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        # The LMS keeps the score with the newest timestamp, so a late retry of an old grade
        # cannot overwrite a newer one.
        .set_timestamp(post.created_at.isoformat())
        .set_user_id(post.lms_user_id)
        .set_comment(post.comment)
    )


def _put(post: LtiGradePost) -> None:
    context = post.link.context
    if SCORE_SCOPE not in context.ags_scopes:
        raise PassbackError("The LMS did not grant AAIE the score scope.", transient=False)
    service = AssignmentsGradesService(
        service_connector(context.deployment.platform),
        {"scope": context.ags_scopes, "lineitem": post.lineitem_url},
    )
    try:
        service.put_grade(_grade_of(post))
    except LtiServiceException as error:
        status = error.response.status_code
        transient = status >= 500 or status in TRANSIENT_STATUSES
        raise PassbackError(f"HTTP {status} from the LMS", transient=transient) from error
    except requests.RequestException as error:
        raise PassbackError(f"LMS unreachable: {type(error).__name__}", transient=True) from error
    except LtiException as error:
        raise PassbackError(str(error)[:MAX_ERROR_CHARS], transient=False) from error


def _audit(post: LtiGradePost, action: str, value: str) -> None:
    AuditEvent.objects.create(
        submission_id=post.submission_id,
        actor=None,
        action=action,
        field=post.lineitem_url[:100],
        new_value=value,
    )


def grade_post_send(*, post_id: int) -> LtiGradePost:
    """Send one pending post; raise PassbackError (transient or not) when the LMS refuses.

    Every attempt is counted and audited; a permanent refusal marks the post failed."""
    post = LtiGradePost.objects.select_related("link__context__deployment__platform").get(
        pk=post_id
    )
    if post.status != LtiGradePost.Status.PENDING:
        return post  # sent already (a task delivered twice)
    post.attempts += 1
    try:
        _put(post)
    except PassbackError as error:
        post.error_history.append(str(error))
        if not error.transient:
            post.status = LtiGradePost.Status.FAILED
        post.save(update_fields=["attempts", "error_history", "status"])
        _audit(post, "lms_grade_failed", f"attempt {post.attempts}: {error}")
        raise
    post.status = LtiGradePost.Status.SENT
    post.sent_at = timezone.now()
    post.save(update_fields=["attempts", "status", "sent_at"])
    _audit(post, "lms_grade_sent", f"{post.score_given:g}/{post.score_maximum:g}")
    return post


def grade_post_give_up(*, post_id: int) -> None:
    """Out of retries: the post stays failed, shown on the assignment page to send again."""
    LtiGradePost.objects.filter(pk=post_id, status=LtiGradePost.Status.PENDING).update(
        status=LtiGradePost.Status.FAILED
    )


def grade_posts_retry(*, assignment_id: int) -> list[int]:
    """An educator sends the failed posts of an assignment again."""
    from aaie.celery import app

    ids = list(
        LtiGradePost.objects.filter(
            submission__assignment_id=assignment_id, status=LtiGradePost.Status.FAILED
        ).values_list("pk", flat=True)
    )
    LtiGradePost.objects.filter(pk__in=ids).update(status=LtiGradePost.Status.PENDING)
    for post_id in ids:
        app.send_task(PASSBACK_TASK, args=[post_id])
    return ids
