"""Rubrics: create the library entry and its versions; turn a version into plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from grading.errors import ApplicationError
from grading.llm import types as llm
from grading.models import Criterion, Level, Rubric, RubricVersion

MAX_CRITERIA = 30
MAX_LEVELS = 10


@dataclass(frozen=True)
class LevelInput:
    label: str
    points: int
    descriptor: str = ""


@dataclass(frozen=True)
class CriterionInput:
    title: str
    max_points: int
    levels: Sequence[LevelInput]
    description: str = ""


def _validate_criteria(criteria: Sequence[CriterionInput]) -> None:
    if not criteria:
        raise ApplicationError("A rubric needs at least one criterion.")
    if len(criteria) > MAX_CRITERIA:
        raise ApplicationError(f"A rubric has at most {MAX_CRITERIA} criteria.")
    for number, criterion in enumerate(criteria, start=1):
        name = f"Criterion {number} ({criterion.title or 'untitled'})"
        if not criterion.title.strip():
            raise ApplicationError(f"Criterion {number} needs a title.")
        if criterion.max_points <= 0:
            raise ApplicationError(f"{name}: maximum points must be above zero.")
        if not 2 <= len(criterion.levels) <= MAX_LEVELS:
            raise ApplicationError(f"{name} needs between 2 and {MAX_LEVELS} levels.")
        labels = [level.label.strip() for level in criterion.levels]
        if any(not label for label in labels):
            raise ApplicationError(f"{name}: every level needs a label.")
        if len(set(labels)) != len(labels):
            raise ApplicationError(f"{name}: level labels must differ.")
        for level in criterion.levels:
            if not 0 <= level.points <= criterion.max_points:
                raise ApplicationError(
                    f"{name}: level '{level.label}' has {level.points} points, "
                    f"outside 0–{criterion.max_points}."
                )


@transaction.atomic
def rubric_create(
    *,
    name: str,
    criteria: Sequence[CriterionInput],
    created_by,
    description: str = "",
    domain: str = "",
    prompt: str = "",
) -> RubricVersion:
    """Create a rubric in the library together with its version 1."""
    if not name.strip():
        raise ApplicationError("The rubric needs a name.", field="rubric_name")
    _validate_criteria(criteria)
    rubric = Rubric.objects.create(
        name=name.strip(),
        description=description,
        created_by=created_by,
        domain=domain.strip(),
        prompt=prompt.strip(),
    )
    version = RubricVersion.objects.create(rubric=rubric, number=1, created_by=created_by)
    _store_criteria(version, criteria)
    return version


@transaction.atomic
def rubric_version_create(
    *, rubric: Rubric, criteria: Sequence[CriterionInput], created_by
) -> RubricVersion:
    """Add the next version to a rubric; earlier versions, and grades that use them, stay."""
    _validate_criteria(criteria)
    rubric = Rubric.objects.select_for_update().get(pk=rubric.pk)
    last = rubric.versions.aggregate(last=Max("number"))["last"] or 0
    version = RubricVersion.objects.create(rubric=rubric, number=last + 1, created_by=created_by)
    _store_criteria(version, criteria)
    return version


def _store_criteria(version: RubricVersion, criteria: Sequence[CriterionInput]) -> None:
    for order, criterion_input in enumerate(criteria, start=1):
        criterion = Criterion.objects.create(
            rubric_version=version,
            order=order,
            title=criterion_input.title.strip(),
            description=criterion_input.description.strip(),
            max_points=criterion_input.max_points,
        )
        Level.objects.bulk_create(
            Level(
                criterion=criterion,
                order=level_order,
                label=level.label.strip(),
                points=level.points,
                descriptor=level.descriptor.strip(),
            )
            for level_order, level in enumerate(level_sorted(criterion_input.levels), start=1)
        )


def level_sorted(levels: Sequence[LevelInput]) -> list[LevelInput]:
    """Levels from best to worst, the order rubrics are read in."""
    return sorted(levels, key=lambda level: level.points, reverse=True)


def rubric_spec(*, rubric_version: RubricVersion) -> llm.Rubric:
    """The version as the plain data the model side works with."""
    criteria = rubric_version.criteria.prefetch_related("levels")
    return llm.Rubric(
        title=rubric_version.rubric.name,
        criteria=tuple(
            llm.Criterion(
                key=criterion.key,
                title=criterion.title,
                description=criterion.description,
                max_points=criterion.max_points,
                levels=tuple(
                    llm.Level(label=level.label, points=level.points, descriptor=level.descriptor)
                    for level in criterion.levels.all()
                ),
            )
            for criterion in criteria
        ),
    )
