"""Reviews: the educator's final points and comments, approval and release, all audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from grading.errors import ApplicationError
from grading.lti.passback import grade_passback_enqueue
from grading.models import (
    Assignment,
    AuditEvent,
    Criterion,
    CriterionReview,
    GradingRun,
    Review,
    RubricVersion,
    Submission,
)
from grading.services.analytics import agreement_for_assignment
from grading.services.notifications import GRADE_RELEASED, notifications_send_after_commit
from grading.vocabulary import Provenance

MAX_COMMENT_CHARS = 5000
# What makes an AI grade unfit to leave without a person reading it: signs that the student
# addressed the grader, text a reader cannot see, or an answer the model could not back up.
SUBMISSION_FLAGS_NEEDING_A_PERSON = frozenset({"injection_suspected", "hidden_text", "no_text"})
RUN_FLAGS_NEEDING_A_PERSON = frozenset(
    {"unverifiable_evidence", "high_spread", "truncated_trace", "follows_injection"}
)


def review_rubric_version(*, submission: Submission) -> RubricVersion:
    """The rubric version a review scores against: the AI run's, else the assignment's."""
    run = submission.latest_run
    if run is not None and run.status == GradingRun.Status.SUCCEEDED:
        return run.rubric_version
    return submission.assignment.rubric_version


def review_initial_points(*, submission: Submission) -> dict[int, int]:
    """Points per criterion id before the educator changes anything: the AI's, where it graded."""
    run = submission.latest_run
    if run is None or run.status != GradingRun.Status.SUCCEEDED:
        return {}
    return {result.criterion_id: result.points for result in run.results.all()}


def review_initial_feedback(*, submission: Submission) -> str:
    """The overall feedback before the educator edits it: the AI's draft, where it graded."""
    run = submission.latest_run
    if run is None or run.status != GradingRun.Status.SUCCEEDED:
        return ""
    return run.feedback[:MAX_COMMENT_CHARS]


def needs_individual_review(*, submission: Submission) -> bool:
    run = submission.latest_run
    run_flags = set(run.flags) if run is not None else set()
    return bool(
        SUBMISSION_FLAGS_NEEDING_A_PERSON & set(submission.flags)
        or RUN_FLAGS_NEEDING_A_PERSON & run_flags
    )


OPENED = "opened"  # the audit action that records an educator reading the submission


def submission_opened(*, submission: Submission, actor) -> None:
    """Record, once per educator, that they opened the submission to review it.

    Approving the AI's points counts as a person's judgment only after this (see
    review_provenance); the audit history shows who opened it and when.
    """
    # One statement whether or not it was opened before (a unique constraint drops repeats).
    AuditEvent.objects.bulk_create(
        [AuditEvent(submission=submission, actor=actor, action=OPENED)], ignore_conflicts=True
    )


def review_provenance(
    *, submission: Submission, points: Mapping[int, int], initial: Mapping[int, int]
) -> Provenance:
    """How points saved one by one came to be: changed from the AI's, or the AI's kept.

    Keeping the AI's points is an approval only where an educator opened the submission;
    otherwise (a script through the API, say) it is a rubber stamp and says so.
    """
    if not initial or any(initial.get(pk) != value for pk, value in points.items()):
        return Provenance.EDITED
    opened = AuditEvent.objects.filter(submission=submission, action=OPENED).exists()
    return Provenance.APPROVED if opened else Provenance.UNOPENED


def _audit(*, submission: Submission, actor, action: str, field: str = "", old="", new="") -> None:
    AuditEvent.objects.create(
        submission=submission,
        actor=actor,
        action=action,
        field=field,
        old_value=str(old),
        new_value=str(new),
    )


def _passback_on_commit(review: Review) -> None:
    """LMS grade passback (grading/lti): queued after commit; never blocks or undoes a release."""
    submission_id = review.submission_id
    transaction.on_commit(lambda: grade_passback_enqueue(submission_id=submission_id), robust=True)


