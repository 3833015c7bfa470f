"""Agreement figures: against hand computations, pooled over a course, a rubric version and a
model profile, and honest when there is too little data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from grading.models import Enrolment, ModelProfile
from grading.services.agreement import (
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    MIN_PAIRS_FOR_KAPPA,
    RatingPair,
    agreement_of,
    confusion_matrix,
    kappa_interval,
    kappas_of_resamples,
    total_step,
)
from grading.services.analytics import (
    agreement_for_assignment,
    agreement_for_course,
    agreement_for_profile,
    agreement_for_rubric_version,
)
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_approve, review_save, submission_opened

AI = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 0, 2]
HUMAN = [0, 1, 1, 2, 2, 0, 1, 2, 1, 0, 0, 2]


def test_vectorised_kappa_is_scikit_learns_on_every_resample():
    rng = np.random.default_rng(7)
    samples = rng.integers(0, len(AI), size=(50, len(AI)))
    fast = kappas_of_resamples(np.array(AI), np.array(HUMAN), 3, samples)
    for row, kappa in zip(samples, fast, strict=True):
        first, second = [AI[i] for i in row], [HUMAN[i] for i in row]
        expected = cohen_kappa_score(first, second, weights="quadratic", labels=[0, 1, 2])
        if np.isnan(expected):  # a resample without variation: perfect if they agree there
            expected = 1.0 if first == second else 0.0
        assert kappa == pytest.approx(expected)


def test_the_bootstrap_interval_matches_a_hand_computation():
    """Resample pairs with the same generator, one scikit-learn kappa each, take percentiles."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples = rng.integers(0, len(AI), size=(BOOTSTRAP_SAMPLES, len(AI)))
    by_hand = []
    for row in samples[:400]:
        first, second = [AI[i] for i in row], [HUMAN[i] for i in row]
        kappa = cohen_kappa_score(first, second, weights="quadratic", labels=[0, 1, 2])
        by_hand.append(kappa if not np.isnan(kappa) else float(first == second))
    fast = kappas_of_resamples(np.array(AI), np.array(HUMAN), 3, samples)
    assert fast[:400] == pytest.approx(by_hand)
    low, high = kappa_interval(AI, HUMAN, 3)
    assert (low, high) == pytest.approx(tuple(np.percentile(fast, [2.5, 97.5])))
    point = cohen_kappa_score(AI, HUMAN, weights="quadratic")
    assert low < point < high
    # More of the same evidence narrows the interval.
    wide = high - low
    low_more, high_more = kappa_interval(AI * 8, HUMAN * 8, 3)
    assert high_more - low_more < wide


def test_every_figure_from_pairs_against_a_hand_computation():
    points = [4, 2, 0]
    pairs = [RatingPair(a, h, points[a], points[h]) for a, h in zip(AI, HUMAN, strict=True)]
    figures = agreement_of(pairs, 3)
    gaps = [points[a] - points[h] for a, h in zip(AI, HUMAN, strict=True)]
    assert figures.count == 12
    assert figures.exact == pytest.approx(8 / 12)
    assert figures.within_one_level == pytest.approx(12 / 12)
    assert figures.mean_absolute_difference == pytest.approx(sum(map(abs, gaps)) / 12)
    assert figures.mean_signed_difference == pytest.approx(sum(gaps) / 12)
    assert figures.quadratic_weighted_kappa == pytest.approx(
        cohen_kappa_score(AI, HUMAN, weights="quadratic")
    )
    assert figures.kappa_interval == pytest.approx(kappa_interval(AI, HUMAN, 3))
    assert "rough figure" in figures.warning  # 12 pairs: shown, with a warning
    matrix = confusion_matrix(pairs, 3)
    assert sum(map(sum, matrix)) == 12
    assert [matrix[i][i] for i in range(3)] == [3, 2, 3]
    assert matrix[1][0] == 1  # the AI said level 1 where the person said level 0, once


def test_one_pair_is_not_enough_data_not_a_kappa_of_zero():
    figures = agreement_of([RatingPair(0, 1, 4, 2)], 3)
    assert figures.quadratic_weighted_kappa is None
    assert figures.kappa_interval is None
    assert figures.warning.startswith("Not enough data: 1 pair(s)")
    few = agreement_of([RatingPair(0, 0, 4, 4)] * (MIN_PAIRS_FOR_KAPPA - 1), 3)
    assert few.quadratic_weighted_kappa is None
    enough = agreement_of([RatingPair(0, 0, 4, 4)] * MIN_PAIRS_FOR_KAPPA, 3)
    assert enough.quadratic_weighted_kappa == 1.0


def test_totals_compare_as_tenths_of_the_maximum_best_first():
    assert total_step(10, 10) == 0
    assert total_step(0, 10) == 10
    assert total_step(5, 6) == 2  # 83% rounds to 80%
    assert total_step(7, 0) == 0


