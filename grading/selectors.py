"""Reads for pages and the API, always scoped to the user asking."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from grading.models import (
    Assignment,
    CalibrationSet,
    Course,
    Criterion,
    CriterionResult,
    CriterionReview,
    Enrolment,
    Evaluation,
    GradingRun,
    Level,
    RegradeRequest,
    Review,
    ReviewDraft,
    RubricVersion,
    Submission,
    UnmatchedUpload,
    UploadBatch,
)
from grading.permissions import User, is_admin


def taught_by(queryset: QuerySet, *, user: User, course: str) -> QuerySet:
    """The rows of `queryset` in courses the user teaches; every row for an admin.

    `course` is the lookup path from the queryset's model to its Course ("" for courses).
    """
    if is_admin(user):
        return queryset
    prefix = f"{course}__" if course else ""
    return queryset.filter(
        **{f"{prefix}enrolments__user": user, f"{prefix}enrolments__role": Enrolment.Role.EDUCATOR}
    )


def _by_pk(queryset: QuerySet, pk: int):
    """The row of `queryset` with this primary key, or None. Without the model's default
    ordering: one row needs no ORDER BY, and that ordering joins the related tables it names."""
    return queryset.filter(pk=pk).order_by().first()


def course_list_for_educator(*, user: User) -> QuerySet[Course]:
    courses = taught_by(Course.objects.all(), user=user, course="")
    return courses.annotate(
        assignment_count=Count(
            "assignments",
            filter=Q(assignments__calibration_set__isnull=True),
            distinct=True,
        )
    )


def course_for_educator(*, user: User, course_id: int) -> Course | None:
    return _by_pk(course_list_for_educator(user=user), course_id)


def assignment_for_educator(*, user: User, assignment_id: int) -> Assignment | None:
    assignments = taught_by(
        Assignment.objects.select_related("course", "rubric_version__rubric", "calibration_set"),
        user=user,
        course="course",
    )
    return _by_pk(assignments, assignment_id)


def submission_for_educator(*, user: User, submission_id: int) -> Submission | None:
    """The submission, if the user teaches its course, with its student, AI run, review and
    assignment.

    Two queries, not one: joined in one, the eight tables took PostgreSQL's planner longer to
    plan than both queries take to run.
    """
    submission = _by_pk(
        Submission.objects.select_related("student", "latest_run__rubric_version", "review"),
        submission_id,
    )
    if submission is None:
        return None
    assignment = assignment_for_educator(user=user, assignment_id=submission.assignment_id)
    if assignment is None:
        return None
    submission.assignment = assignment
    return submission


# Dashboard sort keys → ORM orderings; the student's name breaks ties, and the id last of all,
# so that every order is total and pages never share or skip a row.
SUBMISSION_SORTS = {
    "student": ("student__last_name", "student__username", "-attempt", "pk"),
    "status": ("latest_run__status", "student__last_name", "-attempt", "pk"),
    "ai_total": ("latest_run__total", "student__last_name", "-attempt", "pk"),
    "final_total": ("final_total", "student__last_name", "-attempt", "pk"),
    "submitted": ("submitted_at", "pk"),
}
NOT_GRADED = "not_graded"
NOT_GRADED_LABEL = "Not graded"


def submission_list_for_assignment(
    *,
    assignment: Assignment,
    status: str = "",
    sort: str = "student",
    descending: bool = False,
    flagged: bool = False,
) -> QuerySet[Submission]:
    """Every attempt of every student with what the dashboard shows, filtered and sorted.

    `flagged` keeps the submissions with a flag of their own or on their current AI run.
    """
    submissions = (
        Submission.objects.filter(assignment=assignment)
        .select_related("student", "latest_run", "review")
        .prefetch_related("review__criteria")
        .annotate(final_total=_final_total())
    )
    if status == NOT_GRADED:
        submissions = submissions.filter(latest_run__isnull=True)
    elif status in GradingRun.Status.values:
        submissions = submissions.filter(latest_run__status=status)
    if flagged:
        submissions = submissions.filter(
            ~Q(flags={}) | (Q(latest_run__isnull=False) & ~Q(latest_run__flags=[]))
        )
    ordering = SUBMISSION_SORTS.get(sort, SUBMISSION_SORTS["student"])
    if descending:
        ordering = (f"-{ordering[0]}", *ordering[1:])
    return submissions.order_by(*ordering)


def submission_ids_for_dashboard(*, assignment: Assignment, **filters) -> QuerySet:
    """The ids of submission_list_for_assignment, in its order: cheap to page through, as the
    final totals are summed only when they decide the order."""
    return (
        submission_list_for_assignment(assignment=assignment, **filters)
        .prefetch_related(None)
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """A submission as the dashboard lists it: plain values, cheap to load and to render."""

    submission_id: int
    student_name: str
    attempt: int
    file_name: str
    run_status: str  # NOT_GRADED when the submission has no AI run
    run_status_label: str
    ai_total: int | None
    max_total: int | None
    final_total: int | None
    approved: bool
    released: bool
    flags: list[str]

    @property
    def can_grade(self) -> bool:
        return self.run_status not in GradingRun.ACTIVE_STATUSES


def dashboard_rows(*, ids: list[int]) -> list[DashboardRow]:
    """The dashboard's rows for these submissions, in this order.

    One query of plain values: a page of model instances (submission, student, run, review)
    cost more to build than the page took to render.
    """
    values = (
        Submission.objects.filter(pk__in=ids)
        .order_by()  # put in the order of `ids` below
        .annotate(final_total=_final_total())
        .values(
            "pk",
            "attempt",
            "original_name",
            "flags",
            "student__username",
            "student__first_name",
            "student__last_name",
            "latest_run__status",
            "latest_run__total",
            "latest_run__max_total",
            "latest_run__flags",
            "review__approved_at",
            "review__released",
            "final_total",
        )
    )
    by_id = {row["pk"]: row for row in values}
    return [_dashboard_row(by_id[pk]) for pk in ids]


def _dashboard_row(row: dict) -> DashboardRow:
    status = row["latest_run__status"]
    full_name = f"{row['student__first_name']} {row['student__last_name']}".strip()
    return DashboardRow(
        submission_id=row["pk"],
        student_name=full_name or row["student__username"],
        attempt=row["attempt"],
        file_name=row["original_name"],
        run_status=status or NOT_GRADED,
        run_status_label=GradingRun.Status(status).label if status else NOT_GRADED_LABEL,
        ai_total=row["latest_run__total"],
        max_total=row["latest_run__max_total"],
        final_total=row["final_total"],
        approved=row["review__approved_at"] is not None,
        released=bool(row["review__released"]),
        flags=flag_labels(submission_flags=row["flags"], run_flags=row["latest_run__flags"] or []),
    )


def _final_total() -> Subquery:
    """The sum of the review's points, as a subquery: no GROUP BY over the submissions' columns."""
    points = (
        CriterionReview.objects.filter(review__submission=OuterRef("pk"))
        .order_by()  # the default ordering would join the criteria into every row's sum
        .values("review__submission")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Subquery(points)


def submission_flags(submission: Submission) -> list[str]:
    run = submission.latest_run
    return flag_labels(submission_flags=submission.flags, run_flags=run.flags if run else [])


# What the checks on a file concluded about its author's intent. Educators see them; a student
# who saw them could rework an attack until it passes unnoticed.
VERDICT_FLAGS = frozenset({"injection_suspected", "injection_unsure", "hidden_text"})


def submission_flags_for_student(*, flags: dict) -> list[str]:
    """The file's flags a student may see: what was read and skipped, never a verdict."""
    return sorted(flag for flag in flags if flag not in VERDICT_FLAGS)


