"""Other rubric versions for an assignment: trial runs, switching, comparing, tuning; CSV."""

import csv
import io

import pytest

from grading.errors import ApplicationError
from grading.models import CriterionResult, GradingRun
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_approve, review_save, submission_opened
from grading.services.rubric_library import (
    CSV_COLUMNS,
    rubric_csv_criteria,
    rubric_export_csv,
    rubric_import_csv,
)
from grading.services.rubric_tuning import (
    assignment_rubric_switch,
    rubric_compare,
    trial_runs_request,
    tuning_agreement,
)
from grading.services.rubrics import (
    CriterionInput,
    LevelInput,
    rubric_create,
    rubric_version_create,
)
from tests.conftest import two_criteria

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def version_2(rubric_version, educator):
    return rubric_version_create(
        rubric=rubric_version.rubric, criteria=two_criteria(), created_by=educator
    )


def graded(submission, educator, **kwargs) -> GradingRun:
    run = grading_run_request(submission=submission, requested_by=educator, **kwargs)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.SUCCEEDED
    return run


def approved_with_ai_points(submission, educator):
    """The educator opens the submission, keeps the AI's points and approves them."""
    submission.refresh_from_db()
    submission_opened(submission=submission, actor=educator)
    points = {r.criterion_id: r.points for r in submission.latest_run.results.all()}
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment=""
    )
    return review_approve(review=review, actor=educator)


def test_a_trial_run_carries_the_candidate_and_leaves_the_grade_alone(
    assignment, submission, educator, version_2
):
    current = graded(submission, educator)
    approved_with_ai_points(submission, educator)
    assert trial_runs_request(assignment=assignment, rubric_version=version_2, actor=educator) == 1
    trial = submission.runs.exclude(pk=current.pk).get()
    assert trial.rubric_version == version_2
    grading_run_execute(run_id=trial.pk)
    submission.refresh_from_db()
    assignment.refresh_from_db()
    assert submission.latest_run_id == current.pk
    assert assignment.rubric_version_id == current.rubric_version_id


def test_a_trial_needs_another_version_of_the_same_rubric(assignment, educator, rubric_version):
    with pytest.raises(ApplicationError, match="other than"):
        trial_runs_request(assignment=assignment, rubric_version=rubric_version, actor=educator)
    other = rubric_create(name="Other", criteria=two_criteria(), created_by=educator)
    with pytest.raises(ApplicationError, match="own rubric"):
        trial_runs_request(assignment=assignment, rubric_version=other, actor=educator)


def test_switching_regrades_newest_attempts_and_keeps_old_runs(
    assignment, submission, educator, version_2, make_submission, student
):
    old = graded(submission, educator)
    newer = make_submission(assignment, student, text="Second try with a base case.")
    newer.attempt = 2
    newer.save()
    queued = assignment_rubric_switch(
        assignment=assignment, rubric_version=version_2, actor=educator, regrade=True
    )
    assert queued == 1
    assignment.refresh_from_db()
    assert assignment.rubric_version == version_2
    assert newer.runs.get().rubric_version == version_2
    assert GradingRun.objects.filter(pk=old.pk, rubric_version=old.rubric_version).exists()
    change = assignment.changes.get()  # the switch is in the assignment's audit
    assert (change.field, change.new_value, change.actor) == (
        "rubric_version",
        str(version_2),
        educator,
    )


def test_compare_shows_each_version_side_by_side(
    assignment, submission, educator, rubric_version, version_2
):
    old = graded(submission, educator)
    new = graded(submission, educator, rubric_version=version_2)
    CriterionResult.objects.filter(run=new, criterion__order=2).update(points=1)
    result = rubric_compare(
        assignment=assignment, old_version=rubric_version, new_version=version_2
    )
    assert result["orders"] == [1, 2]
    (row,) = result["rows"]
    old_points = {r.criterion.order: r.points for r in old.results.all()}
    assert row.old_total == old.total and row.new_total == new.total
    assert row.points[0] == (old_points[1], new.results.get(criterion__order=1).points)
    assert row.points[1] == (old_points[2], 1)


