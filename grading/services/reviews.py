"""Reviews: the educator's final points and comments, approval and release, all audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from grading.errors import ApplicationError
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
from grading.services.notifications import notify_grade_released

MAX_COMMENT_CHARS = 5000
# What makes an AI grade unfit to leave without a person reading it: signs that the student
# addressed the grader, text a reader cannot see, or an answer the model could not back up.
SUBMISSION_FLAGS_NEEDING_A_PERSON = frozenset({"injection_suspected", "hidden_text", "no_text"})
RUN_FLAGS_NEEDING_A_PERSON = frozenset({"unverifiable_evidence", "high_spread", "truncated_trace"})


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


def _audit(*, submission: Submission, actor, action: str, field: str = "", old="", new="") -> None:
    AuditEvent.objects.create(
        submission=submission,
        actor=actor,
        action=action,
        field=field,
        old_value=str(old),
        new_value=str(new),
    )


@transaction.atomic
def review_save(
    *,
    submission: Submission,
    actor,
    points: Mapping[int, int],
    comments: Mapping[int, str],
    comment: str,
) -> Review:
    """Store the educator's points per criterion id and comments; every change is audited."""
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


@transaction.atomic
def review_release(*, review: Review, actor) -> Review:
    """Show the reviewed grade to the student. Releasing is itself an educator's approval."""
    if not review.criteria.exists():
        raise ApplicationError("Save points for every criterion before releasing.")
    review_approve(review=review, actor=actor)
    if not review.released:
        review.released = True
        review.released_at = timezone.now()
        review.released_snapshot = review_snapshot(review=review)
        review.save(update_fields=["released", "released_at", "released_snapshot", "updated_at"])
        _audit(submission=review.submission, actor=actor, action="released")
        transaction.on_commit(lambda: notify_grade_released(review=review))
    elif review_snapshot(review=review) != review.released_snapshot:
        # Released before and edited since: releasing again shows the student the edit.
        review.released_snapshot = review_snapshot(review=review)
        review.save(update_fields=["released_snapshot", "updated_at"])
        _audit(submission=review.submission, actor=actor, action="released", field="edit")
    return review


def review_snapshot(*, review: Review) -> dict:
    """What the student reads, as plain data: points, comments and the overall feedback.

    The AI's level and justification are kept for a criterion only where the educator left the
    AI's points unchanged; otherwise they would explain a score the student did not get.
    """
    run = review.based_on_run
    ai = {result.criterion_id: result for result in run.results.all()} if run else {}
    criteria = []
    for item in review.criteria.select_related("criterion").order_by("criterion__order"):
        result = ai.get(item.criterion_id)
        kept = result is not None and result.points == item.points
        criteria.append(
            {
                "criterion_id": item.criterion_id,
                "key": item.criterion.key,
                "title": item.criterion.title,
                "max_points": item.criterion.max_points,
                "points": item.points,
                "comment": item.comment,
                "level_label": result.level_label if kept else "",
                "justification": result.justification if kept else "",
            }
        )
    return {
        "criteria": criteria,
        "total": sum(item["points"] for item in criteria),
        "max_total": sum(item["max_points"] for item in criteria),
        "feedback": review.comment,
    }


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
        agreement = agreement_for_assignment(assignment=assignment)
        kappa = agreement["overall"].quadratic_weighted_kappa
        if agreement["reviewed"] == 0 or kappa is None or kappa < threshold:
            shown = "no reviewed submissions yet" if not agreement["reviewed"] else f"{kappa:.2f}"
            raise ApplicationError(
                f"Bulk release needs AI–educator agreement (quadratic weighted kappa) of at "
                f"least {threshold:.2f} on reviewed submissions; it is {shown}. Review more "
                f"submissions one by one first."
            )
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
                )
            if review.released:
                outcome.already_released += 1
            else:
                review_release(review=review, actor=actor)
                outcome.released += 1
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
    )
    return review_release(review=review, actor=None)