def flag_labels(*, submission_flags: dict, run_flags: list[str]) -> list[str]:
    """Everything worth an educator's attention: the file's flags and the AI run's."""
    return [*Submission.labels_of(submission_flags), *GradingRun.labels_of(run_flags)]


def neighbours_in_assignment(*, submission: Submission) -> tuple[int | None, int | None]:
    """The previous and next submission ids in the dashboard's default order.

    Two one-row queries that compare sort keys (keyset), so the cost does not grow with the
    class: the submission's own keys come from the row already loaded with its student.
    """
    ordering = SUBMISSION_SORTS["student"]
    keys = [_attribute_path(submission, name.lstrip("-")) for name in ordering]
    siblings = Submission.objects.filter(assignment_id=submission.assignment_id)
    previous_id = (
        siblings.filter(_keyset_beyond(ordering, keys, before=True))
        .order_by(*(_reversed(name) for name in ordering))
        .values_list("pk", flat=True)
        .first()
    )
    next_id = (
        siblings.filter(_keyset_beyond(ordering, keys, before=False))
        .order_by(*ordering)
        .values_list("pk", flat=True)
        .first()
    )
    return previous_id, next_id


def _attribute_path(obj, path: str):
    for name in path.split("__"):
        obj = getattr(obj, name)
    return obj


