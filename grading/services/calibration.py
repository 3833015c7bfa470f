"""Calibration sets: work that is already marked, brought in to measure a model before trusting it.

Two sources:
- The AAIE dataset JSON (`calibration_import_dataset`): `prompt`, `rubric` (as rubric_library
  reads it) and `submissions`, each with `final_submission` text, a holistic `quality` band and,
  sometimes, per-criterion `feedback`: an object {criterion_id: text}, a list of
  {criterion_id, feedback | comment}, or one text for the whole work.
- A CSV `student_or_file,criterion,points_or_level,comment` beside a class ZIP
  (`calibration_import_csv`): one row per file and criterion, the file matched by its name.

1. Read and check every entry; a bad one is listed with its reason and left out whole.
2. Store the good ones in one transaction: the rubric (reused when the library has it), an
   assignment whose task is the prompt, and per entry a pseudonymous student (never enrolled,
   inactive, no usable password), a submission and a review with provenance "imported",
   approved and never released.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction

from grading.errors import ApplicationError
from grading.ingest.archive import Budget, read_zip
from grading.ingest.extract import Extracted, extract
from grading.models import CalibrationSet, Course, RubricVersion, Submission
from grading.services.courses import assignment_create
from grading.services.reviews import MAX_COMMENT_CHARS, review_approve, review_save
from grading.services.rubric_library import (
    DATASET_BANDS,
    band_label,
    rubric_import_plan,
    rubric_plan_save,
)
from grading.services.rubrics import CriterionInput
from grading.services.submissions import archive_limits, submission_create_for_calibration
from grading.vocabulary import Provenance

MAX_ENTRIES = 1000
MAX_DATASET_BYTES = 20 * 1024 * 1024
MAX_CSV_CHARS = 2_000_000
MAX_NAME_CHARS = 200
MAX_SHOWN_PROBLEMS = 200
ENTRY_FIELDS = frozenset({"final_submission", "quality", "feedback"})
CSV_COLUMNS = ("student_or_file", "criterion", "points_or_level", "comment")
FEEDBACK_TEXT_KEYS = ("feedback", "comment", "text")
FEEDBACK_CRITERION_KEYS = ("criterion_id", "criterion", "id", "name")


@dataclass(frozen=True)
class Problem:
    """Why an entry or row was left out; `where` is "Entry 3", "Line 7" or a file's name."""

    where: str
    reason: str


@dataclass
class CalibrationImport:
    """What an import stored (None: nothing was good) and what it left out, and why."""

    calibration_set: CalibrationSet | None
    stored: int
    problems: list[Problem]
    warnings: list[str] = field(default_factory=list)
    rubric_reused: bool = False


@dataclass(frozen=True)
class _Entry:
    name: str
    content: bytes
    extracted: Extracted
    points: dict[int, int]  # criterion order (1, 2, …) → points
    comments: dict[int, str]
    comment: str = ""
    holistic: bool = False


class _Criteria:
    """The rubric's criteria as labels refer to them: by file id, key (C1) or title."""

    def __init__(self, criteria: Sequence[CriterionInput], ids: Sequence[str] = ()) -> None:
        self.criteria = list(criteria)
        self.names: dict[str, int] = {}
        for order, criterion in enumerate(self.criteria, start=1):
            for name in (f"C{order}", criterion.title, *ids[order - 1 : order]):
                self.names.setdefault(name.strip().lower(), order)

    def order_of(self, name: Any) -> int:
        order = self.names.get(str(name).strip().lower())
        if order is None:
            raise ApplicationError(f"the rubric has no criterion '{str(name)[:80]}'")
        return order

    def missing(self, orders) -> str:
        return ", ".join(
            f"C{order} {criterion.title}"
            for order, criterion in enumerate(self.criteria, start=1)
            if order not in orders
        )


# --- uploads: the web page, the API and the command -----------------------------------------


def _read_bounded(upload: File, limit: int, what: str) -> bytes:
    """An upload's bytes, refused over `limit` without reading more than one byte past it."""
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(f"The {what} is larger than {limit:,} bytes.")
    return content


