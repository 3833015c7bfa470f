"""The rubric library: import and export as JSON and CSV.

Two JSON shapes are understood:
- AAIE's own (`"format": "aaie.rubric/1"`): name, description and criteria with their levels, as
  `rubric_export` writes it, so an export imports again unchanged.
- The AAIE dataset format: `rubric.rubric_id`, `criteria[]` (at the top or inside `rubric`) with
  `criterion_id`, `name`, `description` and `performance_descriptors` keyed by the bands
  excellent, good, average, needs_improvement and poor, the assignment's `prompt` and its
  `domain`. Bands carry no points; the caller chooses the points of each band, and may weight
  each criterion (its best band worth the points given, the others scaled).

Both shapes keep `prompt` and `domain` on the rubric and give them back on export. An import is
read into a plan first (`rubric_import_plan`), whose warnings (a missing band, reversed or tied
points, a field that is ignored) are shown before anything is saved (`rubric_plan_save`).

The CSV shape (`rubric_export_csv`, `rubric_import_csv`) has the header row
`criterion,criterion_description,max_points,level,points,descriptor` and one row per level, best
level first. Rows that follow each other with the same `criterion` make one criterion, in the
order they appear; its `criterion_description` and `max_points` come from its first row. The
rubric's name is not in the file: the caller gives it. Cells a spreadsheet would run as a formula
are written with a leading quote (as in the gradebook exports), which import takes off again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from grading.errors import ApplicationError
from grading.models import Rubric, RubricVersion
from grading.services.gradebook import csv_safe, csv_unescaped
from grading.services.rubrics import (
    CriterionInput,
    LevelInput,
    level_sorted,
    rubric_create,
)

NATIVE_FORMAT = "aaie.rubric/1"
DATASET_BANDS = ("excellent", "good", "average", "needs_improvement", "poor")
DEFAULT_BAND_POINTS = {"excellent": 4, "good": 3, "average": 2, "needs_improvement": 1, "poor": 0}
MAX_NAME_CHARS = 200
MAX_POINTS = 1000
MAX_TEXT_CHARS = 5000
MAX_CSV_CHARS = 500_000
CSV_COLUMNS = ("criterion", "criterion_description", "max_points", "level", "points", "descriptor")
MAX_PROMPT_CHARS = 50_000
# The fields each shape's reader uses; any other field is reported as ignored before saving.
NATIVE_FIELDS = frozenset(
    {"format", "name", "description", "version", "criteria", "domain", "prompt"}
)
NATIVE_CRITERION_FIELDS = frozenset({"key", "title", "description", "max_points", "levels"})
NATIVE_LEVEL_FIELDS = frozenset({"label", "points", "descriptor"})
DATASET_FIELDS = frozenset({"rubric", "criteria", "prompt", "domain"})
DATASET_RUBRIC_FIELDS = frozenset({"rubric_id", "name", "description", "criteria", "domain"})
DATASET_CRITERION_FIELDS = frozenset(
    {"criterion_id", "name", "description", "performance_descriptors"}
)


def rubric_export(*, rubric_version: RubricVersion) -> dict[str, Any]:
    """The version in AAIE's own JSON shape."""
    return {
        "format": NATIVE_FORMAT,
        "name": rubric_version.rubric.name,
        "description": rubric_version.rubric.description,
        "domain": rubric_version.rubric.domain,
        "prompt": rubric_version.rubric.prompt,
        "version": rubric_version.number,
        "criteria": [
            {
                "key": criterion.key,
                "title": criterion.title,
                "description": criterion.description,
                "max_points": criterion.max_points,
                "levels": [
                    {"label": level.label, "points": level.points, "descriptor": level.descriptor}
                    for level in criterion.levels.all()
                ],
            }
            for criterion in rubric_version.criteria.prefetch_related("levels")
        ],
    }


