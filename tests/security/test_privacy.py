"""An admin exports one student's data, or erases it with the stored files."""

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from grading.models import AuditEvent, GradingRun, Submission
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.regrades import regrade_request_create
from grading.services.reviews import review_release, review_save
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("scripted_model")]

USERS_CHANGELIST = "admin:auth_user_changelist"


@pytest.fixture
def graded(submission, educator, student):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    points = {r.criterion_id: r.points for r in run.results.all()}
    submission.refresh_from_db()
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment="Good"
    )
    review_release(review=review, actor=educator)
    regrade_request_create(submission=submission, student=student, reason="Please look again")
    return submission


def test_an_admin_exports_everything_about_one_student(graded, admin_user, student):
    response = client_for(admin_user).post(
        reverse(USERS_CHANGELIST),
        {"action": "export_user_data", "_selected_action": [student.pk]},
    )
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["user"]["username"] == "student"
    assert data["submissions"][0]["text"] == graded.text
    assert data["submissions"][0]["ai_runs"][0]["status"] == "succeeded"
    assert data["submissions"][0]["review"]["comment"] == "Good"
    assert data["regrade_requests"][0]["reason"] == "Please look again"


def test_an_admin_erases_a_student_with_their_files(graded, admin_user, student, classmate):
    stored = graded.original_file.path
    client_for(admin_user).post(
        reverse(USERS_CHANGELIST),
        {"action": "erase_user_data", "_selected_action": [student.pk]},
    )
    assert not get_user_model().objects.filter(pk=student.pk).exists()
    assert not Submission.objects.filter(pk=graded.pk).exists()
    assert not GradingRun.objects.filter(submission_id=graded.pk).exists()
    assert not AuditEvent.objects.filter(submission_id=graded.pk).exists()
    assert not Path(stored).exists()
    assert get_user_model().objects.filter(pk=classmate.pk).exists()


def test_only_admins_reach_the_user_admin(educator, student):
    for user in (educator, student):
        assert client_for(user).get(reverse(USERS_CHANGELIST)).status_code == 302