def _reversed(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def _keyset_beyond(ordering: tuple[str, ...], keys: list, *, before: bool) -> Q:
    """Rows strictly before (or after) the row with these key values in this ordering."""
    beyond = Q(pk__in=[])
    equal_so_far = Q()
    for name, value in zip(ordering, keys, strict=True):
        field = name.lstrip("-")
        ascending = not name.startswith("-")
        lookup = "lt" if ascending == before else "gt"
        beyond |= equal_so_far & Q(**{f"{field}__{lookup}": value})
        equal_so_far &= Q(**{field: value})
    return beyond


def assignment_progress(*, assignment: Assignment) -> dict[str, int]:
    """How many submissions' current AI runs stand in each status.

    One GROUP BY over the assignment's submissions, each joined to its current run by key.
    """
    counts = dict.fromkeys([*GradingRun.Status.values, NOT_GRADED], 0)
    by_status = (
        Submission.objects.filter(assignment=assignment)
        .values_list("latest_run__status")
        .annotate(count=Count("id"))
        .order_by()
    )
    for status, count in by_status:
        counts[status or NOT_GRADED] = count
    counts["total"] = sum(counts.values())
    return counts


def students_of(*, course: Course) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(enrolments__course=course, enrolments__role=Enrolment.Role.STUDENT)
        .order_by("last_name", "username")
    )


def account_to_enrol(*, user: User, username: str, email: str = ""):
    """The active account an educator may enrol by this username, or None.

    One the educator already teaches (every account, for an admin) by its username alone; any
    other only when `email` is the account's own, so that usernames cannot be looked up.
    """
    account = get_user_model().objects.filter(username=username, is_active=True).first()
    if account is None:
        return None
    if email and account.email and account.email.casefold() == email.strip().casefold():
        return account
    if (
        is_admin(user)
        or taught_by(Enrolment.objects.filter(user=account), user=user, course="course").exists()
    ):
        return account
    return None


def rubric_version_criteria(*, rubric_version: RubricVersion) -> QuerySet[Criterion]:
    """The version's criteria in order, each with its levels. Ordered by their own `order`
    alone: the models' default orderings would join the version and the rubric into both."""
    return rubric_version.criteria.order_by("order").prefetch_related(
        Prefetch("levels", queryset=Level.objects.order_by("order"))
    )


# How many past AI runs the review page lists.
RUN_HISTORY_LENGTH = 10


def run_history(*, submission: Submission) -> QuerySet[GradingRun]:
    """The submission's latest AI runs, newest first, without their traces and answers."""
    return submission.runs.defer(
        "reasoning_trace", "raw_answer", "feedback", "model_snapshot", "samples", "spread"
    )[:RUN_HISTORY_LENGTH]


def run_results(*, run: GradingRun) -> dict[int, CriterionResult]:
    """The run's results keyed by criterion id."""
    return {result.criterion_id: result for result in run.results.all()}


def released_grade(*, review: Review) -> tuple[dict, GradingRun | None]:
    """The grade as released (Review.released_grade) and the AI run it came with, if kept.

    A finished run never changes, so its feedback and results are read from it as they were.
    """
    grade = review.released_grade
    run = GradingRun.objects.filter(pk=grade["run"]).first() if grade["run"] else None
    return grade, run


