"""How far the AI's grades agree with people's: per assignment, and pooled over a course, a
rubric version, a model profile or one evaluation of a calibration set.

Only human judgments count (grading/vocabulary.py HUMAN_JUDGMENTS: an educator edited the points,
opened the submission and approved them, or the mark was imported). A grade released in bulk or
automatically is the AI's own answer stamped, and agreeing with itself proves nothing: such grades
are left out and counted, so every figure says what it rests on.

Each judged grade is paired with the AI run it judged (the review's run; for an imported label,
the run that graded the calibration submission). Criteria are compared by level (the AI's level
against the level nearest the person's points), totals as tenths of the maximum. The figures
themselves are pure code in services/agreement.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from grading.models import (
    Assignment,
    Course,
    Criterion,
    CriterionResult,
    Evaluation,
    GradingRun,
    ModelProfile,
    Review,
    RubricVersion,
)
from grading.services.agreement import (
    TOTAL_STEPS,
    Agreement,
    RatingPair,
    agreement_of,
    confusion_matrix,
    nearest_level,
    total_step,
)
from grading.vocabulary import HUMAN_JUDGMENTS, Provenance

NO_AI_GRADE = "No successful AI grade to compare with"


@dataclass(frozen=True)
class CriterionAgreement:
    criterion: Criterion
    level_labels: list[str]
    figures: Agreement
    confusion: list[list[int]]  # rows: AI level, columns: human level, best first

    def confusion_rows(self) -> list[tuple[str, list[int]]]:
        return list(zip(self.level_labels, self.confusion, strict=True))


@dataclass
class AgreementReport:
    """Figures over the human-judged grades of one scope, and what was left out and why."""

    judged: int = 0  # human-judged grades compared
    holistic: int = 0  # of those, imported labels that gave the work one band
    criteria: list[CriterionAgreement] = field(default_factory=list)
    overall: Agreement = field(default_factory=lambda: agreement_of([], 1))  # every criterion
    total: Agreement = field(default_factory=lambda: agreement_of([], TOTAL_STEPS + 1))
    left_out: dict[str, int] = field(default_factory=dict)  # reason → number of grades

    @property
    def reviewed(self) -> int:
        return self.judged

    @property
    def left_out_count(self) -> int:
        return sum(self.left_out.values())

    def as_dict(self) -> dict:
        return {
            "judged": self.judged,
            "reviewed": self.judged,
            "holistic": self.holistic,
            "overall": self.overall.as_dict(),
            "total": self.total.as_dict(),
            "criteria": [
                {
                    "criterion_id": item.criterion.pk,
                    "key": item.criterion.key,
                    "title": item.criterion.title,
                    "levels": item.level_labels,
                    "confusion": item.confusion,
                    **item.figures.as_dict(),
                }
                for item in self.criteria
            ],
            "left_out": self.left_out,
        }


@dataclass(frozen=True)
class JudgedGrade:
    """A person's final points beside the AI run they are compared with."""

    review: Review
    run: GradingRun


def _decided_reviews(reviews: QuerySet[Review]) -> QuerySet[Review]:
    """Reviews that are somebody's final word: approved or released, or an imported mark."""
    return reviews.filter(Q(approved_at__isnull=False) | Q(provenance=Provenance.IMPORTED))


def _split_by_provenance(reviews: QuerySet[Review], left_out: Counter) -> list[Review]:
    """The human judgments among `reviews`; the rest are counted in `left_out` by provenance."""
    judged = []
    for review in reviews:
        provenance = Provenance(review.provenance)
        if provenance in HUMAN_JUDGMENTS:
            judged.append(review)
        else:
            left_out[provenance.label] += 1
    return judged


def _reviews_with_runs(reviews: QuerySet[Review], left_out: Counter) -> list[JudgedGrade]:
    """Human-judged reviews paired with the succeeded AI run each was based on."""
    reviews = _decided_reviews(reviews).select_related("based_on_run__rubric_version")
    grades = []
    for review in _split_by_provenance(reviews.prefetch_related("criteria"), left_out):
        run = review.based_on_run
        if run is None or run.status != GradingRun.Status.SUCCEEDED:
            left_out[NO_AI_GRADE] += 1
        else:
            grades.append(JudgedGrade(review=review, run=run))
    return grades


