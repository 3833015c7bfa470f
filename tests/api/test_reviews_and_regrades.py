"""Reviews (read, override, approve, release) and regrade requests over the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.models import AuditEvent, RegradeRequest
from tests.api.conftest import api_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def points_body(submission, change: int = 0) -> dict:
    results = list(submission.latest_run.results.order_by("criterion__order"))
    first = results[0]
    return {
        "criteria": [
            {
                "criterion_id": r.criterion_id,
                "points": (r.points + change) % (r.criterion.max_points + 1)
                if r is first
                else r.points,
                "comment": "Checked." if r is first else "",
            }
            for r in results
        ],
        "comment": "Good work overall.",
    }


def test_before_saving_an_educator_reads_the_ai_points_as_a_draft(graded, educator):
    review = api_for(educator).get(reverse("api_review", args=[graded.pk])).json()
    assert review["saved"] is False
    ai = {r.criterion_id: r.points for r in graded.latest_run.results.all()}
    assert {c["criterion_id"]: c["points"] for c in review["criteria"]} == ai
    assert review["reasoning_trace"]  # educators always see the model's reasoning


def test_override_approve_release_and_then_the_student_reads_it(graded, educator, student):
    client = api_for(educator)
    url = reverse("api_review", args=[graded.pk])
    saved = client.put(url, points_body(graded, change=1))
    assert saved.status_code == 200, saved.content
    assert saved.json()["saved"] is True
    assert AuditEvent.objects.filter(submission=graded, action="points").count() == 1
    assert api_for(student).get(url).status_code == 404  # not released yet
    approved = client.post(reverse("api_review_approve", args=[graded.pk])).json()
    assert approved["approved_by"] == "educator"
    released = client.post(reverse("api_review_release", args=[graded.pk])).json()
    assert released["released"] is True
    seen = api_for(student).get(url).json()
    assert seen["total"] == released["total"]
    assert seen["comment"] == "Good work overall."
    assert seen["reasoning_trace"] is None  # the assignment does not show the trace


def test_points_outside_the_criterion_are_refused(graded, educator):
    body = points_body(graded)
    body["criteria"][0]["points"] = 99
    response = api_for(educator).put(reverse("api_review", args=[graded.pk]), body)
    assert response.status_code == 400
    assert "outside" in response.json()["error"]["message"]


def test_releasing_needs_a_saved_review(graded, educator):
    response = api_for(educator).post(reverse("api_review_release", args=[graded.pk]))
    assert response.status_code == 400


def test_a_student_asks_for_a_regrade_and_the_educator_answers_with_new_points(
    released, educator, student
):
    criterion = released.latest_run.results.first().criterion
    asked = api_for(student).post(
        reverse("api_regrade_create", args=[released.pk]),
        {"reason": "My example terminates.", "criteria": [criterion.pk]},
    )
    assert asked.status_code == 201, asked.content
    regrade_id = asked.json()["id"]
    assert asked.json()["criteria"] == [criterion.pk]
    twice = api_for(student).post(
        reverse("api_regrade_create", args=[released.pk]), {"reason": "Again."}
    )
    assert twice.status_code == 400
    queue = api_for(educator).get(reverse("api_regrades"), {"status": "open"}).json()
    assert [r["id"] for r in queue["results"]] == [regrade_id]
    review = released.review
    item = review.criteria.get(criterion=criterion)
    new_points = 0 if item.points else 1
    answered = api_for(educator).post(
        reverse("api_regrade_answer", args=[regrade_id]),
        {"response": "Agreed.", "points": [{"criterion_id": criterion.pk, "points": new_points}]},
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == RegradeRequest.Status.ACCEPTED
    item.refresh_from_db()
    assert item.points == new_points
    mine = api_for(student).get(reverse("api_regrade", args=[regrade_id])).json()
    assert mine["response"] == "Agreed."


@pytest.mark.parametrize("criterion_id", [999999, 10**30])
def test_criteria_of_another_rubric_are_refused(released, student, criterion_id):
    # 10**30 would overflow the database's integer on the way to the lookup: refused before.
    response = api_for(student).post(
        reverse("api_regrade_create", args=[released.pk]),
        {"reason": "Look.", "criteria": [criterion_id]},
    )
    assert response.status_code == 400
    assert "criteria" in "".join(response.json()["error"]["fields"])