def calibration_import_upload(
    *,
    course: Course,
    created_by,
    dataset: File | None = None,
    labels: File | None = None,
    archive: File | None = None,
    rubric_version: RubricVersion | None = None,
    task: str = "",
    name: str = "",
    band_points: Mapping[str, int] | None = None,
) -> CalibrationImport:
    """Import uploads: a dataset JSON (its bands worth `band_points`), or a labels CSV with its
    class ZIP, rubric and task."""
    if dataset is not None:
        return calibration_import_dataset(
            course=course,
            data=calibration_dataset_parse(
                content=_read_bounded(dataset, MAX_DATASET_BYTES, "dataset file")
            ),
            created_by=created_by,
            name=name,
            source=PurePosixPath(dataset.name or "").name[-200:],
            band_points=band_points,
        )
    if labels is None or archive is None or rubric_version is None or not task.strip():
        raise ApplicationError(
            "Upload a dataset file, or a labels CSV with its ZIP, rubric and task."
        )
    csv_text = calibration_file_text(
        content=_read_bounded(labels, MAX_CSV_CHARS, "labels CSV"), what="labels CSV"
    )
    return calibration_import_csv(
        course=course,
        rubric_version=rubric_version,
        task=task,
        csv_text=csv_text,
        zip_name=PurePosixPath(archive.name or "class.zip").name,
        zip_content=_read_bounded(archive, settings.AAIE_MAX_ZIP_BYTES, "class ZIP"),
        created_by=created_by,
        name=name,
    )


# --- the AAIE dataset JSON -----------------------------------------------------------------


def calibration_file_text(*, content: bytes, what: str, limit: int = MAX_DATASET_BYTES) -> str:
    """An uploaded dataset or CSV as text: bounded, UTF-8 (a byte-order mark is dropped)."""
    if len(content) > limit:
        raise ApplicationError(f"The {what} is larger than {limit:,} bytes.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(
            f"The {what} is not UTF-8 text (byte {error.start}); save it as UTF-8."
        ) from None


def calibration_dataset_parse(*, content: bytes) -> Any:
    """The JSON of an uploaded dataset file, or an ApplicationError that says what is wrong."""
    text = calibration_file_text(content=content, what="dataset file")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ApplicationError(f"The dataset file is not valid JSON: {error}.") from None


def calibration_import_dataset(
    *,
    course: Course,
    data: Any,
    created_by,
    name: str = "",
    task: str = "",
    source: str = "",
    band_points: Mapping[str, int] | None = None,
    criterion_points: Mapping[int, int] | None = None,
) -> CalibrationImport:
    """Import an AAIE dataset file as a calibration set (see the module's description).

    The rubric is read as a rubric import reads it (`band_points`, `criterion_points`); `task`
    replaces the file's `prompt` when given.
    """
    if not isinstance(data, Mapping):
        raise ApplicationError("The dataset must be a JSON object.")
    plan = rubric_import_plan(
        data=data,
        band_points=band_points,
        criterion_points=criterion_points,
        also_known=frozenset({"submissions"}),
    )
    items = data.get("submissions")
    if not isinstance(items, list) or not items:
        raise ApplicationError("The dataset has no 'submissions' list.")
    _check_count(len(items))
    entries, problems, ignored = _dataset_entries(
        items, _Criteria(plan.criteria, plan.criterion_ids)
    )
    warnings = list(plan.warnings)
    if ignored:
        warnings.append(f"Entries: the fields {', '.join(sorted(ignored))} are not read.")
    if not entries:
        return CalibrationImport(None, 0, problems, warnings)
    with transaction.atomic():
        version, reused = rubric_plan_save(plan=plan, created_by=created_by)
        calibration_set = _store_set(
            course=course,
            rubric_version=version,
            name=name or plan.name,
            task=task or plan.prompt,
            source=source,
            entries=entries,
            created_by=created_by,
        )
    return CalibrationImport(calibration_set, len(entries), problems, warnings, reused)


def _check_count(count: int) -> None:
    if count > MAX_ENTRIES:
        raise ApplicationError(
            f"{count} entries is more than the {MAX_ENTRIES} a calibration set may hold."
        )


def _dataset_entries(
    items: list, criteria: _Criteria
) -> tuple[list[_Entry], list[Problem], set[str]]:
    """The good entries, a problem per bad one, and the entry fields that are not read."""
    entries, problems, ignored = [], [], set()
    for number, item in enumerate(items, start=1):
        try:
            entries.append(_dataset_entry(number, item, criteria))
        except ApplicationError as error:
            problems.append(Problem(f"Entry {number}", error.message))
        if isinstance(item, Mapping):
            ignored |= {str(key)[:80] for key in item if key not in ENTRY_FIELDS}
    return entries, problems, ignored


def _dataset_entry(number: int, item: Any, criteria: _Criteria) -> _Entry:
    if not isinstance(item, Mapping):
        raise ApplicationError("must be an object")
    text = item.get("final_submission")
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError("final_submission is missing or not text")
    band = str(item.get("quality") or "").strip().lower().replace(" ", "_").replace("-", "_")
    if band not in DATASET_BANDS:
        raise ApplicationError(
            f"quality '{str(item.get('quality'))[:40]}' is not one of {', '.join(DATASET_BANDS)}"
        )
    points = {}
    for order, criterion in enumerate(criteria.criteria, start=1):
        level = next((lv for lv in criterion.levels if lv.label == band_label(band)), None)
        if level is None:
            raise ApplicationError(
                f"quality '{band}' is not a level of C{order} {criterion.title} "
                "(the rubric has no such band there)"
            )
        points[order] = level.points
    comments, comment = _feedback(item.get("feedback"), criteria)
    name = f"entry-{number:04d}.txt"
    content = text.encode("utf-8")
    return _Entry(name, content, _read(name, content), points, comments, comment, holistic=True)


