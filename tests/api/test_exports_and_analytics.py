"""Gradebook export (JSON and CSV, safe to open in a spreadsheet) and AI-vs-educator agreement."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from grading.services.agreement import RatingPair, agreement_of, quadratic_weighted_kappa
from grading.services.gradebook import csv_safe
from grading.services.reviews import review_approve, review_save
from tests.api.conftest import api_for, save_review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def test_the_json_gradebook_has_one_row_per_student_with_final_points(
    released, educator, assignment
):
    body = api_for(educator).get(reverse("api_gradebook", args=[assignment.pk])).json()
    assert [c["key"] for c in body["criteria"]] == ["C1", "C2"]
    (row,) = body["rows"]
    assert row["student"]["username"] == "student"
    review = released.review
    assert row["criteria"] == {item.criterion.key: item.points for item in review.criteria.all()}
    assert row["final_total"] == review.total
    assert row["released"] is True


def test_the_csv_gradebook_neutralises_formulas(graded, educator, assignment, student):
    student.first_name = '=HYPERLINK("http://evil")'
    student.save()
    response = api_for(educator).get(reverse("api_gradebook_csv", args=[assignment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Username", "Name", "Email"]
    # A spreadsheet must show the name as text, never run it.
    assert rows[1][1].startswith("'=HYPERLINK")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("ok", "ok")],
)
def test_csv_cells_that_start_like_formulas_get_a_quote(cell, expected):
    assert csv_safe(cell) == expected


def test_quadratic_weighted_kappa_matches_known_values():
    # Values computed with scikit-learn's cohen_kappa_score(weights="quadratic").
    first = [0, 1, 2, 2, 3, 4, 1, 0, 2, 3]
    second = [0, 2, 2, 1, 3, 3, 1, 1, 2, 4]
    assert quadratic_weighted_kappa(first, second, 5) == pytest.approx(0.8251748251748252)
    assert quadratic_weighted_kappa([0, 0, 1, 1, 2, 2], [2, 2, 1, 1, 0, 0], 3) == pytest.approx(-1)
    assert quadratic_weighted_kappa([0, 1, 2], [0, 1, 2], 3) == pytest.approx(1)


def test_agreement_figures_from_level_pairs():
    pairs = [RatingPair(0, 0, 4, 4), RatingPair(0, 1, 4, 2), RatingPair(2, 0, 0, 4)]
    figures = agreement_of(pairs, categories=3)
    assert figures.count == 3
    assert figures.exact == pytest.approx(1 / 3)
    assert figures.within_one_level == pytest.approx(2 / 3)
    assert figures.mean_absolute_difference == pytest.approx((0 + 2 + 4) / 3)
    assert figures.mean_signed_difference == pytest.approx((0 + 2 - 4) / 3)
    # Three pairs are too few for a kappa worth reading: none is given, and the API says why.
    assert figures.quadratic_weighted_kappa is None
    assert "Not enough data" in figures.warning


def test_analytics_compare_human_judged_reviews_with_the_ai(graded, educator, assignment):
    client = api_for(educator)
    url = reverse("api_analytics", args=[assignment.pk])
    assert client.get(url).json()["judged"] == 0  # nothing approved yet
    review = save_review(graded, educator)  # the AI's points kept, the text never read
    review_approve(review=review, actor=educator)
    body = client.get(url).json()
    assert body["judged"] == 0
    assert body["left_out"] == {"Approved without opening": 1}
    # Reading the submission through the API is opening it: keeping the AI's points is then
    # the educator's judgment.
    client.get(reverse("api_submission", args=[graded.pk]))
    save_review(graded, educator)
    body = client.get(url).json()
    assert body["judged"] == body["reviewed"] == 1
    assert body["left_out"] == {}
    assert body["overall"]["exact"] == 1.0
    assert body["overall"]["mean_absolute_difference"] == 0.0
    assert body["overall"]["quadratic_weighted_kappa"] is None  # two pairs: not enough data
    assert [c["key"] for c in body["criteria"]] == ["C1", "C2"]
    # Changing one criterion by a whole level shows up in that criterion's figures.
    criterion = assignment.rubric_version.criteria.get(order=1)
    points = {item.criterion_id: item.points for item in review.criteria.all()}
    points[criterion.pk] = 0 if points[criterion.pk] == 4 else 4
    review_save(submission=graded, actor=educator, points=points, comments={}, comment="")
    first = client.get(url).json()["criteria"][0]
    assert first["exact"] == 0.0
    assert first["mean_absolute_difference"] > 0
    assert sum(map(sum, first["confusion"])) == 1
