"""The dashboard and the review page make the same number of SQL queries for 3 submissions as
for 12: nothing is fetched once per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grading.models import Enrolment
from grading.services.courses import enrolment_set
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_save
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def add_graded_students(assignment, educator, make_user, make_submission, count, start):
    last = None
    for number in range(start, start + count):
        student = make_user(f"pupil{number}")
        enrolment_set(course=assignment.course, user=student, role=Enrolment.Role.STUDENT)
        submission = make_submission(assignment, student, f"Essay number {number}.")
        run = grading_run_request(submission=submission, requested_by=educator)
        grading_run_execute(run_id=run.pk)
        points = {r.criterion_id: r.points for r in run.results.all()}
        review_save(submission=submission, actor=educator, points=points, comments={}, comment="")
        last = submission
    return last


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_pages_make_a_constant_number_of_queries(assignment, educator, make_user, make_submission):
    client = client_for(educator)
    dashboard = reverse("assignment_detail", args=[assignment.pk])
    submission = add_graded_students(assignment, educator, make_user, make_submission, 3, 0)
    review = reverse("submission_review", args=[submission.pk])
    few = (queries_for(client, dashboard), queries_for(client, review))
    add_graded_students(assignment, educator, make_user, make_submission, 9, 3)
    many = (queries_for(client, dashboard), queries_for(client, review))
    assert many == few