def test_tuning_shows_agreement_before_and_after(assignment, submission, educator, version_2):
    graded(submission, educator)
    approved_with_ai_points(submission, educator)
    trial = graded(submission, educator, rubric_version=version_2)
    # The candidate puts criterion 1 two levels off the educator's points.
    educator_points = submission.review.criteria.get(criterion__order=1).points
    wrong = 0 if educator_points == 4 else 4
    label = {4: "Excellent", 0: "Wrong"}[wrong]
    CriterionResult.objects.filter(run=trial, criterion__order=1).update(
        points=wrong, level_label=label
    )
    result = tuning_agreement(assignment=assignment, candidate=version_2)
    assert result["reviewed"] == 1
    (order_1, before, after), (order_2, before_2, after_2) = result["rows"]
    assert (order_1, order_2) == (1, 2)
    assert before[1].exact == 1.0 and before[1].count == 1
    assert after[1].exact == 0.0 and after[1].within_one_level == 0.0
    assert after[1].mean_absolute_difference == abs(educator_points - wrong)
    assert before_2[1].count == after_2[1].count == 1


def test_tuning_without_trial_runs_has_no_pairs_after(assignment, submission, educator, version_2):
    graded(submission, educator)
    approved_with_ai_points(submission, educator)
    rows = tuning_agreement(assignment=assignment, candidate=version_2)["rows"]
    assert all(after[1].count == 0 and after[1].exact is None for _, _, after in rows)


def test_csv_round_trip_keeps_criteria_levels_and_order(rubric_version, educator):
    text = rubric_export_csv(rubric_version=rubric_version)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    copy = rubric_import_csv(csv_text=text, name="Copy", created_by=educator)
    assert [
        (
            c.title,
            c.description,
            c.max_points,
            [(lv.label, lv.points, lv.descriptor) for lv in c.levels.all()],
        )
        for c in copy.criteria.order_by("order")
    ] == [
        (
            "Correctness",
            "Is the answer right?",
            4,
            [
                ("Excellent", 4, "Fully correct."),
                ("Partial", 2, "Partly correct."),
                ("Wrong", 0, "Incorrect."),
            ],
        ),
        ("Clarity", "", 2, [("Clear", 2, ""), ("Unclear", 0, "")]),
    ]


def test_csv_quotes_commas_and_newlines(educator):
    version = rubric_create(
        name="Quoted",
        criteria=[
            CriterionInput(
                title='Style, "tone"',
                max_points=1,
                levels=[LevelInput("Yes", 1, "Line one\nline two, comma"), LevelInput("No", 0)],
            )
        ],
        created_by=educator,
    )
    (criterion,) = rubric_csv_criteria(csv_text=rubric_export_csv(rubric_version=version))
    assert criterion.title == 'Style, "tone"'
    assert criterion.levels[0].descriptor == "Line one\nline two, comma"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("criterion,points\n", "lacks the columns"),
        (",".join(CSV_COLUMNS) + "\n,d,2,Top,2,\n", "criterion is missing"),
        (",".join(CSV_COLUMNS) + "\nA,d,2,Top,two,\n", "Line 2: points must be a whole number"),
        (",".join(CSV_COLUMNS) + "\nA,d,2,Top,2,\n", "between 2 and"),
        (",".join(CSV_COLUMNS) + "\nA,d,-1,Top,2,\nA,d,,Low,0,\n", "between 0 and"),
    ],
)
def test_bad_csv_is_refused_with_a_reason(text, message):
    with pytest.raises(ApplicationError, match=message):
        criteria = rubric_csv_criteria(csv_text=text)
        rubric_create(name="X", criteria=criteria, created_by=None)


def test_csv_export_escapes_formula_cells_and_imports_them_back_unchanged(educator):
    # A title or descriptor that a spreadsheet would run as a formula must arrive as text.
    version = rubric_create(
        name="Formulas",
        criteria=[
            CriterionInput(
                title='=HYPERLINK("http://evil","x")',
                description="+1+1",
                max_points=1,
                levels=[LevelInput("@SUM(A1)", 1, "-2+3"), LevelInput("No", 0)],
            )
        ],
        created_by=educator,
    )
    text = rubric_export_csv(rubric_version=version)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert rows[0][0] == '\'=HYPERLINK("http://evil","x")'
    (criterion,) = rubric_csv_criteria(csv_text=text)
    assert criterion.title == '=HYPERLINK("http://evil","x")'
    assert criterion.description == "+1+1"
    assert (criterion.levels[0].label, criterion.levels[0].descriptor) == ("@SUM(A1)", "-2+3")