@transaction.atomic
def review_save(
    *,
    submission: Submission,
    actor,
    points: Mapping[int, int],
    comments: Mapping[int, str],
    comment: str,
    provenance: Provenance | None = None,
) -> Review:
    """Store the educator's points per criterion id and comments; every change is audited.

    `provenance` is given by callers that save without a person choosing these points (bulk and
    automatic release, imported labels); otherwise it follows from the points (review_provenance).
    """
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    criteria: list[Criterion] = list(review_rubric_version(submission=submission).criteria.all())
    for criterion in criteria:
        value = points.get(criterion.pk)
        if value is None:
            raise ApplicationError(f"Give points for {criterion.key} {criterion.title}.")
        if not 0 <= value <= criterion.max_points:
            raise ApplicationError(
                f"{criterion.key} {criterion.title}: {value} is outside 0–{criterion.max_points}."
            )
    if len(comment) > MAX_COMMENT_CHARS or any(
        len(text) > MAX_COMMENT_CHARS for text in comments.values()
    ):
        raise ApplicationError(f"Comments are limited to {MAX_COMMENT_CHARS} characters.")

    review, created = Review.objects.get_or_create(
        submission=submission, defaults={"based_on_run": submission.latest_run}
    )
    initial = review_initial_points(submission=submission)
    existing = {item.criterion_id: item for item in review.criteria.all()}
    for criterion in criteria:
        new_points = points[criterion.pk]
        new_comment = comments.get(criterion.pk, "").strip()
        item = existing.get(criterion.pk)
        old_points = item.points if item else initial.get(criterion.pk, "")
        old_comment = item.comment if item else ""
        if item is None:
            item = CriterionReview(review=review, criterion=criterion)
        if new_points != old_points:
            _audit(
                submission=submission,
                actor=actor,
                action="points",
                field=f"{criterion.key} {criterion.title}",
                old=old_points,
                new=new_points,
            )
        if new_comment != old_comment:
            _audit(
                submission=submission,
                actor=actor,
                action="comment",
                field=f"{criterion.key} {criterion.title}",
                old=old_comment,
                new=new_comment,
            )
        item.points = new_points
        item.comment = new_comment
        item.save()
    comment = comment.strip()
    if comment != review.comment:
        _audit(
            submission=submission,
            actor=actor,
            action="comment",
            field="overall",
            old=review.comment,
            new=comment,
        )
        review.comment = comment
    if provenance is None:
        provenance = review_provenance(
            submission=submission,
            points={criterion.pk: points[criterion.pk] for criterion in criteria},
            initial=initial,
        )
    if provenance != review.provenance:
        _audit(
            submission=submission,
            actor=actor,
            action="provenance",
            old=Provenance(review.provenance).label if not created else "",
            new=provenance.label,
        )
        review.provenance = provenance
    review.save()
    return review


@transaction.atomic
def review_approve(*, review: Review, actor) -> Review:
    if review.approved_at is None:
        review.approved_by = actor
        review.approved_at = timezone.now()
        review.save(update_fields=["approved_by", "approved_at", "updated_at"])
        _audit(submission=review.submission, actor=actor, action="approved")
    return review


def review_grade_snapshot(*, review: Review) -> dict:
    """The saved grade as a student would see it (the shape of Review.released_grade).

    Every criterion of the review's rubric version needs saved points; points saved for another
    version's criteria (before the rubric was switched) are not part of it.
    """
    submission = review.submission
    version = review_rubric_version(submission=submission)
    run = submission.latest_run
    if run is None or run.status != GradingRun.Status.SUCCEEDED:
        run = review.based_on_run
    saved = {item.criterion_id: item for item in review.criteria.all()}
    rows = []
    for criterion in version.criteria.order_by("order"):
        item = saved.get(criterion.pk)
        if item is None:
            raise ApplicationError("Save points for every criterion before releasing.")
        rows.append(
            {
                "criterion_id": criterion.pk,
                "key": criterion.key,
                "title": criterion.title,
                "max_points": criterion.max_points,
                "points": item.points,
                "comment": item.comment,
            }
        )
    return {
        "run": run.pk if run is not None and run.rubric_version_id == version.pk else None,
        "comment": review.comment,
        "total": sum(row["points"] for row in rows),
        "max_total": sum(row["max_points"] for row in rows),
        "criteria": rows,
    }


def review_changed_since_release(*, review: Review | None) -> bool:
    """Whether the saved grade differs from what the student was shown (release again to show)."""
    if review is None or not review.released:
        return False
    try:
        return review_grade_snapshot(review=review) != review.released_grade
    except ApplicationError:
        return True  # points missing for the current rubric version: certainly not released


