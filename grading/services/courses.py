"""Courses, enrolments and assignments."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from grading.errors import ApplicationError
from grading.models import Assignment, Course, Enrolment, ModelProfile, RubricVersion


@transaction.atomic
def course_create(*, code: str, title: str, created_by) -> Course:
    """Create a course; its creator teaches it."""
    code = code.strip()
    if Course.objects.filter(code__iexact=code).exists():
        raise ApplicationError(f"A course with code {code} exists already.", field="code")
    course = Course.objects.create(code=code, title=title.strip())
    Enrolment.objects.create(course=course, user=created_by, role=Enrolment.Role.EDUCATOR)
    return course


def enrolment_set(*, course: Course, user, role: str) -> Enrolment:
    enrolment, _ = Enrolment.objects.update_or_create(
        course=course, user=user, defaults={"role": role}
    )
    return enrolment


def assignment_create(
    *,
    course: Course,
    title: str,
    task: str,
    rubric_version: RubricVersion,
    reference_notes: str = "",
    due_at: datetime | None = None,
    model_profile: ModelProfile | None = None,
    review_required: bool = True,
    students_see_trace: bool = False,
    students_may_upload: bool = False,
) -> Assignment:
    if not title.strip():
        raise ApplicationError("The assignment needs a title.", field="title")
    if not task.strip():
        raise ApplicationError("The assignment needs a task text.", field="task")
    return Assignment.objects.create(
        course=course,
        title=title.strip(),
        task=task.strip(),
        reference_notes=reference_notes.strip(),
        rubric_version=rubric_version,
        due_at=due_at,
        model_profile=model_profile,
        review_required=review_required,
        students_see_trace=students_see_trace,
        students_may_upload=students_may_upload,
    )