def criteria_of_grade(*, grade: dict) -> list[Criterion]:
    """The criteria a released grade scored, in its order."""
    ids = [row["criterion_id"] for row in grade["criteria"]]
    by_id = Criterion.objects.in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def review_points(*, submission: Submission) -> dict[int, CriterionReview]:
    review = getattr(submission, "review", None)
    if review is None:
        return {}
    return {item.criterion_id: item for item in review.criteria.all()}


def submission_with_course(*, submission_id: int) -> Submission | None:
    """Any submission with its assignment, for a permission check that follows."""
    return _by_pk(Submission.objects.select_related("assignment"), submission_id)


def review_draft_for(*, submission: Submission, author: User, review) -> ReviewDraft | None:
    """The author's autosaved draft, unless the review was saved after it (then it is stale)."""
    draft = ReviewDraft.objects.filter(submission=submission, author=author).first()
    if draft is None or (review is not None and review.updated_at > draft.updated_at):
        return None
    return draft


def submission_list_for_student(*, user: User) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(student=user)
        .select_related("assignment__course", "review", "latest_run")
        .prefetch_related("review__criteria")
        .order_by("-submitted_at")
    )


def submission_for_student(*, user: User, submission_id: int) -> Submission | None:
    return _by_pk(submission_list_for_student(user=user), submission_id)


class StudentStatus:
    """What a student may know of a submission's progress: never an unreleased grade."""

    SUBMITTED = "Submitted"
    BEING_GRADED = "Being graded"
    AWAITING_REVIEW = "Awaiting review"
    RELEASED = "Released"


def student_status(submission: Submission) -> str:
    review = getattr(submission, "review", None)
    if review is not None and review.released:
        return StudentStatus.RELEASED
    run = submission.latest_run
    if run is None or run.status in (GradingRun.Status.FAILED, GradingRun.Status.CANCELLED):
        return StudentStatus.SUBMITTED
    if run.is_active:
        return StudentStatus.BEING_GRADED
    return StudentStatus.AWAITING_REVIEW


def assignment_list_for_student(*, user: User) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(
            course__enrolments__user=user,
            course__enrolments__role=Enrolment.Role.STUDENT,
            calibration_set__isnull=True,  # already-marked work brought in to measure a model
        )
        .select_related("course")
        .order_by("course__code", "due_at", "title")
    )


def assignment_for_student(*, user: User, assignment_id: int) -> Assignment | None:
    return _by_pk(assignment_list_for_student(user=user), assignment_id)


def regrade_requests_for_educator(*, user: User) -> QuerySet[RegradeRequest]:
    requests = taught_by(
        RegradeRequest.objects.select_related(
            "submission__assignment__course", "student"
        ).prefetch_related("criteria"),
        user=user,
        course="submission__assignment__course",
    )
    return requests.order_by("status", "-created_at")


def regrade_request_for_educator(*, user: User, request_id: int) -> RegradeRequest | None:
    return _by_pk(regrade_requests_for_educator(user=user), request_id)


def rubric_versions_for_educator(*, user: User) -> QuerySet[RubricVersion]:
    """The rubric library: every rubric version an educator may reuse."""
    return RubricVersion.objects.select_related("rubric").order_by("rubric__name", "-number")


def score_distribution(*, assignment: Assignment) -> list[dict]:
    """Per criterion, how many current AI results gave each number of points.

    [{"criterion": Criterion, "bars": [(points, count, percent_of_largest)]}], points 0..max.
    """
    criteria = list(assignment.rubric_version.criteria.order_by("order"))
    counts = (
        CriterionResult.objects.filter(
            run__submission__assignment=assignment,
            run__submission__latest_run=F("run"),
            run__status=GradingRun.Status.SUCCEEDED,
        )
        .values("criterion_id", "points")
        .annotate(count=Count("id"))
    )
    by_criterion: dict[int, dict[int, int]] = {}
    for row in counts:
        by_criterion.setdefault(row["criterion_id"], {})[row["points"]] = row["count"]
    distribution = []
    for criterion in criteria:
        tally = by_criterion.get(criterion.pk, {})
        largest = max(tally.values(), default=0)
        distribution.append(
            {
                "criterion": criterion,
                "bars": [
                    (
                        points,
                        tally.get(points, 0),
                        100 * tally.get(points, 0) // largest if largest else 0,
                    )
                    for points in range(criterion.max_points + 1)
                ],
            }
        )
    return distribution


