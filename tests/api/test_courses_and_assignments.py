"""Courses, enrolments and assignments: what each role sees and creates."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.models import Assignment, Enrolment
from grading.services.courses import course_create
from tests.api.conftest import api_for

pytestmark = pytest.mark.django_db


def test_lists_hold_only_the_callers_courses(course, student, outsider_educator, admin_user):
    assert [c["code"] for c in api_for(student).get(reverse("api_courses")).json()["results"]] == [
        "CS101"
    ]
    outsider = api_for(outsider_educator).get(reverse("api_courses")).json()
    assert [c["code"] for c in outsider["results"]] == ["OTHER1"]
    everything = api_for(admin_user).get(reverse("api_courses")).json()
    assert {c["code"] for c in everything["results"]} == {"CS101", "OTHER1"}


def test_course_lists_search_order_and_paginate(educator, course):
    client = api_for(educator)
    for number in range(3):
        client.post(reverse("api_courses"), {"code": f"Z{number}", "title": f"Zeta {number}"})
    found = client.get(reverse("api_courses"), {"search": "zeta", "ordering": "-code"}).json()
    assert [c["code"] for c in found["results"]] == ["Z2", "Z1", "Z0"]
    first = client.get(reverse("api_courses"), {"page_size": 2}).json()
    assert first["count"] == 4 and len(first["results"]) == 2 and first["next"]


def test_creating_a_course_makes_the_caller_its_educator(outsider_educator):
    response = api_for(outsider_educator).post(
        reverse("api_courses"), {"code": "NEW1", "title": "New"}
    )
    assert response.status_code == 201
    assert Enrolment.objects.get(course_id=response.json()["id"]).user == outsider_educator


def test_users_who_teach_nothing_cannot_create_courses(make_user):
    # Creating a course is an educator's act; students and new accounts ask an admin.
    response = api_for(make_user("nobody")).post(
        reverse("api_courses"), {"code": "N", "title": "N"}
    )
    assert response.status_code == 403


def test_educators_enrol_existing_users_only(educator, course, make_user):
    # An account outside the educator's courses is enrolled by its username and its email.
    newcomer = make_user("newcomer", email="newcomer@example.edu")
    client = api_for(educator)
    url = reverse("api_enrolments", args=[course.pk])
    body = {"username": "newcomer", "email": "Newcomer@example.edu", "role": "student"}
    response = client.post(url, body)
    assert response.status_code == 200
    assert Enrolment.objects.get(course=course, user=newcomer).role == "student"
    missing = client.post(url, {"username": "ghost", "role": "student"})
    assert missing.status_code == 400
    assert "username" in missing.json()["error"]["fields"]
    students = client.get(url, {"role": "student"}).json()["results"]
    assert {e["user"]["username"] for e in students} == {"student", "classmate", "newcomer"}


def test_an_assignment_is_created_with_a_library_rubric(educator, course, rubric_version):
    response = api_for(educator).post(
        reverse("api_assignments", args=[course.pk]),
        {
            "title": "Loops",
            "task": "Write a loop.",
            "reference_notes": "for or while",
            "rubric_version": rubric_version.pk,
        },
    )
    assert response.status_code == 201, response.content
    assignment = Assignment.objects.get(pk=response.json()["id"])
    assert assignment.rubric_version == rubric_version
    assert assignment.review_required is True  # the product's default: a person checks first


def test_a_missing_rubric_version_is_a_field_error(educator, course):
    response = api_for(educator).post(
        reverse("api_assignments", args=[course.pk]),
        {"title": "Loops", "task": "Write a loop.", "rubric_version": 999999},
    )
    assert response.status_code == 400
    assert "rubric_version" in response.json()["error"]["fields"]


def test_students_never_see_reference_notes(assignment, student, educator):
    url = reverse("api_assignment", args=[assignment.pk])
    assert api_for(student).get(url).json()["reference_notes"] is None
    assert api_for(educator).get(url).json()["reference_notes"] == "Mentions a base case."


def test_enrolling_cannot_look_up_or_tell_apart_users_outside_the_educators_courses(
    educator, course, make_user
):
    stranger = make_user("stranger", email="stranger@example.edu", last_name="Secretname")
    client = api_for(educator)
    url = reverse("api_enrolments", args=[course.pk])
    by_name = client.post(url, {"username": "stranger", "role": "student"})
    wrong_email = client.post(
        url, {"username": "stranger", "email": "guess@example.edu", "role": "student"}
    )
    unknown = client.post(url, {"username": "nobody-here", "role": "student"})
    # The same answer whether or not the account exists, and nothing of the account in it.
    assert by_name.status_code == wrong_email.status_code == unknown.status_code == 400
    assert by_name.json() == wrong_email.json() == unknown.json()
    for response in (by_name, wrong_email):
        assert "stranger@example.edu" not in response.content.decode()
        assert "Secretname" not in response.content.decode()
    assert not Enrolment.objects.filter(user=stranger).exists()


def test_a_member_of_the_educators_courses_is_enrolled_by_username_alone(educator, course, student):
    other = course_create(code="CS102", title="More programming", created_by=educator)
    response = api_for(educator).post(
        reverse("api_enrolments", args=[other.pk]), {"username": "student", "role": "student"}
    )
    assert response.status_code == 200
    assert Enrolment.objects.filter(course=other, user=student).exists()