def _feedback(value: Any, criteria: _Criteria) -> tuple[dict[int, str], str]:
    """Per-criterion comments and an overall one, from any of the shapes the dataset uses."""
    if value is None or value == "":
        return {}, ""
    if isinstance(value, str):
        return {}, _comment(value)
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        pairs = [
            (
                next((item[k] for k in FEEDBACK_CRITERION_KEYS if k in item), ""),
                next((item[k] for k in FEEDBACK_TEXT_KEYS if k in item), ""),
            )
            for item in value
        ]
    else:
        raise ApplicationError("feedback must be text, an object or a list of objects")
    comments: dict[int, str] = {}
    for criterion, text in pairs:
        order = criteria.order_of(criterion)
        comments[order] = _comment(text)
    return comments, ""


def _comment(value: Any) -> str:
    if not isinstance(value, str):
        raise ApplicationError("feedback must be text")
    if len(value) > MAX_COMMENT_CHARS:
        raise ApplicationError(f"feedback is longer than {MAX_COMMENT_CHARS} characters")
    return value.strip()


def _read(name: str, content: bytes) -> Extracted:
    if len(content) > settings.AAIE_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"{len(content):,} bytes is over the limit of {settings.AAIE_MAX_UPLOAD_BYTES:,}"
        )
    return extract(name, content, limits=archive_limits())


# --- a CSV of labels beside a class ZIP ------------------------------------------------------


def calibration_import_csv(
    *,
    course: Course,
    rubric_version: RubricVersion,
    task: str,
    csv_text: str,
    zip_name: str,
    zip_content: bytes,
    created_by,
    name: str = "",
) -> CalibrationImport:
    """Import a class ZIP whose files are marked by a CSV (`CSV_COLUMNS`, one row per file and
    criterion: the criterion by key or title, points or a level's label, a comment)."""
    if len(csv_text) > MAX_CSV_CHARS:
        raise ApplicationError(f"The CSV is longer than {MAX_CSV_CHARS:,} characters.")
    criteria = _Criteria(_criterion_inputs(rubric_version))
    groups, problems = _csv_groups(csv_text, criteria)
    _check_count(len(groups))
    archive = read_zip(
        zip_name,
        zip_content,
        limits=archive_limits(),
        budget=Budget.from_limits(archive_limits()),
    )
    problems += [Problem(rejected.path, rejected.reason) for rejected in archive.rejected]
    entries = []
    for member, rows in _matched(archive.members, groups, problems):
        try:
            entries.append(_csv_entry(member.path, member.content, rows))
        except ApplicationError as error:
            problems.append(Problem(member.path, error.message))
    if not entries:
        return CalibrationImport(None, 0, problems)
    with transaction.atomic():
        calibration_set = _store_set(
            course=course,
            rubric_version=rubric_version,
            name=name or PurePosixPath(zip_name).stem,
            task=task,
            source=PurePosixPath(zip_name).name,
            entries=entries,
            created_by=created_by,
        )
    return CalibrationImport(calibration_set, len(entries), problems)


def _criterion_inputs(version: RubricVersion) -> list[CriterionInput]:
    return [
        CriterionInput(c.title, c.max_points, list(c.levels.all()), c.description)
        for c in version.criteria.prefetch_related("levels").order_by("order")
    ]


def _csv_groups(
    csv_text: str, criteria: _Criteria
) -> tuple[dict[str, list[tuple[int, int, int, str]]], list[Problem]]:
    """{file name lower-cased: [(line, criterion order, points, comment)]}, and bad rows.

    A file with any bad row, or without a row for every criterion, is left out whole.
    """
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ApplicationError(
            f"The CSV lacks the columns {', '.join(missing)}; its header must be "
            f"{','.join(CSV_COLUMNS)}."
        )
    groups: dict[str, list[tuple[int, int, int, str]]] = {}
    bad: dict[str, str] = {}
    problems = []
    for row in reader:
        line = reader.line_num
        key = (row.get("student_or_file") or "").strip()
        try:
            order, points = _csv_label(row, criteria)
            if not key:
                raise ApplicationError("student_or_file is empty")
            if any(seen == order for _, seen, _, _ in groups.get(key.lower(), [])):
                raise ApplicationError(f"a second label for C{order} of {key[:80]}")
        except ApplicationError as error:
            problems.append(Problem(f"Line {line}", error.message))
            bad.setdefault(key.lower(), f"line {line} is bad")
            continue
        groups.setdefault(key.lower(), []).append((line, order, points, row["comment"] or ""))
    for key, rows in list(groups.items()):
        missing_criteria = criteria.missing({order for _, order, _, _ in rows})
        reason = bad.get(key) or (f"no label for {missing_criteria}" if missing_criteria else "")
        if reason:
            problems.append(Problem(f"Line {rows[0][0]}", f"{key[:80]}: not imported: {reason}"))
            del groups[key]
    return groups, problems


