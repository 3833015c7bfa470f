"""Editing an assignment after creation (audited, a regrade offered) and creating courses."""

import pytest
from django.urls import reverse

from grading.models import AssignmentChange, Course, Enrolment, GradingRun
from grading.services.grading import grading_run_execute, grading_run_request
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


def edit_form(assignment, **changes) -> dict:
    form = {
        "title": assignment.title,
        "task": assignment.task,
        "reference_notes": assignment.reference_notes,
        "due_at": "",
        "review_required": "on" if assignment.review_required else "",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value != ""} | {"task": form["task"]}


def test_an_edit_is_saved_and_audited_field_by_field(assignment, educator):
    url = reverse("assignment_edit", args=[assignment.pk])
    response = client_for(educator).post(
        url, edit_form(assignment, title="Explain recursion well", students_see_trace="on")
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.title == "Explain recursion well" and assignment.students_see_trace
    changes = {c.field: (c.old_value, c.new_value, c.actor) for c in AssignmentChange.objects.all()}
    assert changes == {
        "title": ("Explain recursion", "Explain recursion well", educator),
        "students_see_trace": ("False", "True", educator),
    }
    page = client_for(educator).get(url).content.decode()
    assert "Explain recursion well" in page and "students_see_trace" in page


def test_a_changed_task_offers_a_regrade_and_regrades_when_asked(assignment, submission, educator):
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    url = reverse("assignment_edit", args=[assignment.pk])
    page = client_for(educator).post(
        url, edit_form(assignment, task="Explain recursion, with a base case."), follow=True
    )
    assert "graded earlier submissions against the old text" in page.content.decode()
    assert submission.runs.count() == 1

    client_for(educator).post(url, edit_form(assignment, task="A third wording.", regrade="on"))
    assert submission.runs.filter(status=GradingRun.Status.QUEUED).count() == 1


def test_an_empty_task_is_refused_and_nothing_changes(assignment, educator):
    url = reverse("assignment_edit", args=[assignment.pk])
    response = client_for(educator).post(url, edit_form(assignment, task="   "))
    assert response.status_code == 200
    assert not AssignmentChange.objects.exists()


def test_educators_create_courses_only_where_the_site_allows(
    settings, course, educator, admin_user
):
    url = reverse("course_new")
    assert client_for(educator).get(url).status_code == 403
    assert "New course" not in client_for(educator).get(reverse("course_list")).content.decode()

    settings.AAIE_EDUCATORS_CREATE_COURSES = True
    assert "New course" in client_for(educator).get(reverse("course_list")).content.decode()
    response = client_for(educator).post(url, {"code": "BIO200", "title": "Cells"})
    course = Course.objects.get(code="BIO200")
    assert response["Location"] == reverse("course_detail", args=[course.pk])
    assert Enrolment.objects.filter(
        course=course, user=educator, role=Enrolment.Role.EDUCATOR
    ).exists()
    duplicate = client_for(educator).post(url, {"code": "bio200", "title": "Again"})
    assert "exists already" in duplicate.content.decode()
    assert client_for(admin_user).get(url).status_code == 200