# Pooled figures, through the database: the scripted backend grades, the educator judges.


def judge(submission, educator, *, human: dict[int, int] | None = None) -> dict[int, int]:
    """Open, set points (the AI's unless `human` says otherwise by criterion order), approve."""
    submission.refresh_from_db()
    run = submission.latest_run
    ai = {result.criterion_id: result.points for result in run.results.all()}
    orders = {result.criterion_id: result.criterion.order for result in run.results.all()}
    points = {pk: (human or {}).get(orders[pk], value) for pk, value in ai.items()}
    submission_opened(submission=submission, actor=educator)
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment=""
    )
    review_approve(review=review, actor=educator)
    return ai


def graded_students(assignment, educator, make_user, make_submission, count: int, prefix: str):
    submissions = []
    for number in range(count):
        user = make_user(f"{prefix}{number}")
        enrolment_set(course=assignment.course, user=user, role=Enrolment.Role.STUDENT)
        submission = make_submission(assignment, user, f"Essay {prefix} {number} " * (number + 1))
        grading_run_execute(
            run_id=grading_run_request(submission=submission, requested_by=educator).pk
        )
        submissions.append(submission)
    return submissions


@pytest.mark.django_db
@pytest.mark.usefixtures("scripted_model")
def test_pooled_figures_over_a_course_a_rubric_version_and_a_profile(
    assignment, rubric_version, educator, outsider_educator, make_user, make_submission
):
    course = assignment.course
    second = assignment_create(
        course=course, title="Second", task="Explain loops.", rubric_version=rubric_version
    )
    first_class = graded_students(assignment, educator, make_user, make_submission, 3, "a")
    second_class = graded_students(second, educator, make_user, make_submission, 3, "b")
    # The educator agrees with the AI on C2 everywhere and gives 0 on C1 in the second class.
    for submission in first_class:
        judge(submission, educator)
    for submission in second_class:
        judge(submission, educator, human={1: 0})

    pooled = agreement_for_course(course=course)
    assert pooled.judged == 6
    per_assignment = [agreement_for_assignment(assignment=a) for a in (assignment, second)]
    assert [report.judged for report in per_assignment] == [3, 3]
    c1 = next(row for row in pooled.criteria if row.criterion.order == 1)
    assert c1.figures.count == 6
    # The three edited C1 pairs differ only where the AI did not give 0 itself.
    for submission in second_class:
        submission.refresh_from_db()
    second_ai_c1 = [s.latest_run.results.get(criterion__order=1).points for s in second_class]
    assert c1.figures.mean_signed_difference == pytest.approx(sum(second_ai_c1) / 6)
    assert c1.figures.quadratic_weighted_kappa is not None  # six pairs: enough
    # Over the rubric version: the same six, as both assignments use it.
    assert (
        agreement_for_rubric_version(
            rubric_version=rubric_version, courses=type(course).objects.filter(pk=course.pk)
        ).judged
        == 6
    )
    # Another educator's courses hold none of these grades.
    others = type(course).objects.filter(enrolments__user=outsider_educator)
    assert agreement_for_rubric_version(rubric_version=rubric_version, courses=others).judged == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("scripted_model")
def test_pooled_over_a_model_profile_counts_only_its_runs(
    assignment, educator, make_user, make_submission
):
    profile = ModelProfile.objects.create(name="Scripted A", backend="scripted", model="scripted")
    other = ModelProfile.objects.create(name="Scripted B", backend="scripted", model="scripted")
    assignment.model_profile = profile
    assignment.save()
    for submission in graded_students(assignment, educator, make_user, make_submission, 2, "p"):
        judge(submission, educator)
    courses = type(assignment.course).objects.all()
    assert agreement_for_profile(profile=profile, courses=courses).judged == 2
    assert agreement_for_profile(profile=other, courses=courses).judged == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("scripted_model")
def test_course_figures_leave_out_unjudged_grades_and_say_why(
    assignment, educator, make_user, make_submission
):
    judged, unopened = graded_students(assignment, educator, make_user, make_submission, 2, "u")
    judge(judged, educator)
    unopened.refresh_from_db()
    points = {r.criterion_id: r.points for r in unopened.latest_run.results.all()}
    review = review_save(
        submission=unopened, actor=educator, points=points, comments={}, comment=""
    )
    review_approve(review=review, actor=educator)
    report = agreement_for_course(course=assignment.course)
    assert report.judged == 1
    assert report.left_out == {"Approved without opening": 1}
    assert report.overall.warning.startswith("Not enough data")


@pytest.mark.django_db
def test_a_course_without_grades_has_no_figures(educator):
    course = course_create(code="EMPTY1", title="Empty", created_by=educator)
    report = agreement_for_course(course=course)
    assert report.judged == 0 and report.criteria == []
    assert report.total.quadratic_weighted_kappa is None