def rubric_export_dataset(*, rubric_version: RubricVersion) -> dict[str, Any]:
    """The version in the AAIE dataset shape, with the rubric's prompt and domain; levels map to
    bands best first.

    A criterion with other than five levels keeps its own labels as band names, lower-cased.
    """
    criteria = []
    for criterion in rubric_version.criteria.prefetch_related("levels"):
        levels = list(criterion.levels.all())
        bands = (
            DATASET_BANDS
            if len(levels) == len(DATASET_BANDS)
            else [level.label.lower().replace(" ", "_") for level in levels]
        )
        criteria.append(
            {
                "criterion_id": criterion.key,
                "name": criterion.title,
                "description": criterion.description,
                "performance_descriptors": {
                    band: level.descriptor for band, level in zip(bands, levels, strict=True)
                },
            }
        )
    return {
        "rubric": {"rubric_id": rubric_version.rubric.name, "criteria": criteria},
        "prompt": rubric_version.rubric.prompt,
        "domain": rubric_version.rubric.domain,
    }


def _text(value: Any, what: str, *, limit: int = MAX_TEXT_CHARS, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError(f"{what} must be text.")
    if len(value) > limit:
        raise ApplicationError(f"{what} is longer than {limit} characters.")
    if required and not value.strip():
        raise ApplicationError(f"{what} is missing.")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApplicationError(f"{what} must be a whole number.")
    if not 0 <= value <= MAX_POINTS:
        raise ApplicationError(f"{what} must be between 0 and {MAX_POINTS}.")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise ApplicationError(f"{what} must be a list.")
    return value


def _unknown(item: Mapping[str, Any], known: frozenset[str], where: str) -> list[str]:
    """A warning per field the importer does not read, so nothing is dropped unseen."""
    return [
        f"{where}: the field '{str(key)[:80]}' is not read and was ignored."
        for key in item
        if key not in known
    ]


def _tied(number: int, levels: list[LevelInput]) -> list[str]:
    seen: dict[int, str] = {}
    warnings = []
    for level in levels:
        if level.points in seen:
            warnings.append(
                f"Criterion {number}: '{seen[level.points]}' and '{level.label}' are both "
                f"worth {level.points} points."
            )
        seen.setdefault(level.points, level.label)
    return warnings


def _native_criteria(data: Mapping[str, Any]) -> tuple[list[CriterionInput], list[str]]:
    criteria, warnings = [], []
    for number, item in enumerate(_list(data.get("criteria"), "criteria"), start=1):
        if not isinstance(item, Mapping):
            raise ApplicationError(f"Criterion {number} must be an object.")
        warnings += _unknown(item, NATIVE_CRITERION_FIELDS, f"Criterion {number}")
        levels = []
        for level in _list(item.get("levels"), f"Criterion {number} levels"):
            if not isinstance(level, Mapping):
                raise ApplicationError(f"Criterion {number}: every level must be an object.")
            warnings += _unknown(level, NATIVE_LEVEL_FIELDS, f"Criterion {number} level")
            levels.append(
                LevelInput(
                    label=_text(level.get("label"), f"Criterion {number} level label", limit=80),
                    points=_int(level.get("points"), f"Criterion {number} level points"),
                    descriptor=_text(level.get("descriptor"), f"Criterion {number} descriptor"),
                )
            )
        warnings += _tied(number, levels)
        criteria.append(
            CriterionInput(
                title=_text(item.get("title"), f"Criterion {number} title", limit=MAX_NAME_CHARS),
                description=_text(item.get("description"), f"Criterion {number} description"),
                max_points=_int(item.get("max_points"), f"Criterion {number} max_points"),
                levels=levels,
            )
        )
    return criteria, warnings


def band_label(band: str) -> str:
    """The level label a dataset band becomes: "needs_improvement" → "Needs improvement"."""
    return band.replace("_", " ").capitalize()


def _band_warnings(number: int, levels: list[tuple[str, LevelInput]]) -> list[str]:
    """Missing bands, and a worse band worth more than a better one, in one criterion."""
    present = [band for band, _ in levels]
    warnings = [
        f"Criterion {number}: no '{band}' band; it has {len(present)} levels, not "
        f"{len(DATASET_BANDS)}."
        for band in DATASET_BANDS
        if band not in present
    ]
    for (better, high), (worse, low) in zip(levels, levels[1:], strict=False):
        if low.points > high.points:
            warnings.append(
                f"Criterion {number}: '{worse}' ({low.points}) is worth more than '{better}' "
                f"({high.points}): the points are reversed."
            )
    return warnings


def _dataset_criteria(
    data: Mapping[str, Any], band_points: Mapping[str, int]
) -> tuple[list[CriterionInput], list[str], list[str]]:
    """The criteria, each one's criterion_id, and warnings about what looks wrong."""
    rubric = data.get("rubric") or {}
    raw = data.get("criteria", rubric.get("criteria") if isinstance(rubric, Mapping) else None)
    criteria, ids, warnings = [], [], []
    for number, item in enumerate(_list(raw, "criteria"), start=1):
        if not isinstance(item, Mapping):
            raise ApplicationError(f"Criterion {number} must be an object.")
        warnings += _unknown(item, DATASET_CRITERION_FIELDS, f"Criterion {number}")
        descriptors = item.get("performance_descriptors")
        if not isinstance(descriptors, Mapping):
            raise ApplicationError(
                f"Criterion {number}: performance_descriptors must be an object."
            )
        unknown = sorted(set(descriptors) - set(DATASET_BANDS))
        if unknown:
            raise ApplicationError(
                f"Criterion {number}: unknown bands {', '.join(map(str, unknown))}; "
                f"expected {', '.join(DATASET_BANDS)}."
            )
        banded = [
            (
                band,
                LevelInput(
                    label=band_label(band),
                    points=band_points[band],
                    descriptor=_text(descriptors[band], f"Criterion {number} {band}"),
                ),
            )
            for band in DATASET_BANDS
            if band in descriptors
        ]
        levels = [level for _, level in banded]
        warnings += _band_warnings(number, banded) + _tied(number, levels)
        title = item.get("name") or item.get("criterion_id")
        ids.append(str(item.get("criterion_id") or title))
        criteria.append(
            CriterionInput(
                title=_text(title, f"Criterion {number} name", limit=MAX_NAME_CHARS),
                description=_text(item.get("description"), f"Criterion {number} description"),
                max_points=max((level.points for level in levels), default=0),
                levels=levels,
            )
        )
    return criteria, ids, warnings


def is_dataset_format(data: Mapping[str, Any]) -> bool:
    """The dataset shape names a `rubric` object or describes criteria by bands."""
    if data.get("format") == NATIVE_FORMAT:
        return False
    criteria = data.get("criteria")
    first = criteria[0] if isinstance(criteria, list) and criteria else None
    return "rubric" in data or (isinstance(first, Mapping) and "performance_descriptors" in first)


def _scaled(criterion: CriterionInput, max_points: int, number: int) -> CriterionInput:
    """The criterion worth `max_points`, its levels' points scaled from its best level."""
    _int(max_points, f"Criterion {number} points")
    best = max((level.points for level in criterion.levels), default=0)
    if best == 0:
        raise ApplicationError(f"Criterion {number}: its best level is worth 0; it cannot scale.")
    levels = [
        LevelInput(
            label=level.label,
            points=(2 * level.points * max_points + best) // (2 * best),  # halves round up
            descriptor=level.descriptor,
        )
        for level in criterion.levels
    ]
    return CriterionInput(
        title=criterion.title,
        description=criterion.description,
        max_points=max_points,
        levels=levels,
    )


def _weigh(criteria: list[CriterionInput], criterion_points: Mapping[int, int] | None) -> None:
    for number, points in (criterion_points or {}).items():
        if not 1 <= number <= len(criteria):
            raise ApplicationError(f"There is no criterion {number}.", field="criterion_points")
        if points != criteria[number - 1].max_points:
            criteria[number - 1] = _scaled(criteria[number - 1], points, number)


@dataclass(frozen=True)
class RubricPlan:
    """What an import would create, read but not yet saved: previewed, then saved."""

    name: str
    description: str
    domain: str
    prompt: str
    criteria: list[CriterionInput]
    criterion_ids: list[str]  # the file's id of each criterion (dataset criterion_id, or key)
    warnings: list[str]
    is_dataset: bool


def _band_points(band_points: Mapping[str, int] | None) -> dict[str, int]:
    if band_points is not None and not isinstance(band_points, Mapping):
        raise ApplicationError("Band points must be an object of band: points.")
    points = {**DEFAULT_BAND_POINTS, **(band_points or {})}
    if set(points) != set(DATASET_BANDS):
        raise ApplicationError(
            f"Band points are for the bands {', '.join(DATASET_BANDS)}.", field="band_points"
        )
    for value in points.values():
        _int(value, "Band points")
    return points


def rubric_import_plan(
    *,
    data: Mapping[str, Any],
    name: str = "",
    band_points: Mapping[str, int] | None = None,
    criterion_points: Mapping[int, int] | None = None,
    also_known: frozenset[str] = frozenset(),
) -> RubricPlan:
    """Read either JSON shape into a plan with its warnings; nothing is saved.

    `band_points` gives the points of each dataset band (defaults 4, 3, 2, 1, 0).
    `criterion_points` ({criterion number from 1: max points}) weights criteria: that criterion's
    levels are scaled so its best level is worth the points given. `also_known` names top-level
    fields the caller reads itself (a calibration set's `submissions`).
    """
    if not isinstance(data, Mapping):
        raise ApplicationError("The rubric JSON must be an object.", field="data")
    if is_dataset_format(data):
        criteria, ids, warnings = _dataset_criteria(data, _band_points(band_points))
        rubric = data.get("rubric") if isinstance(data.get("rubric"), Mapping) else {}
        warnings = _unknown(data, DATASET_FIELDS | also_known, "The file") + (
            _unknown(rubric, DATASET_RUBRIC_FIELDS, "rubric") + warnings
        )
        default_name = str(rubric.get("rubric_id") or rubric.get("name") or "")
        description = _text(rubric.get("description"), "rubric description")
        domain = data.get("domain", rubric.get("domain"))
    else:
        criteria, warnings = _native_criteria(data)
        warnings = _unknown(data, NATIVE_FIELDS | also_known, "The file") + warnings
        ids = [f"C{number}" for number in range(1, len(criteria) + 1)]
        default_name = data.get("name") or ""
        description = _text(data.get("description"), "description")
        domain = data.get("domain")
    _weigh(criteria, criterion_points)
    return RubricPlan(
        name=_text(name or default_name, "name", limit=MAX_NAME_CHARS, required=True).strip(),
        description=description,
        domain=_text(domain, "domain", limit=MAX_NAME_CHARS).strip(),
        prompt=_text(data.get("prompt"), "prompt", limit=MAX_PROMPT_CHARS).strip(),
        criteria=criteria,
        criterion_ids=ids,
        warnings=warnings,
        is_dataset=is_dataset_format(data),
    )


def _fingerprint(*, description: str, domain: str, prompt: str, criteria) -> tuple:
    """What makes two rubrics the same content, whatever their names."""
    return (
        description.strip(),
        domain,
        prompt,
        tuple(
            (
                criterion.title.strip(),
                criterion.description.strip(),
                criterion.max_points,
                tuple(
                    (level.label.strip(), level.points, level.descriptor.strip())
                    for level in criterion.levels
                ),
            )
            for criterion in criteria
        ),
    )


def rubric_in_library(*, plan: RubricPlan) -> RubricVersion | None:
    """A version with this plan's content under this name (or a numbered copy of it)."""
    wanted = _fingerprint(
        description=plan.description,
        domain=plan.domain,
        prompt=plan.prompt,
        criteria=[
            CriterionInput(c.title, c.max_points, level_sorted(c.levels), c.description)
            for c in plan.criteria
        ],
    )
    versions = RubricVersion.objects.filter(
        Q(rubric__name__iexact=plan.name) | Q(rubric__name__istartswith=f"{plan.name} (")
    ).select_related("rubric")
    for version in versions.prefetch_related("criteria__levels").order_by("rubric_id", "number"):
        found = _fingerprint(
            description=version.rubric.description,
            domain=version.rubric.domain,
            prompt=version.rubric.prompt,
            criteria=[
                CriterionInput(c.title, c.max_points, list(c.levels.all()), c.description)
                for c in version.criteria.all()
            ],
        )
        if found == wanted:
            return version
    return None


def unique_rubric_name(name: str) -> str:
    """`name`, or "name (2)", "name (3)"… : the first no rubric in the library has."""
    taken = {
        existing.lower()
        for existing in Rubric.objects.filter(name__istartswith=name).values_list("name", flat=True)
    }
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[: MAX_NAME_CHARS - len(suffix)] + suffix
    return candidate


@transaction.atomic
def rubric_plan_save(*, plan: RubricPlan, created_by) -> tuple[RubricVersion, bool]:
    """Save a plan; returns the version and whether it was already in the library.

    A rubric with the same content (criteria, levels, points, description, domain, prompt) under
    the same name is reused, not copied; any other rubric of that name makes a new one with a
    unique name ("name (2)"), so a dropdown never shows two alike.
    """
    existing = rubric_in_library(plan=plan)
    if existing is not None:
        return existing, True
    version = rubric_create(
        name=unique_rubric_name(plan.name),
        criteria=plan.criteria,
        created_by=created_by,
        description=plan.description,
        domain=plan.domain,
        prompt=plan.prompt,
    )
    return version, False


def rubric_export_csv(*, rubric_version: RubricVersion) -> str:
    """The version as CSV text, one row per level (see the module's description)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for criterion in rubric_version.criteria.prefetch_related("levels"):
        for level in criterion.levels.all():
            cells = [
                criterion.title,
                criterion.description,
                criterion.max_points,
                level.label,
                level.points,
                level.descriptor,
            ]
            writer.writerow([csv_safe(cell) for cell in cells])
    return out.getvalue()


def _csv_int(value: str, what: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ApplicationError(f"{what} must be a whole number, not '{value[:20]}'.") from None
    return _int(number, what)


def rubric_csv_criteria(*, csv_text: str) -> list[CriterionInput]:
    """Parse the CSV shape into criteria; every error names its line."""
    if len(csv_text) > MAX_CSV_CHARS:
        raise ApplicationError(f"The CSV is longer than {MAX_CSV_CHARS} characters.")
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ApplicationError(
            f"The CSV lacks the columns {', '.join(missing)}; "
            f"its header must be {','.join(CSV_COLUMNS)}."
        )
    groups: list[tuple[dict[str, str], list[LevelInput]]] = []
    for row in reader:
        line = f"Line {reader.line_num}"
        values = {column: csv_unescaped(row.get(column) or "") for column in CSV_COLUMNS}
        title = _text(
            values["criterion"], f"{line}: criterion", limit=MAX_NAME_CHARS, required=True
        )
        if not groups or groups[-1][0]["criterion"] != title:
            groups.append(({**values, "criterion": title}, []))
        groups[-1][1].append(
            LevelInput(
                label=_text(values["level"], f"{line}: level", limit=80, required=True),
                points=_csv_int(values["points"], f"{line}: points"),
                descriptor=_text(values["descriptor"], f"{line}: descriptor"),
            )
        )
    return [
        CriterionInput(
            title=first["criterion"],
            description=_text(first["criterion_description"], "criterion_description"),
            max_points=_csv_int(
                first["max_points"], f"Criterion '{first['criterion']}' max_points"
            ),
            levels=levels,
        )
        for first, levels in groups
    ]


def rubric_csv_plan(
    *, csv_text: str, name: str, criterion_points: Mapping[int, int] | None = None
) -> RubricPlan:
    """Read the CSV shape into a plan with its warnings (tied points); nothing is saved."""
    criteria = rubric_csv_criteria(csv_text=csv_text)
    _weigh(criteria, criterion_points)
    warnings = [
        warning
        for number, criterion in enumerate(criteria, start=1)
        for warning in _tied(number, list(criterion.levels))
    ]
    return RubricPlan(
        name=_text(name, "name", limit=MAX_NAME_CHARS, required=True).strip(),
        description="",
        domain="",
        prompt="",
        criteria=criteria,
        criterion_ids=[f"C{number}" for number in range(1, len(criteria) + 1)],
        warnings=warnings,
        is_dataset=False,
    )


def rubric_import_csv(*, csv_text: str, name: str, created_by) -> RubricVersion:
    """Save the CSV shape at once (no preview), reusing an identical rubric."""
    version, _reused = rubric_plan_save(
        plan=rubric_csv_plan(csv_text=csv_text, name=name), created_by=created_by
    )
    return version
