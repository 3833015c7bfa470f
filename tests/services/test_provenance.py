"""Every final grade records how its points came to be, by whichever path it was saved."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from grading.models import AuditEvent, Review
from grading.services.gradebook import gradebook_csv, gradebook_for_assignment
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import (
    review_approve,
    review_initial_points,
    review_save,
    reviews_release_bulk,
    submission_opened,
)
from grading.vocabulary import Provenance
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def graded(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    submission.refresh_from_db()
    return submission


def review_form(submission, points: dict[int, int], action: str) -> dict:
    data = {"action": action, "comment": ""}
    for criterion_id, value in points.items():
        data[f"points_{criterion_id}"] = value
        data[f"comment_{criterion_id}"] = ""
    return data


def test_changing_the_ai_points_on_the_review_page_is_an_edit(graded, educator):
    client = client_for(educator)
    url = reverse("submission_review", args=[graded.pk])
    client.get(url)
    points = review_initial_points(submission=graded)
    first = next(iter(points))
    points[first] = 0 if points[first] else 1
    assert client.post(url, review_form(graded, points, "approve")).status_code == 302
    assert Review.objects.get(submission=graded).provenance == Provenance.EDITED


def test_keeping_the_ai_points_after_opening_is_an_individual_approval(graded, educator):
    client = client_for(educator)
    url = reverse("submission_review", args=[graded.pk])
    client.get(url)
    points = review_initial_points(submission=graded)
    client.post(url, review_form(graded, points, "approve"))
    review = Review.objects.get(submission=graded)
    assert review.provenance == Provenance.APPROVED
    assert review.is_human_judgment
    # The page says so, and the audit history shows the opening and the provenance.
    page = client.get(url).content.decode()
    assert "How this grade came to be: <strong>Educator opened and approved</strong>" in page
    actions = list(AuditEvent.objects.filter(submission=graded).values_list("action", flat=True))
    assert actions.count("opened") == 1  # opened twice, recorded once
    assert "provenance" in actions


def test_keeping_the_ai_points_unopened_is_not_a_judgment(graded, educator):
    review = review_save(
        submission=graded,
        actor=educator,
        points=review_initial_points(submission=graded),
        comments={},
        comment="",
    )
    review_approve(review=review, actor=educator)
    assert review.provenance == Provenance.UNOPENED
    assert not review.is_human_judgment


def test_bulk_release_marks_unopened_grades_as_bulk_and_keeps_judged_ones(
    assignment, graded, educator, classmate, make_submission
):
    other = make_submission(assignment, classmate, "Another essay")
    grading_run_execute(run_id=grading_run_request(submission=other, requested_by=educator).pk)
    other.refresh_from_db()
    # The educator judged `graded` one by one before; `other` was never opened.
    submission_opened(submission=graded, actor=educator)
    judged = review_save(
        submission=graded,
        actor=educator,
        points=review_initial_points(submission=graded),
        comments={},
        comment="",
    )
    assert judged.provenance == Provenance.APPROVED
    released = reviews_release_bulk(
        assignment=assignment, submissions=[graded, other], actor=educator
    )
    assert released.released == 2
    assert Review.objects.get(submission=other).provenance == Provenance.BULK
    assert Review.objects.get(submission=graded).provenance == Provenance.APPROVED


def test_auto_release_is_marked_auto(assignment, submission, educator):
    assignment.review_required = False
    assignment.save()
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    review = Review.objects.get(submission=submission)
    assert review.released
    assert review.provenance == Provenance.AUTO
    assert not review.is_human_judgment


def test_the_csv_gradebook_and_the_api_carry_the_provenance(assignment, graded, educator):
    reviews_release_bulk(assignment=assignment, submissions=[graded], actor=educator)
    rows = list(
        csv.reader(
            io.StringIO(gradebook_csv(gradebook=gradebook_for_assignment(assignment=assignment)))
        )
    )
    column = rows[0].index("Grade provenance")
    assert rows[1][column] == "Released in bulk, unopened"
    body = client_for(educator).get(reverse("api_review", args=[graded.pk])).json()
    assert body["provenance"] == "bulk"
    assert body["provenance_label"] == "Released in bulk, unopened"
