"""Uploads off the request path: the request keeps the originals, a light worker reads them.

1. `upload_accept` (in the request): refuse what concerns the whole upload (too many files, a bad
   roster, nothing usable), save the original files and an UploadBatch (PROCESSING), and send
   `grading.tasks.process_upload` once that commits. A retry with the same idempotency key gets
   the same upload back and stores nothing again.
2. `upload_batch_process` (on the light worker): read every file — extraction and injection
   detection, the slow part, outside any transaction — then store every submission and
   unmatched file of the upload in one transaction, or, on any failure, none of them: the
   upload is FAILED with the reason and every file this attempt wrote is removed.
3. `upload_batch_resend_if_lost`: a page or API poll sends the task again when the broker lost
   it (or its worker died), so an upload never waits forever.
A submission exists only once its text is read, so nothing can be graded before that.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from grading.errors import ApplicationError
from grading.files import bytes_save, field_file_save, files_delete
from grading.ingest.archive import Budget, Rejected, iter_zip
from grading.ingest.detect import describe, detect_kind, extension_of
from grading.ingest.extract import Extracted, extract
from grading.ingest.roster import Roster, StudentMatcher, StudentRef, parse_roster
from grading.ingest.text import clean_file_name
from grading.models import Assignment, Enrolment, Submission, UnmatchedUpload, UploadBatch
from grading.services.submissions import (
    archive_limits,
    assignment_takes_uploads,
    submission_build,
    submission_save_attempt,
    upload_read,
)

logger = logging.getLogger(__name__)

PROCESS_UPLOAD_TASK = "grading.tasks.process_upload"
MAX_IDEMPOTENCY_KEY_LENGTH = 100
STAGING_FOLDER = "uploads"  # originals waiting for the light worker
# A started upload is sent again only once its task's hard time limit has surely passed.
RUNNING_STALE_SECONDS = 15 * 60


class Outcome:
    STORED = "stored"
    UNMATCHED = "unmatched"
    REJECTED = "rejected"


def upload_accept(
    *,
    assignment: Assignment,
    uploads: list[UploadedFile],
    uploaded_by,
    student=None,
    roster: UploadedFile | None = None,
    idempotency_key: str = "",
) -> UploadBatch:
    """Keep the originals and the upload's record, and have a light worker read them.

    With a student (chosen by an educator, or a student's own upload) every file is theirs and a
    ZIP is their project; without one, a ZIP is a class matched by the roster or file names.
    """
    assignment_takes_uploads(assignment=assignment)
    _check_whole_upload(uploads, idempotency_key)
    if idempotency_key and (earlier := _by_key(uploaded_by, idempotency_key)) is not None:
        return earlier
    roster_content = _roster_content(roster) if roster is not None else None
    saved: list[str] = []  # every file written here, removed again on any failure
    try:
        staged = [_stage(upload, assignment, saved) for upload in uploads]
        if all(entry["error"] for entry in staged):
            raise ApplicationError(" ".join(entry["error"] for entry in staged), field="files")
        roster_path = "" if roster_content is None else _save_original(
            assignment, roster_content, saved
        )  # fmt: skip
        with transaction.atomic():
            batch = UploadBatch.objects.create(
                assignment=assignment,
                uploaded_by=uploaded_by,
                student=student,
                staged=staged,
                roster_path=roster_path,
                idempotency_key=idempotency_key,
                dispatched_at=timezone.now(),
            )
            _send_after_commit(batch.pk)
    except IntegrityError:
        files_delete(saved)
        earlier = _by_key(uploaded_by, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return earlier  # a parallel retry with the same key stored it first
    except BaseException:
        files_delete(saved)
        raise
    return batch


def upload_batch_process(*, batch_id: int) -> None:
    """Read the upload's files and store what became of each, all together (see the module)."""
    started = UploadBatch.objects.filter(pk=batch_id, status=UploadBatch.Status.PROCESSING).update(
        started_at=timezone.now()
    )
    if not started:
        return  # read already: a task delivered twice
    batch = UploadBatch.objects.select_related("assignment__course", "student").get(pk=batch_id)
    try:
        items, warnings = _read_all(batch)
        _store_all(batch, items, warnings)
    except ApplicationError as error:
        upload_batch_fail(batch_id=batch_id, error=error.message)


def upload_batch_fail(*, batch_id: int, error: str) -> None:
    """Nothing of the upload is stored: say why, and remove the originals it waited with."""
    with transaction.atomic():
        batch = UploadBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status != UploadBatch.Status.PROCESSING:
            return
        originals = _original_paths(batch)
        batch.status = UploadBatch.Status.FAILED
        batch.error = error
        batch.staged, batch.roster_path = [], ""
        batch.finished_at = timezone.now()
        batch.save()
        transaction.on_commit(lambda: files_delete(originals))


def upload_batch_resend_if_lost(*, batch: UploadBatch) -> bool:
    """Send the upload's task again if no worker took it in time (the broker lost it) or the
    worker that took it surely died; True if sent. Only one caller of many sends it."""
    if batch.status != UploadBatch.Status.PROCESSING:
        return False
    now = timezone.now()
    if batch.started_at is not None:
        lost = batch.started_at < now - timedelta(seconds=RUNNING_STALE_SECONDS)
    else:
        since = batch.dispatched_at or batch.created_at
        lost = since < now - timedelta(seconds=settings.AAIE_UPLOAD_QUEUED_STALE_SECONDS)
    if not lost:
        return False
    with transaction.atomic():
        sent = UploadBatch.objects.filter(
            pk=batch.pk,
            status=UploadBatch.Status.PROCESSING,
            dispatched_at=batch.dispatched_at,
            started_at=batch.started_at,
        ).update(dispatched_at=now, started_at=None)
        if sent:
            logger.warning("Upload %s had no live task; sending it again.", batch.pk)
            _send_after_commit(batch.pk)
    return bool(sent)


# --- In the request ---------------------------------------------------------------------------


def _check_whole_upload(uploads: list[UploadedFile], idempotency_key: str) -> None:
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ApplicationError(
            f"The idempotency key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters."
        )
    if len(uploads) > settings.AAIE_MAX_FILES_PER_UPLOAD:
        raise ApplicationError(
            f"{len(uploads)} files is more than the {settings.AAIE_MAX_FILES_PER_UPLOAD} allowed "
            "in one upload; put them in a ZIP.",
            field="files",
        )


def _by_key(uploaded_by, key: str) -> UploadBatch | None:
    return UploadBatch.objects.filter(uploaded_by=uploaded_by, idempotency_key=key).first()


def _roster_content(roster: UploadedFile) -> bytes:
    content = roster.read(settings.AAIE_MAX_UPLOAD_BYTES + 1)
    _parse_roster(content)  # a bad roster refuses the whole upload at once
    return content


def _parse_roster(content: bytes) -> Roster:
    try:
        return parse_roster(content)
    except ApplicationError as error:
        raise ApplicationError(error.message, field="roster") from None


def _stage(upload: UploadedFile, assignment: Assignment, saved: list[str]) -> dict:
    """Save one original as uploaded; a file refused here (its name, its size) gets no path."""
    try:
        name, content = upload_read(upload)
    except ApplicationError as error:
        return {
            "name": _shown_name(upload),
            "path": "",
            "size": upload.size,
            "error": error.message,
        }
    path = _save_original(assignment, content, saved)
    return {"name": name, "path": path, "size": len(content), "error": ""}


def _save_original(assignment: Assignment, content: bytes, saved: list[str]) -> str:
    path = bytes_save(path=f"{STAGING_FOLDER}/{assignment.pk}/{uuid.uuid4().hex}", content=content)
    saved.append(path)
    return path


def _shown_name(upload: UploadedFile) -> str:
    try:
        return clean_file_name(upload.name or "")
    except ApplicationError:
        return "(no name)"


def _send_after_commit(batch_id: int) -> None:
    def send() -> None:
        from grading.tasks import process_upload  # the task module imports this one

        try:
            process_upload.delay(batch_id)
        except Exception:
            # The upload is saved; the next poll of its page sends the task again.
            logger.exception("Could not send upload %s to the light worker.", batch_id)

    transaction.on_commit(send)


# --- On the light worker ----------------------------------------------------------------------


@dataclass
class _Item:
    """One file of the upload: what it became, and what to store for it."""

    name: str  # as shown: the file, or its path inside an uploaded ZIP
    outcome: str
    reason: str = ""
    student: object | None = None
    content: bytes = b""
    extracted: Extracted | None = None
    row: Submission | UnmatchedUpload | None = field(default=None, repr=False)


def _read_all(batch: UploadBatch) -> tuple[list[_Item], list[str]]:
    """What each file of the upload becomes; no row or file is written yet."""
    files = list(_staged_files(batch))
    if batch.student is not None:
        items = [_read_for_student(batch.student, *file) for file in files]
        return items, []
    roster = _parse_roster(_open(batch.roster_path)) if batch.roster_path else None
    matcher = StudentMatcher(_students_of(batch.assignment), roster)
    budget = Budget.from_limits(archive_limits())
    items = []
    for name, content, error in files:
        if error:
            items.append(_Item(name, Outcome.REJECTED, error))
            continue
        for path, member, reason in _class_files(name, content, budget):
            items.append(_read_matched(matcher, path, member, reason, budget))
    return items, matcher.warnings


def _staged_files(batch: UploadBatch) -> Iterable[tuple[str, bytes, str]]:
    for entry in batch.staged:
        if entry["error"]:
            yield entry["name"], b"", entry["error"]
            continue
        try:
            yield entry["name"], _open(entry["path"]), ""
        except OSError:
            yield (
                entry["name"],
                b"",
                f"{entry['name']}: the uploaded file is missing; upload it again.",
            )


def _open(path: str) -> bytes:
    with default_storage.open(path, "rb") as stored:
        return stored.read()


def _read_for_student(student, name: str, content: bytes, error: str) -> _Item:
    if error:
        return _Item(name, Outcome.REJECTED, error)
    try:
        extracted = extract(name, content, limits=archive_limits())
    except ApplicationError as failure:
        return _Item(name, Outcome.REJECTED, failure.message)
    return _Item(name, Outcome.STORED, "", student, content, extracted)


def _class_files(name: str, content: bytes, budget: Budget) -> Iterable[tuple[str, bytes, str]]:
    """(path, content, error) for each file of one upload: a ZIP's files, or the file itself."""
    if extension_of(name) != ".zip":
        yield name, content, ""
        return
    try:
        detect_kind(name, content)  # a .zip that is not a ZIP says what it really is
        # One member inflated at a time, its bytes counted against the limits as they come.
        for item in iter_zip(
            name,
            content,
            limits=archive_limits(),
            budget=budget,
            allow_nested=True,
            is_nested_archive=lambda data: describe(data) == "a ZIP archive",
        ):
            if isinstance(item, Rejected):
                yield f"{name}/{item.path}", b"", f"{item.path}: {item.reason}"
            else:
                yield f"{name}/{item.path}", item.content, ""
    except ApplicationError as error:
        yield name, b"", error.message


def _read_matched(
    matcher: StudentMatcher, path: str, content: bytes, error: str, budget: Budget
) -> _Item:
    if error:
        return _Item(path, Outcome.REJECTED, error)
    try:
        extracted = extract(clean_file_name(path), content, limits=archive_limits(), budget=budget)
    except ApplicationError as failure:
        return _Item(path, Outcome.REJECTED, failure.message)
    match = matcher.match(_path_inside_upload(path))
    if match.student is None:
        return _Item(path, Outcome.UNMATCHED, match.reason, content=content)
    student = get_user_model().objects.get(pk=match.student)
    return _Item(path, Outcome.STORED, match.reason, student, content, extracted)


def _path_inside_upload(path: str) -> str:
    """Matching looks at the file's own path: the class ZIP's name names no student."""
    parts = PurePosixPath(path).parts
    return "/".join(parts[1:]) if len(parts) > 1 else path


def _students_of(assignment: Assignment) -> list[StudentRef]:
    users = get_user_model().objects.filter(
        enrolments__course=assignment.course_id, enrolments__role=Enrolment.Role.STUDENT
    )
    return [
        StudentRef(
            key=user.pk,
            username=user.get_username(),
            email=user.email or "",
            full_name=user.get_full_name(),
        )
        for user in users
    ]


def _store_all(batch: UploadBatch, items: list[_Item], warnings: list[str]) -> None:
    """Save every file, then every row with the batch's result in one transaction; on any
    failure remove every file saved here. The originals go once that commits."""
    written: list[str] = []
    try:
        for item in items:
            _build_row(batch, item, written)
        with transaction.atomic():
            locked = UploadBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != UploadBatch.Status.PROCESSING:
                raise _ReadAlready()
            for item in items:
                _save_row(locked, item)
            originals = _original_paths(locked)
            locked.results = [_result(item) for item in items]
            locked.warnings = warnings
            locked.status = UploadBatch.Status.DONE
            locked.staged, locked.roster_path = [], ""
            locked.finished_at = timezone.now()
            locked.save()
            transaction.on_commit(lambda: files_delete(originals))
    except _ReadAlready:
        files_delete(written)
    except BaseException:
        files_delete(written)
        raise


class _ReadAlready(Exception):
    """Another delivery of the same task stored the upload first."""


def _build_row(batch: UploadBatch, item: _Item, written: list[str]) -> None:
    if item.outcome == Outcome.STORED:
        name = clean_file_name(item.name)
        item.row = submission_build(
            assignment=batch.assignment,
            student=item.student,
            name=name,
            content=item.content,
            extracted=item.extracted,
            uploaded_by=batch.uploaded_by,
        )
    elif item.outcome == Outcome.UNMATCHED:
        name = clean_file_name(item.name)
        item.row = UnmatchedUpload(
            assignment=batch.assignment,
            original_name=item.name[-500:],
            size=len(item.content),
            reason=item.reason[:500],
            uploaded_by=batch.uploaded_by,
        )
    else:
        return
    field_file_save(item.row.original_file, name=name, content=item.content)
    written.append(item.row.original_file.name)


def _save_row(batch: UploadBatch, item: _Item) -> None:
    if isinstance(item.row, UnmatchedUpload):
        item.row.batch = batch
        item.row.save()
    elif isinstance(item.row, Submission):
        try:
            with transaction.atomic():
                submission_save_attempt(submission=item.row)
        except ApplicationError as error:  # e.g. the student left the course meanwhile
            files_delete([item.row.original_file.name])
            item.outcome, item.reason, item.row = Outcome.REJECTED, error.message, None


def _original_paths(batch: UploadBatch) -> list[str]:
    return [entry["path"] for entry in batch.staged if entry.get("path")] + [batch.roster_path]


def _result(item: _Item) -> dict:
    stored = isinstance(item.row, Submission)
    return {
        "name": item.name,
        "outcome": item.outcome,
        "reason": item.reason,
        "student": _display(item.student) if stored else "",
        "flags": sorted(item.row.flags) if stored else [],
    }


def _display(user) -> str:
    full_name = user.get_full_name()
    return f"{full_name} ({user.get_username()})" if full_name else user.get_username()
