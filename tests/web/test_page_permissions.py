"""Every page against every role: anonymous, student, another course's educator, the educator.

An object in a course the user does not teach answers 404, as if it did not exist; an educator
page asked for by a student answers 403.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.services.reviews import review_release, review_save
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(course, assignment, submission):
    """(url, method) for every educator page, with objects from the educator's course."""
    return [
        (reverse("course_list"), "get"),
        (reverse("course_detail", args=[course.pk]), "get"),
        (reverse("assignment_new", args=[course.pk]), "get"),
        (reverse("assignment_detail", args=[assignment.pk]), "get"),
        (reverse("submission_upload", args=[assignment.pk]), "get"),
        (reverse("submission_review", args=[submission.pk]), "get"),
        (reverse("grade_submission", args=[submission.pk]), "post"),
        (reverse("grade_assignment", args=[assignment.pk]), "post"),
    ]


def test_anonymous_users_are_sent_to_log_in(pages):
    client = client_for(None)
    for url, method in pages + [(reverse("my_submissions"), "get")]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_the_login_page_is_open_to_everyone():
    response = client_for(None).get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_students_get_403_on_educator_pages(pages, student):
    client = client_for(student)
    for url, method in pages:
        assert getattr(client, method)(url).status_code == 403, url


def test_another_courses_educator_gets_404_on_this_courses_objects(pages, outsider_educator):
    client = client_for(outsider_educator)
    for url, method in pages[1:]:  # the course list is theirs to see; it lists only their course
        assert getattr(client, method)(url).status_code == 404, url
    listing = client.get(reverse("course_list"))
    assert b"OTHER1" in listing.content
    assert b"CS101" not in listing.content


def test_the_educator_sees_every_page(pages, educator, scripted_model):
    client = client_for(educator)
    for url, method in pages:
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302), url
        if method == "post":  # actions redirect back to a page of the same course
            assert response.status_code == 302


def test_admins_see_every_course(pages, admin_user, scripted_model):
    client = client_for(admin_user)
    for url, method in pages:
        assert getattr(client, method)(url).status_code in (200, 302), url


def test_a_student_sees_only_their_own_released_feedback(
    submission, educator, student, classmate, make_submission, assignment
):
    url = reverse("my_feedback", args=[submission.pk])
    # Unreleased: not even the owner sees it.
    assert client_for(student).get(url).status_code == 404

    criteria = list(submission.assignment.rubric_version.criteria.all())
    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: 1 for c in criteria},
        comments={},
        comment="Good start.",
    )
    review_release(review=review, actor=educator)

    assert client_for(student).get(url).status_code == 200
    assert client_for(classmate).get(url).status_code == 404
    # The classmate's own list shows their own work only, never the student's.
    make_submission(assignment, classmate, "Classmate text", name="classmate.txt")
    own_list = client_for(classmate).get(reverse("my_submissions")).content.decode()
    assert "classmate.txt" in own_list
    assert "a.txt" not in own_list
    assert url not in own_list


def test_home_sends_each_role_to_its_workspace(educator, student, course):
    assert client_for(educator).get(reverse("home")).url == reverse("course_list")
    assert client_for(student).get(reverse("home")).url == reverse("my_submissions")