@transaction.atomic
def review_release(*, review: Review, actor, notify: bool = True) -> Review:
    """Show the saved grade to the student, frozen: later edits wait for the next release.

    Releasing is itself an educator's approval; releasing an unchanged grade again does nothing.
    The student is emailed unless `notify` is off (a bulk release emails everyone in one go, a
    regrade's answer tells the student itself).
    """
    snapshot = review_grade_snapshot(review=review)
    review_approve(review=review, actor=actor)
    if review.released and review.released_grade == snapshot:
        return review
    review.released = True
    review.released_at = timezone.now()
    review.released_grade = snapshot
    review.based_on_run_id = snapshot["run"]
    review.save(
        update_fields=["released", "released_at", "released_grade", "based_on_run", "updated_at"]
    )
    _audit(submission=review.submission, actor=actor, action="released", new=snapshot["total"])
    if notify:
        notifications_send_after_commit(kind=GRADE_RELEASED, ids=[review.pk])
    _passback_on_commit(review)
    return review


@dataclass
class BulkRelease:
    """What a bulk release did with each selected submission, so the page can say why."""

    released: int = 0
    held_flagged: int = 0  # AI grades flagged for a person's look: review them one by one
    no_grade: int = 0  # neither a review nor a succeeded AI run
    already_released: int = 0


def reviews_release_bulk(
    *, assignment: Assignment, submissions: Sequence[Submission], actor
) -> BulkRelease:
    """Approve and release the selected grades: the educator's review, or else the AI's points.

    Submissions without a review or a succeeded AI run are skipped, and so are flagged AI grades
    (see needs_individual_review) that no educator has reviewed. Where the assignment asks
    for a minimum AI–educator agreement, bulk release waits until reviewed work shows it.
    """
    threshold = assignment.min_agreement_for_bulk_release
    if threshold is not None:
        overall = agreement_for_assignment(assignment=assignment).overall
        kappa = overall.quadratic_weighted_kappa
        if kappa is None or kappa < threshold:
            shown = overall.warning if kappa is None else f"it is {kappa:.2f}."
            raise ApplicationError(
                f"Bulk release needs AI–educator agreement (quadratic weighted kappa) of at "
                f"least {threshold:.2f} on grades an educator judged one by one; {shown} "
                f"Review more submissions one by one first (bulk and automatic releases do "
                f"not count)."
            )
    released: list[int] = []
    outcome = BulkRelease()
    for submission in submissions:
        if submission.assignment_id != assignment.pk:
            raise ApplicationError("Every selected submission must belong to this assignment.")
        with transaction.atomic():
            review = Review.objects.filter(submission=submission).first()
            if review is None or not review.criteria.exists():
                ai_points = review_initial_points(submission=submission)
                if not ai_points:
                    outcome.no_grade += 1
                    continue
                if needs_individual_review(submission=submission):
                    outcome.held_flagged += 1  # released only after a person's review
                    continue
                review = review_save(
                    submission=submission,
                    actor=actor,
                    points=ai_points,
                    comments={},
                    comment=review.comment
                    if review
                    else review_initial_feedback(submission=submission),
                    provenance=Provenance.BULK,
                )
            if review.released:
                outcome.already_released += 1
            else:
                review_release(review=review, actor=actor, notify=False)
                released.append(review.pk)
    # One task, one SMTP connection for the whole release, not one exchange per student.
    notifications_send_after_commit(kind=GRADE_RELEASED, ids=released)
    outcome.released = len(released)
    return outcome


def review_auto_release(*, submission: Submission) -> Review | None:
    """Release a clean AI grade at once where the assignment does not require review.

    Flagged grades still wait for an educator, whatever the assignment says.
    """
    if submission.assignment.review_required:
        return None  # the usual case: no need to read the grade again
    submission = Submission.objects.select_related("assignment", "latest_run").get(pk=submission.pk)
    if submission.assignment.review_required or needs_individual_review(submission=submission):
        return None
    points = review_initial_points(submission=submission)
    if not points:
        return None
    review = review_save(
        submission=submission,
        actor=None,
        points=points,
        comments={},
        comment=review_initial_feedback(submission=submission),
        provenance=Provenance.AUTO,
    )
    return review_release(review=review, actor=None)