def _csv_label(row: Mapping[str, str | None], criteria: _Criteria) -> tuple[int, int]:
    order = criteria.order_of(row.get("criterion") or "")
    criterion = criteria.criteria[order - 1]
    raw = (row.get("points_or_level") or "").strip()
    if len(row.get("comment") or "") > MAX_COMMENT_CHARS:
        raise ApplicationError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    try:
        points = int(raw)
    except ValueError:
        level = next((lv for lv in criterion.levels if lv.label.lower() == raw.lower()), None)
        if level is None:
            raise ApplicationError(
                f"'{raw[:40]}' is neither points nor a level of C{order} {criterion.title}"
            ) from None
        return order, level.points
    if not 0 <= points <= criterion.max_points:
        raise ApplicationError(
            f"{points} is outside 0–{criterion.max_points} for C{order} {criterion.title}"
        )
    return order, points


def _matched(members, groups: dict[str, list], problems: list[Problem]):
    """(member, its rows) for each ZIP file a CSV group names: by path, file name or stem."""
    by_name: dict[str, list] = {}
    for member in members:
        path = PurePosixPath(member.path)
        for name in {member.path.lower(), path.name.lower(), path.stem.lower()}:
            by_name.setdefault(name, []).append(member)
    used = set()
    for key, rows in groups.items():
        found = by_name.get(key, [])
        if len(found) != 1:
            why = "no file of that name in the ZIP" if not found else "several files match"
            problems.append(Problem(f"Line {rows[0][0]}", f"{key[:80]}: {why}"))
            continue
        used.add(found[0].path)
        yield found[0], rows
    for member in members:
        if member.path not in used:
            problems.append(Problem(member.path, "no usable labels in the CSV; not imported"))


def _csv_entry(path: str, content: bytes, rows) -> _Entry:
    name = PurePosixPath(path).name
    return _Entry(
        name=name,
        content=content,
        extracted=_read(name, content),
        points={order: points for _, order, points, _ in rows},
        comments={order: comment.strip() for _, order, _, comment in rows},
    )


# --- storing --------------------------------------------------------------------------------


def _store_set(
    *,
    course: Course,
    rubric_version: RubricVersion,
    name: str,
    task: str,
    source: str,
    entries: Sequence[_Entry],
    created_by,
) -> CalibrationSet:
    """The set, its assignment and every entry, in the caller's transaction; files are removed
    again if anything fails."""
    name = name.strip()[:MAX_NAME_CHARS] or "Calibration set"
    if not task.strip():
        raise ApplicationError("The calibration set needs a task: the file has no prompt.")
    assignment = assignment_create(
        course=course, title=name, task=task, rubric_version=rubric_version
    )
    calibration_set = CalibrationSet.objects.create(
        assignment=assignment, name=name, source=source[:200], created_by=created_by
    )
    criteria = list(rubric_version.criteria.order_by("order"))
    stored: list[Submission] = []
    try:
        for number, entry in enumerate(entries, start=1):
            _store_entry(calibration_set, number, entry, criteria, created_by, stored)
    except BaseException:
        for submission in stored:
            submission.original_file.delete(save=False)
        raise
    return calibration_set


def _store_entry(
    calibration_set, number: int, entry: _Entry, criteria, created_by, stored: list[Submission]
) -> None:
    student = get_user_model().objects.create_user(
        username=pseudonym(calibration_set=calibration_set, number=number), is_active=False
    )
    submission = submission_create_for_calibration(
        assignment=calibration_set.assignment,
        student=student,
        name=entry.name,
        content=entry.content,
        extracted=entry.extracted,
        uploaded_by=created_by,
    )
    stored.append(submission)  # its file is removed again if anything after this fails
    review = review_save(
        submission=submission,
        actor=created_by,
        points={criteria[order - 1].pk: points for order, points in entry.points.items()},
        comments={criteria[order - 1].pk: text for order, text in entry.comments.items()},
        comment=entry.comment,
        provenance=Provenance.IMPORTED,
    )
    if entry.holistic:
        review.holistic = True
        review.save(update_fields=["holistic", "updated_at"])
    review_approve(review=review, actor=created_by)


def pseudonym(*, calibration_set: CalibrationSet, number: int) -> str:
    """The username of a calibration set's n-th student: never a real person's."""
    return f"calib-{calibration_set.pk}-{number}"