def report_of(grades: list[JudgedGrade], *, left_out: Counter | None = None) -> AgreementReport:
    """Every figure over `grades`: per criterion (of every rubric version they use), over all
    criteria together, and on the totals."""
    versions = {grade.run.rubric_version_id for grade in grades}
    criteria = list(
        Criterion.objects.filter(rubric_version_id__in=versions)
        .prefetch_related("levels")
        .order_by("rubric_version_id", "order")
    )
    levels_of = {criterion.pk: list(criterion.levels.all()) for criterion in criteria}
    criteria_of: dict[int, list[int]] = {}
    for criterion in criteria:
        criteria_of.setdefault(criterion.rubric_version_id, []).append(criterion.pk)
    ai_results = {
        (result.run_id, result.criterion_id): result
        for result in CriterionResult.objects.filter(run__in=[grade.run.pk for grade in grades])
    }
    per_criterion: dict[int, list[RatingPair]] = {criterion.pk: [] for criterion in criteria}
    totals: list[RatingPair] = []
    judged = holistic = 0
    for grade in grades:
        human = {item.criterion_id: item.points for item in grade.review.criteria.all()}
        compared = False
        for criterion_id in criteria_of.get(grade.run.rubric_version_id, []):
            ai = ai_results.get((grade.run.pk, criterion_id))
            levels = levels_of[criterion_id]
            if ai is None or criterion_id not in human or not levels:
                continue
            per_criterion[criterion_id].append(level_pair(levels, ai, human[criterion_id]))
            compared = True
        if not compared:
            continue
        judged += 1
        holistic += grade.review.holistic
        human_total = sum(human.values())
        totals.append(_total_pair(grade.run.total or 0, human_total, grade.run.max_total))
    categories = max((len(levels) for levels in levels_of.values()), default=1)
    rows = []
    for criterion in criteria:
        labels = [level.label for level in levels_of[criterion.pk]]
        pairs = per_criterion[criterion.pk]
        if pairs:
            rows.append(
                CriterionAgreement(
                    criterion=criterion,
                    level_labels=labels,
                    figures=agreement_of(pairs, len(labels)),
                    confusion=confusion_matrix(pairs, len(labels)),
                )
            )
    return AgreementReport(
        judged=judged,
        holistic=holistic,
        criteria=rows,
        overall=agreement_of(
            [pair for pairs in per_criterion.values() for pair in pairs], categories
        ),
        total=agreement_of(totals, TOTAL_STEPS + 1),
        left_out=dict(left_out or {}),
    )


def level_pair(levels: list, ai: CriterionResult, human_points: int) -> RatingPair:
    """The AI's level (by its label, else its points) beside the level nearest the person's."""
    labels = [level.label for level in levels]
    level_points = [level.points for level in levels]
    ai_level = (
        labels.index(ai.level_label)
        if ai.level_label in labels
        else nearest_level(level_points, ai.points)
    )
    return RatingPair(
        ai_level=ai_level,
        human_level=nearest_level(level_points, human_points),
        ai_points=ai.points,
        human_points=human_points,
    )


def _total_pair(ai_total: int, human_total: int, max_total: int) -> RatingPair:
    """Totals as percent of the maximum, so assignments of different sizes pool."""
    scale = 100 / max_total if max_total else 0.0
    return RatingPair(
        ai_level=total_step(ai_total, max_total),
        human_level=total_step(human_total, max_total),
        ai_points=ai_total * scale,
        human_points=human_total * scale,
    )


def _real_assignments(reviews: QuerySet[Review]) -> QuerySet[Review]:
    """Calibration sets are measured by their evaluations, not pooled with students' grades."""
    return reviews.filter(submission__assignment__calibration_set__isnull=True)


def agreement_for_assignment(*, assignment: Assignment) -> AgreementReport:
    """Agreement on the assignment's current rubric version."""
    left_out: Counter = Counter()
    reviews = Review.objects.filter(submission__assignment=assignment)
    grades = [
        grade
        for grade in _reviews_with_runs(reviews, left_out)
        if grade.run.rubric_version_id == assignment.rubric_version_id
    ]
    return report_of(grades, left_out=left_out)


def agreement_for_course(*, course: Course) -> AgreementReport:
    left_out: Counter = Counter()
    reviews = _real_assignments(Review.objects.filter(submission__assignment__course=course))
    return report_of(_reviews_with_runs(reviews, left_out), left_out=left_out)


def agreement_for_rubric_version(
    *, rubric_version: RubricVersion, courses: QuerySet[Course]
) -> AgreementReport:
    """Over every assignment (of `courses`, those the reader may see) graded with the version."""
    left_out: Counter = Counter()
    reviews = _real_assignments(
        Review.objects.filter(
            submission__assignment__course__in=courses,
            based_on_run__rubric_version=rubric_version,
        )
    )
    return report_of(_reviews_with_runs(reviews, left_out), left_out=left_out)


def agreement_for_profile(*, profile: ModelProfile, courses: QuerySet[Course]) -> AgreementReport:
    """Over every grade (in `courses`) whose AI run used the profile."""
    left_out: Counter = Counter()
    reviews = _real_assignments(
        Review.objects.filter(
            submission__assignment__course__in=courses,
            based_on_run__model_snapshot__profile_id=profile.pk,
        )
    )
    return report_of(_reviews_with_runs(reviews, left_out), left_out=left_out)


def evaluation_grades(*, evaluation: Evaluation, left_out: Counter) -> list[JudgedGrade]:
    """The calibration set's human marks beside this evaluation's succeeded runs."""
    runs = {
        run.submission_id: run
        for run in evaluation.runs.filter(status=GradingRun.Status.SUCCEEDED).select_related(
            "rubric_version"
        )
    }
    reviews = _decided_reviews(
        Review.objects.filter(submission__assignment=evaluation.calibration_set.assignment)
    ).prefetch_related("criteria")
    grades = []
    for review in _split_by_provenance(reviews, left_out):
        run = runs.get(review.submission_id)
        if run is None:
            left_out[NO_AI_GRADE] += 1
        else:
            grades.append(JudgedGrade(review=review, run=run))
    return grades


def agreement_for_evaluation(*, evaluation: Evaluation) -> AgreementReport:
    left_out: Counter = Counter()
    return report_of(evaluation_grades(evaluation=evaluation, left_out=left_out), left_out=left_out)
