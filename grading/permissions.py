"""The one place that answers "may this user do this to that?", for pages and API alike."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from grading.models import Course, Enrolment, Rubric, Submission

User = AbstractBaseUser | AnonymousUser


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def is_educator(user: User) -> bool:
    """Educator somewhere (or admin): may open the educator workspace.

    Remembered on the user object, as Django remembers permissions: a page asks twice (its view
    and the navigation), and the signed-in user object lives for one request.
    """
    if not user.is_authenticated:
        return False
    if is_admin(user):
        return True
    if not hasattr(user, "_is_educator"):
        user._is_educator = Enrolment.objects.filter(
            user=user, role=Enrolment.Role.EDUCATOR
        ).exists()
    return user._is_educator


def can_create_course(user: User) -> bool:
    """Admins always; educators where the site allows it (AAIE_EDUCATORS_CREATE_COURSES)."""
    return is_admin(user) or (settings.AAIE_EDUCATORS_CREATE_COURSES and is_educator(user))


def can_teach(user: User, course: Course) -> bool:
    """Manage the course: assignments, uploads, grading, reviews, releases."""
    return is_admin(user) or (
        user.is_authenticated
        and Enrolment.objects.filter(
            user=user, course=course, role=Enrolment.Role.EDUCATOR
        ).exists()
    )


def is_student_in(user: User, course: Course) -> bool:
    return (
        user.is_authenticated
        and Enrolment.objects.filter(user=user, course=course, role=Enrolment.Role.STUDENT).exists()
    )


def can_read_feedback(user: User, submission: Submission) -> bool:
    """A student reads their own submission's grade, and only once it is released."""
    review = getattr(submission, "review", None)
    return (
        user.is_authenticated
        and submission.student_id == user.pk
        and review is not None
        and review.released
    )


def can_read_original(user: User, submission: Submission) -> bool:
    """The file as handed in: for the course's educators and the student who owns it, nobody
    else (not even a site admin who does not teach the course)."""
    if not user.is_authenticated:
        return False
    return (
        submission.student_id == user.pk
        or Enrolment.objects.filter(
            user=user, course_id=submission.assignment.course_id, role=Enrolment.Role.EDUCATOR
        ).exists()
    )


def can_edit_rubric(user: User, rubric: Rubric) -> bool:
    """A rubric's author or an admin adds its versions; other educators reuse and copy it."""
    return is_admin(user) or (user.is_authenticated and rubric.created_by_id == user.pk)
