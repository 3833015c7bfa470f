"""Courses, enrolments and assignments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from grading.errors import ApplicationError
from grading.models import (
    Assignment,
    AssignmentChange,
    Course,
    Enrolment,
    ModelProfile,
    RubricVersion,
)


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


# What an educator may change after creation; the rubric changes on its own page (a new
# version, with a regrade offered there).
EDITABLE_ASSIGNMENT_FIELDS = (
    "title",
    "task",
    "reference_notes",
    "due_at",
    "review_required",
    "students_may_upload",
    "students_see_trace",
)
# A change to these alters what the model reads: grades made before may no longer fit.
FIELDS_THE_MODEL_READS = frozenset({"task", "reference_notes"})


@transaction.atomic
def assignment_update(*, assignment: Assignment, actor, changes: Mapping[str, object]) -> list[str]:
    """Apply the changed fields, each recorded in the assignment's audit; returns their names."""
    unknown = set(changes) - set(EDITABLE_ASSIGNMENT_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    cleaned = {
        name: value.strip() if isinstance(value, str) else value for name, value in changes.items()
    }
    if "title" in cleaned and not cleaned["title"]:
        raise ApplicationError("The assignment needs a title.", field="title")
    if "task" in cleaned and not cleaned["task"]:
        raise ApplicationError("The assignment needs a task text.", field="task")
    changed = []
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    for name in EDITABLE_ASSIGNMENT_FIELDS:
        if name not in cleaned or cleaned[name] == getattr(assignment, name):
            continue
        assignment_change_record(
            assignment=assignment,
            actor=actor,
            field=name,
            old=getattr(assignment, name),
            new=cleaned[name],
        )
        setattr(assignment, name, cleaned[name])
        changed.append(name)
    if changed:
        assignment.save(update_fields=changed)
    return changed


def assignment_change_record(*, assignment: Assignment, actor, field: str, old, new) -> None:
    AssignmentChange.objects.create(
        assignment=assignment,
        actor=actor,
        field=field,
        old_value="" if old is None else str(old),
        new_value="" if new is None else str(new),
    )
