"""The dashboard and the review page make the same number of SQL queries for 3 submissions as
for 40: nothing is fetched once per row, and the dashboard's later pages cost what its first
does."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grading.models import Enrolment, Submission
from grading.services.courses import enrolment_set
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_approve, review_release, review_save
from grading.views import educator as educator_views
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

# Small pages, so that 40 submissions make four of them.
PAGE_SIZE = 10


@pytest.fixture(autouse=True)
def _small_dashboard_pages(monkeypatch) -> None:
    monkeypatch.setattr(educator_views, "DASHBOARD_PAGE_SIZE", PAGE_SIZE)


def add_graded_students(assignment, educator, make_user, make_submission, count, start):
    """`count` students graded by the AI; every third flagged, every other one reviewed, every
    fourth released. Surnames repeat, so sorting needs its tie-breakers."""
    for number in range(start, start + count):
        student = make_user(f"pupil{number:03d}", last_name=f"Pupil{number % 7}")
        enrolment_set(course=assignment.course, user=student, role=Enrolment.Role.STUDENT)
        submission = make_submission(assignment, student, f"Essay number {number}.")
        if number % 3 == 0:
            Submission.objects.filter(pk=submission.pk).update(flags={"hidden_text": ["psst"]})
        run = grading_run_request(submission=submission, requested_by=educator)
        grading_run_execute(run_id=run.pk)
        if number % 2:
            continue
        points = {r.criterion_id: r.points for r in run.results.all()}
        review = review_save(
            submission=submission, actor=educator, points=points, comments={}, comment=""
        )
        if number % 4 == 0:
            review_approve(review=review, actor=educator)
            review_release(review=review, actor=educator)


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def page_costs(client, assignment) -> dict[str, int]:
    """Queries per page: the dashboard's first and last pages, sorted and filtered, and the
    review pages of a released, an unreviewed and a reviewed submission (the first student
    in the dashboard's order, and two whose neighbours change as the class grows)."""
    dashboard = reverse("assignment_detail", args=[assignment.pk])
    urls = {
        "dashboard": dashboard,
        "dashboard last page": f"{dashboard}?page=99",
        "dashboard by final total": f"{dashboard}?sort=final_total&order=desc&page=2",
        "dashboard graded, flagged": f"{dashboard}?status=succeeded&flagged=1",
    }
    for username in ("pupil000", "pupil001", "pupil002"):
        submission = Submission.objects.get(assignment=assignment, student__username=username)
        urls[f"review {username}"] = reverse("submission_review", args=[submission.pk])
    return {name: queries_for(client, url) for name, url in urls.items()}


def test_pages_make_a_constant_number_of_queries(assignment, educator, make_user, make_submission):
    client = client_for(educator)
    add_graded_students(assignment, educator, make_user, make_submission, 3, 0)
    few = page_costs(client, assignment)
    add_graded_students(assignment, educator, make_user, make_submission, 37, 3)
    many = page_costs(client, assignment)
    assert many == few
