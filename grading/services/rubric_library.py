"""The rubric library: import and export as JSON and CSV.

Two JSON shapes are understood:
- AAIE's own (`"format": "aaie.rubric/1"`): name, description and criteria with their levels, as
  `rubric_export` writes it, so an export imports again unchanged.
- The AAIE dataset format: `rubric.rubric_id`, `criteria[]` (at the top or inside `rubric`) with
  `criterion_id`, `name`, `description` and `performance_descriptors` keyed by the bands
  excellent, good, average, needs_improvement and poor, and the assignment's `prompt`. Bands carry
  no points; the caller chooses the points of each band.

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
from typing import Any

from grading.errors import ApplicationError
from grading.models import RubricVersion
from grading.services.gradebook import csv_safe, csv_unescaped
from grading.services.rubrics import (
    CriterionInput,
    LevelInput,
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


def rubric_export(*, rubric_version: RubricVersion) -> dict[str, Any]:
    """The version in AAIE's own JSON shape."""
    return {
        "format": NATIVE_FORMAT,
        "name": rubric_version.rubric.name,
        "description": rubric_version.rubric.description,
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


def rubric_export_dataset(*, rubric_version: RubricVersion, prompt: str = "") -> dict[str, Any]:
    """The version in the AAIE dataset shape; levels map to bands best first.

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
        "prompt": prompt,
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


def _native_criteria(data: Mapping[str, Any]) -> list[CriterionInput]:
    criteria = []
    for number, item in enumerate(_list(data.get("criteria"), "criteria"), start=1):
        if not isinstance(item, Mapping):
            raise ApplicationError(f"Criterion {number} must be an object.")
        levels = []
        for level in _list(item.get("levels"), f"Criterion {number} levels"):
            if not isinstance(level, Mapping):
                raise ApplicationError(f"Criterion {number}: every level must be an object.")
            levels.append(
                LevelInput(
                    label=_text(level.get("label"), f"Criterion {number} level label", limit=80),
                    points=_int(level.get("points"), f"Criterion {number} level points"),
                    descriptor=_text(level.get("descriptor"), f"Criterion {number} descriptor"),
                )
            )
        criteria.append(
            CriterionInput(
                title=_text(item.get("title"), f"Criterion {number} title", limit=MAX_NAME_CHARS),
                description=_text(item.get("description"), f"Criterion {number} description"),
                max_points=_int(item.get("max_points"), f"Criterion {number} max_points"),
                levels=levels,
            )
        )
    return criteria


def _dataset_criteria(
    data: Mapping[str, Any], band_points: Mapping[str, int]
) -> list[CriterionInput]:
    rubric = data.get("rubric") or {}
    raw = data.get("criteria", rubric.get("criteria") if isinstance(rubric, Mapping) else None)
    criteria = []
    for number, item in enumerate(_list(raw, "criteria"), start=1):
        if not isinstance(item, Mapping):
            raise ApplicationError(f"Criterion {number} must be an object.")
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
        levels = [
            LevelInput(
                label=band.replace("_", " ").capitalize(),
                points=band_points[band],
                descriptor=_text(descriptors[band], f"Criterion {number} {band}"),
            )
            for band in DATASET_BANDS
            if band in descriptors
        ]
        title = item.get("name") or item.get("criterion_id")
        criteria.append(
            CriterionInput(
                title=_text(title, f"Criterion {number} name", limit=MAX_NAME_CHARS),
                description=_text(item.get("description"), f"Criterion {number} description"),
                max_points=max((level.points for level in levels), default=0),
                levels=levels,
            )
        )
    return criteria


def is_dataset_format(data: Mapping[str, Any]) -> bool:
    """The dataset shape names a `rubric` object or describes criteria by bands."""
    if data.get("format") == NATIVE_FORMAT:
        return False
    criteria = data.get("criteria")
    first = criteria[0] if isinstance(criteria, list) and criteria else None
    return "rubric" in data or (isinstance(first, Mapping) and "performance_descriptors" in first)


def rubric_import(
    *,
    data: Mapping[str, Any],
    created_by,
    name: str = "",
    band_points: Mapping[str, int] | None = None,
) -> tuple[RubricVersion, str]:
    """Create a rubric (version 1) from either JSON shape; returns it and the dataset's prompt.

    `band_points` gives the points of each dataset band (defaults 4, 3, 2, 1, 0); a criterion's
    maximum is its best band's points.
    """
    if not isinstance(data, Mapping):
        raise ApplicationError("The rubric JSON must be an object.", field="data")
    if is_dataset_format(data):
        points = {**DEFAULT_BAND_POINTS, **(band_points or {})}
        if set(points) != set(DATASET_BANDS):
            raise ApplicationError(
                f"Band points are for the bands {', '.join(DATASET_BANDS)}.", field="band_points"
            )
        for value in points.values():
            _int(value, "Band points")
        criteria = _dataset_criteria(data, points)
        rubric = data.get("rubric") if isinstance(data.get("rubric"), Mapping) else {}
        default_name = str(rubric.get("rubric_id") or rubric.get("name") or "")
        prompt = _text(data.get("prompt"), "prompt", limit=50000)
        description = ""
    else:
        criteria = _native_criteria(data)
        default_name = data.get("name") or ""
        description = _text(data.get("description"), "description")
        prompt = ""
    chosen = _text(name or default_name, "name", limit=MAX_NAME_CHARS)
    version = rubric_create(
        name=chosen, criteria=criteria, created_by=created_by, description=description
    )
    return version, prompt


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


def rubric_import_csv(*, csv_text: str, name: str, created_by) -> RubricVersion:
    """Create a rubric (version 1) named `name` from the CSV shape."""
    criteria = rubric_csv_criteria(csv_text=csv_text)
    return rubric_create(
        name=_text(name, "name", limit=MAX_NAME_CHARS), criteria=criteria, created_by=created_by
    )
