"""Students: their dashboard, self-upload, released feedback and regrade requests."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from grading.models import AuditEvent, RegradeRequest, Submission, UploadBatch
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_release, review_save
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def released(submission, educator, student, light_tasks):
    student.email = "student@example.edu"
    student.save()
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    criteria = list(submission.assignment.rubric_version.criteria.all())
    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: 1 for c in criteria},
        comments={},
        comment="See me.",
    )
    with light_tasks():  # emails go from the light worker, after commit
        review_release(review=review, actor=educator)
    submission.refresh_from_db()
    return submission


def test_the_dashboard_shows_status_but_never_an_unreleased_grade(submission, educator, student):
    run = grading_run_request(submission=submission, requested_by=educator)
    page = client_for(student).get(reverse("my_submissions")).content.decode()
    assert "Being graded" in page
    grading_run_execute(run_id=run.pk)
    page = client_for(student).get(reverse("my_submissions")).content.decode()
    assert "Awaiting review" in page
    run.refresh_from_db()
    assert f"{run.total} — read feedback" not in page


def test_releasing_emails_the_student_and_shows_the_grade(released, student):
    assert len(mail.outbox) == 1
    assert "student@example.edu" in mail.outbox[0].to
    assert reverse("my_feedback", args=[released.pk]) in mail.outbox[0].body
    page = client_for(student).get(reverse("my_submissions")).content.decode()
    assert "Released" in page and "read feedback" in page


def test_students_upload_only_where_allowed_and_before_the_due_date(
    assignment, student, light_tasks
):
    client = client_for(student)
    url = reverse("my_upload", args=[assignment.pk])
    assert client.get(url).status_code == 404  # not allowed by default

    assignment.students_may_upload = True
    assignment.save()
    with light_tasks():
        response = client.post(url, {"file": SimpleUploadedFile("mine.py", b"print('hi')")})
    batch = UploadBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("my_upload_result", args=[batch.pk])
    assert Submission.objects.get(student=student).uploaded_by == student
    page = client.get(response.url).content.decode()
    assert "1 file(s) uploaded." in page and "mine.py" in page

    # An upload not read yet is shown on the student's dashboard, with its page.
    response = client.post(url, {"file": SimpleUploadedFile("two.py", b"print(2)")})
    dashboard = client.get(reverse("my_submissions")).content.decode()
    assert "is being read" in dashboard and response.url in dashboard
    assert Submission.objects.filter(student=student).count() == 1

    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()
    response = client.post(url, {"file": SimpleUploadedFile("late.py", b"print('late')")})
    assert "submissions are closed" in response.content.decode()
    assert Submission.objects.filter(student=student).count() == 1


def test_a_student_cannot_upload_to_another_course(assignment, outsider_educator, make_user):
    stranger = make_user("stranger")
    assignment.students_may_upload = True
    assignment.save()
    assert client_for(stranger).get(reverse("my_upload", args=[assignment.pk])).status_code == 404


def test_regrade_request_is_answered_with_a_grade_change_audited_and_emailed(
    released, student, educator, classmate, light_tasks
):
    criterion = released.assignment.rubric_version.criteria.first()
    feedback_url = reverse("my_feedback", args=[released.pk])
    response = client_for(student).post(
        feedback_url, {"criteria": [criterion.pk], "reason": "I did name the base case."}
    )
    assert response.status_code == 302
    regrade = RegradeRequest.objects.get()
    assert list(regrade.criteria.all()) == [criterion]

    # Only the student's own educator sees the request.
    assert client_for(classmate).get(reverse("regrade_list")).status_code == 403
    queue = client_for(educator).get(reverse("regrade_list")).content.decode()
    assert "Explain recursion" in queue

    mail.outbox.clear()
    answer_url = reverse("regrade_answer", args=[regrade.pk])
    other_criteria = {
        f"points_{c.pk}": 1
        for c in released.assignment.rubric_version.criteria.all()
        if c.pk != criterion.pk
    }
    with light_tasks():
        response = client_for(educator).post(
            answer_url,
            {
                "response": "You are right.",
                "change_grade": "on",
                f"points_{criterion.pk}": criterion.max_points,
                **other_criteria,
            },
        )
    assert response.status_code == 302
    regrade.refresh_from_db()
    assert regrade.status == RegradeRequest.Status.ACCEPTED
    released.review.refresh_from_db()
    assert released.review.criteria.get(criterion=criterion).points == criterion.max_points
    assert AuditEvent.objects.filter(
        submission=released, action="points", new_value=str(criterion.max_points)
    ).exists()
    assert len(mail.outbox) == 1 and "You are right." in mail.outbox[0].body
    page = client_for(student).get(feedback_url).content.decode()
    assert "You are right." in page


def test_only_one_open_regrade_request_at_a_time(released, student):
    url = reverse("my_feedback", args=[released.pk])
    client_for(student).post(url, {"reason": "First"})
    response = client_for(student).post(url, {"reason": "Second"})
    assert "open regrade request" in response.content.decode()
    assert RegradeRequest.objects.count() == 1


def test_another_educator_cannot_answer(released, student, outsider_educator):
    client_for(student).post(reverse("my_feedback", args=[released.pk]), {"reason": "Please"})
    regrade = RegradeRequest.objects.get()
    response = client_for(outsider_educator).get(reverse("regrade_answer", args=[regrade.pk]))
    assert response.status_code == 404
