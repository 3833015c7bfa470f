"""The answer's text bounds follow the profile's answer budget: a long rubric is answerable, the
run records what it used, and a budget too small for any answer fails clearly."""

import pytest
from django.urls import reverse

from grading.llm.schema import DEFAULT_LIMITS
from grading.models import GradingRun, ModelProfile
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

DEFAULT_ANSWER_TOKENS = 1536


@pytest.fixture
def eight_criteria(assignment, educator):
    assignment.rubric_version = rubric_create(
        name="Eight criteria",
        criteria=[
            CriterionInput(
                title=f"Criterion {number}",
                max_points=4,
                levels=[
                    LevelInput("Excellent", 4),
                    LevelInput("Adequate", 2),
                    LevelInput("Missing", 0),
                ],
            )
            for number in range(1, 9)
        ],
        created_by=educator,
    )
    assignment.save()
    return assignment


def grade(submission, educator) -> GradingRun:
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_an_eight_criterion_rubric_is_graded_within_the_default_budget(
    eight_criteria, submission, educator
):
    run = grade(submission, educator)

    assert run.status == GradingRun.Status.SUCCEEDED, run.error
    assert run.results.count() == 8
    used = run.model_snapshot["used"]
    assert used["max_answer_tokens"] == DEFAULT_ANSWER_TOKENS
    assert used["answer_token_bound"] <= DEFAULT_ANSWER_TOKENS
    # The product's text bounds did not fit, so they shrank, and the run says how far.
    limits = used["answer_limits"]
    assert limits["justification_max_chars"] < DEFAULT_LIMITS.justification_max_chars
    assert all(len(r.justification) <= limits["justification_max_chars"] for r in run.results.all())

    page = client_for(educator).get(reverse("submission_review", args=[submission.pk]))
    shown = (
        f"answer budget 1,536 tokens: justifications up to {limits['justification_max_chars']} "
        f"characters, quotes {limits['evidence_max_chars']}, "
        f"feedback {limits['feedback_max_chars']}"
    )
    assert shown in page.content.decode()


def test_a_budget_too_small_for_any_answer_fails_the_run_once_and_says_what_to_raise(
    eight_criteria, submission, educator
):
    eight_criteria.model_profile = ModelProfile.objects.create(
        name="tight", backend="scripted", model="scripted", max_answer_tokens=200
    )
    eight_criteria.save()

    run = grade(submission, educator)

    assert run.status == GradingRun.Status.FAILED
    assert "budget of 200 is too small for this rubric" in run.error
    assert "Raise the profile's maximum answer tokens" in run.error
    assert run.attempts <= 1  # permanent: not queued again
