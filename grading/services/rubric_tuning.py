"""Another rubric version for an assignment: switch and regrade, compare, and the tuning loop.

Criteria of two versions are matched by their order (C1, C2, …): a version made in the editor
keeps the order the educator gave, so "C2" is the same question in both unless it was moved.
A trial run grades with a candidate version without switching the assignment (see
`grading_run_request`), so the tuning loop never changes what students or the dashboard see.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from grading.errors import ApplicationError
from grading.models import Assignment, Criterion, GradingRun, Review, RubricVersion, Submission
from grading.services.agreement import Agreement, RatingPair, agreement_of
from grading.services.analytics import level_pair
from grading.services.courses import assignment_change_record
from grading.services.grading import grading_run_request
from grading.vocabulary import HUMAN_JUDGMENTS


def _same_rubric(assignment: Assignment, rubric_version: RubricVersion) -> None:
    if rubric_version.rubric_id != assignment.rubric_version.rubric_id:
        raise ApplicationError("Choose a version of the assignment's own rubric.")


def newest_attempts(*, assignment: Assignment) -> list[Submission]:
    """Each student's newest attempt, by student."""
    newest: dict[int, Submission] = {}
    submissions = assignment.submissions.select_related("student").defer("text")
    for submission in submissions.order_by("student_id", "-attempt"):
        newest.setdefault(submission.student_id, submission)
    return list(newest.values())


def _request_each(submissions, *, requested_by, rubric_version=None) -> int:
    queued = 0
    for submission in submissions:
        try:
            grading_run_request(
                submission=submission, requested_by=requested_by, rubric_version=rubric_version
            )
        except ApplicationError:
            continue  # being graded already, or no text: the dashboard shows why
        queued += 1
    return queued


def assignment_rubric_switch(
    *, assignment: Assignment, rubric_version: RubricVersion, actor, regrade: bool
) -> int:
    """Make `rubric_version` the assignment's; with `regrade`, queue every newest attempt.

    Earlier runs stay, each with the version it was graded with. Returns how many were queued.
    """
    _same_rubric(assignment, rubric_version)
    with transaction.atomic():
        assignment_change_record(
            assignment=assignment,
            actor=actor,
            field="rubric_version",
            old=assignment.rubric_version,
            new=rubric_version,
        )
        assignment.rubric_version = rubric_version
        assignment.save(update_fields=["rubric_version"])
    if not regrade:
        return 0
    return _request_each(newest_attempts(assignment=assignment), requested_by=actor)


def _human_judged(reviews):
    """Approved reviews that are a person's judgment (never bulk or automatic releases)."""
    return reviews.filter(approved_at__isnull=False, provenance__in=HUMAN_JUDGMENTS)


def assignment_regrade_newest(*, assignment: Assignment, actor) -> int:
    """Queue every student's newest attempt again, after the task or rubric changed."""
    return _request_each(newest_attempts(assignment=assignment), requested_by=actor)


def reviewed_submissions(*, assignment: Assignment) -> list[Submission]:
    """Submissions whose grade an educator judged one by one: the tuning set."""
    judged = _human_judged(Review.objects.filter(submission__assignment=assignment))
    return list(
        Submission.objects.filter(review__in=judged)
        .select_related("student", "review")
        .order_by("student__username", "-attempt")
    )


def trial_runs_request(*, assignment: Assignment, rubric_version: RubricVersion, actor) -> int:
    """Grade the tuning set with a candidate version, leaving the assignment as it is."""
    _same_rubric(assignment, rubric_version)
    if rubric_version.pk == assignment.rubric_version_id:
        raise ApplicationError("Choose a candidate other than the assignment's current version.")
    return _request_each(
        reviewed_submissions(assignment=assignment),
        requested_by=actor,
        rubric_version=rubric_version,
    )


def latest_result_run(*, submission: Submission, rubric_version: RubricVersion):
    """The newest successful run of the submission with that version, or None."""
    return (
        submission.runs.filter(rubric_version=rubric_version, status=GradingRun.Status.SUCCEEDED)
        .prefetch_related("results__criterion")
        .order_by("-queued_at", "-pk")
        .first()
    )


def _points_by_order(run: GradingRun | None) -> dict[int, int]:
    return {} if run is None else {r.criterion.order: r.points for r in run.results.all()}


@dataclass(frozen=True)
class CompareRow:
    submission: Submission
    old_total: int | None
    new_total: int | None
    points: list[tuple[int | None, int | None]]  # (old, new) per criterion order


def rubric_compare(
    *, assignment: Assignment, old_version: RubricVersion, new_version: RubricVersion
) -> dict:
    """Per newest attempt, the AI total and per-criterion points under each version."""
    orders = sorted(
        set(old_version.criteria.values_list("order", flat=True))
        | set(new_version.criteria.values_list("order", flat=True))
    )
    rows = []
    for submission in newest_attempts(assignment=assignment):
        old = latest_result_run(submission=submission, rubric_version=old_version)
        new = latest_result_run(submission=submission, rubric_version=new_version)
        old_points, new_points = _points_by_order(old), _points_by_order(new)
        rows.append(
            CompareRow(
                submission=submission,
                old_total=old.total if old else None,
                new_total=new.total if new else None,
                points=[(old_points.get(order), new_points.get(order)) for order in orders],
            )
        )
    return {"orders": orders, "rows": rows}


def _agreement_with(
    version: RubricVersion, reviews: list[Review]
) -> list[tuple[Criterion, Agreement]]:
    """Per criterion of `version`: its latest AI runs against the educator's points (by order)."""
    criteria = list(version.criteria.prefetch_related("levels").order_by("order"))
    pairs: dict[int, list[RatingPair]] = {c.order: [] for c in criteria}
    levels_of = {c.order: list(c.levels.all()) for c in criteria}
    for review in reviews:
        run = latest_result_run(submission=review.submission, rubric_version=version)
        if run is None:
            continue
        educator = {item.criterion.order: item.points for item in review.criteria.all()}
        for result in run.results.all():
            order = result.criterion.order
            levels = levels_of.get(order)
            if order not in educator or not levels:
                continue
            pairs[order].append(level_pair(levels, result, educator[order]))
    return [(c, agreement_of(pairs[c.order], len(levels_of[c.order]))) for c in criteria]


def tuning_agreement(*, assignment: Assignment, candidate: RubricVersion) -> dict:
    """Agreement with the educators' grades, current version beside the candidate, by order."""
    _same_rubric(assignment, candidate)
    reviews = list(
        _human_judged(Review.objects.filter(submission__assignment=assignment))
        .select_related("submission")
        .prefetch_related("criteria__criterion")
    )
    before = {c.order: (c, a) for c, a in _agreement_with(assignment.rubric_version, reviews)}
    after = {c.order: (c, a) for c, a in _agreement_with(candidate, reviews)}
    orders = sorted(set(before) | set(after))
    return {
        "reviewed": len(reviews),
        "rows": [(order, before.get(order), after.get(order)) for order in orders],
    }
