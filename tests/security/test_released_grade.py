"""A student sees the grade as it was released, and nothing else, until the next release.

The hole: after a released grade, the educator switched the assignment to another rubric
version and graded again; the student's review then showed the new version's criteria with the
new, unreleased AI points. Every page and answer that shows a student their grade is checked.
"""

import re

import pytest
from django.urls import reverse

from grading.models import GradingRun
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_release, review_save
from grading.services.rubric_tuning import assignment_rubric_switch
from grading.services.rubrics import CriterionInput, LevelInput, rubric_version_create
from tests.api.conftest import api_for
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def graded(submission, educator) -> GradingRun:
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == GradingRun.Status.SUCCEEDED
    return run


def saved(submission, educator, points_of) -> None:
    submission.refresh_from_db()
    criteria = submission.latest_run.rubric_version.criteria.all()
    review_save(
        submission=submission,
        actor=educator,
        points={c.pk: points_of(c) for c in criteria},
        comments={c.pk: f"note on {c.title}" for c in criteria},
        comment="Released comment.",
    )


def released(submission, educator, points_of) -> None:
    saved(submission, educator, points_of)
    submission.refresh_from_db()
    review_release(review=submission.review, actor=educator)


def what_the_student_sees(submission, student) -> dict:
    web = client_for(student)
    feedback = web.get(reverse("my_feedback", args=[submission.pk]))
    assert feedback.status_code == 200
    listing = web.get(reverse("my_submissions")).content.decode()
    api = api_for(student).get(reverse("api_review", args=[submission.pk]))
    assert api.status_code == 200
    page = feedback.content.decode()
    return {
        "api": api.json(),
        "feedback_total": re.search(r"Total: <strong>([^<]*)</strong>", page).group(1),
        # The whole grade as the page shows it: totals, points, comments, AI text.
        "feedback_page": page[page.index("<h1>") : page.index("<h2>Regrade</h2>")],
        "listing": re.search(r">([^<]*) — read feedback<", listing).group(1),
        "export": api_for(student).get(reverse("api_submission", args=[submission.pk])).json(),
    }


@pytest.fixture
def version_2(rubric_version, educator):
    # Other criteria and points than version 1: nothing of version 1 carries over.
    return rubric_version_create(
        rubric=rubric_version.rubric,
        created_by=educator,
        criteria=[
            CriterionInput(
                title="Depth",
                max_points=10,
                levels=[LevelInput("Deep", 10), LevelInput("Shallow", 3)],
            )
        ],
    )


def test_a_rubric_switch_and_regrade_do_not_change_the_released_grade(
    assignment, submission, educator, student, version_2
):
    graded(submission, educator)
    released(submission, educator, lambda criterion: 1)
    before = what_the_student_sees(submission, student)
    assert before["api"]["total"] == 2 and before["feedback_total"].startswith("2")

    assignment_rubric_switch(
        assignment=assignment, rubric_version=version_2, actor=educator, regrade=True
    )
    submission.refresh_from_db()
    grading_run_execute(run_id=submission.latest_run_id)
    assert what_the_student_sees(submission, student) == before

    # Saved but not released: still the released grade.
    saved(submission, educator, lambda criterion: 7)
    assert what_the_student_sees(submission, student) == before

    # Released again: now the new grade, in full.
    submission.refresh_from_db()
    review_release(review=submission.review, actor=educator)
    after = what_the_student_sees(submission, student)
    assert after["api"]["total"] == 7 and after["api"]["max_total"] == 10
    assert [row["title"] for row in after["api"]["criteria"]] == ["Depth"]
    assert after["feedback_total"].startswith("7 / 10") and after["listing"] == "7"


def test_editing_a_released_grade_waits_for_the_next_release(
    assignment, submission, educator, student
):
    graded(submission, educator)
    released(submission, educator, lambda criterion: 0)
    before = what_the_student_sees(submission, student)
    review_page = reverse("submission_review", args=[submission.pk])
    assert "Changed since release" not in client_for(educator).get(review_page).content.decode()
    saved(submission, educator, lambda criterion: criterion.max_points)
    assert what_the_student_sees(submission, student) == before
    # The educator is told that the student still sees the released grade.
    assert "Changed since release" in client_for(educator).get(review_page).content.decode()