def upload_batch_for_educator(*, user: User, batch_id: int) -> UploadBatch | None:
    batches = taught_by(
        UploadBatch.objects.select_related("assignment__course"),
        user=user,
        course="assignment__course",
    )
    return _by_pk(batches, batch_id)


def unmatched_uploads_for_assignment(*, assignment: Assignment) -> QuerySet[UnmatchedUpload]:
    return UnmatchedUpload.objects.filter(assignment=assignment).order_by("original_name", "id")


def class_assignments(*, course: Course) -> QuerySet[Assignment]:
    """The course's assignments for its students: calibration sets are listed on their own."""
    return course.assignments.filter(calibration_set__isnull=True)


def calibration_sets_for_educator(*, user: User) -> QuerySet[CalibrationSet]:
    sets = taught_by(
        CalibrationSet.objects.select_related(
            "assignment__course", "assignment__rubric_version__rubric", "created_by"
        ),
        user=user,
        course="assignment__course",
    )
    return sets.annotate(submission_count=Count("assignment__submissions", distinct=True)).order_by(
        "-created_at", "-id"
    )


def calibration_set_for_educator(*, user: User, set_id: int) -> CalibrationSet | None:
    return _by_pk(calibration_sets_for_educator(user=user), set_id)


def calibration_labels(*, calibration_set: CalibrationSet) -> QuerySet[Submission]:
    """The set's submissions with their pseudonyms and imported labels, in import order."""
    return (
        calibration_set.assignment.submissions.select_related("student", "review")
        .prefetch_related(
            Prefetch(
                "review__criteria",
                queryset=CriterionReview.objects.select_related("criterion").order_by(
                    "criterion__order"
                ),
            )
        )
        .order_by("pk")
    )


def evaluation_for_educator(*, user: User, evaluation_id: int) -> Evaluation | None:
    evaluations = taught_by(
        Evaluation.objects.select_related("calibration_set__assignment__course"),
        user=user,
        course="calibration_set__assignment__course",
    )
    return _by_pk(evaluations, evaluation_id)


def upload_batch_for_student(*, user: User, batch_id: int) -> UploadBatch | None:
    """A student's own upload (they uploaded it, as theirs)."""
    batches = UploadBatch.objects.select_related("assignment__course").filter(
        uploaded_by=user, student=user
    )
    return _by_pk(batches, batch_id)


def upload_batches_being_read_for_student(*, user: User) -> QuerySet[UploadBatch]:
    return UploadBatch.objects.filter(
        uploaded_by=user, student=user, status=UploadBatch.Status.PROCESSING
    ).order_by("created_at", "id")


def upload_batch_progress(*, batch: UploadBatch, educator: bool) -> dict:
    """Where an upload stands and what became of each file, for its page and the API.

    A student is never told a file's flags: the injection verdict would let them try again
    until the detector misses.
    """
    counts = {"stored": 0, "unmatched": 0, "rejected": 0}
    for row in batch.results:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    files = batch.results if educator else [{**row, "flags": []} for row in batch.results]
    return {
        "id": batch.pk,
        "status": batch.status,
        "processing": batch.status == UploadBatch.Status.PROCESSING,
        "summary": _upload_summary(batch, counts),
        "error": batch.error,
        "counts": counts,
        "files": files,
        "waiting": [entry["name"] for entry in batch.staged],
        "warnings": batch.warnings if educator else [],
    }


def _upload_summary(batch: UploadBatch, counts: dict[str, int]) -> str:
    if batch.status == UploadBatch.Status.PROCESSING:
        return (
            f"Reading {len(batch.staged)} uploaded file(s)… This page fills in when they are read."
        )
    if batch.status == UploadBatch.Status.FAILED:
        return f"Nothing of this upload was stored. {batch.error}"
    summary = f"{counts['stored']} file(s) uploaded."
    if counts["unmatched"] or counts["rejected"]:
        summary += f" {counts['unmatched']} unmatched, {counts['rejected']} rejected: see below."
    return summary
