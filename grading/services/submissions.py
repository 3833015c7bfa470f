"""Submissions: uploaded files become attempts, with their text, flags and original kept.

One file for one student, read now (`submission_create`: the light worker, the demo data);
uploads from pages and the API go through grading/services/uploads.py, which builds and saves
rows with `submission_build` and `submission_save_attempt`. A file that matched nobody waits as an
UnmatchedUpload until an educator assigns it (`unmatched_upload_assign`) or discards it.
Nothing is half-written: a file is stored together with its row, or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from grading.errors import ApplicationError
from grading.files import field_file_save
from grading.ingest.archive import ArchiveLimits
from grading.ingest.detect import extension_of
from grading.ingest.extract import Extracted, extract
from grading.ingest.text import clean_file_name
from grading.llm.injection import detect_injection
from grading.models import Assignment, CalibrationSet, Enrolment, Submission, UnmatchedUpload

INJECTION_FLAG = "injection_suspected"
# The detector could not tell (its grey band): the second stage or a person decides.
INJECTION_UNSURE_FLAG = "injection_unsure"


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.AAIE_MAX_ZIP_MEMBERS,
        max_total_bytes=settings.AAIE_MAX_ZIP_TOTAL_BYTES,
        max_ratio=settings.AAIE_MAX_ZIP_RATIO,
        max_member_bytes=settings.AAIE_MAX_UPLOAD_BYTES,
    )


def submission_create(
    *, assignment: Assignment, student, upload: UploadedFile, uploaded_by
) -> Submission:
    """Keep the original file, its text, hash and flags, as the student's next attempt.

    A ZIP is one student's project: its files' texts together make the submission's text.
    """
    name, content = upload_read(upload)
    extracted = extract(name, content, limits=archive_limits())
    return _store(
        assignment=assignment,
        student=student,
        name=name,
        content=content,
        extracted=extracted,
        uploaded_by=uploaded_by,
    )


def submission_create_for_calibration(
    *, assignment: Assignment, student, name: str, content: bytes, extracted: Extracted, uploaded_by
) -> Submission:
    """Store already-marked work for a calibration set's pseudonymous student (never enrolled),
    hashed and checked for injection as any upload is. `extracted` is `extract(name, content)`,
    read by the caller first so that an unreadable file is refused before anything is stored."""
    return _store(
        assignment=assignment,
        student=student,
        name=clean_file_name(name),
        content=content,
        extracted=extracted,
        uploaded_by=uploaded_by,
        enrolled=False,
    )


def unmatched_upload_assign(*, unmatched: UnmatchedUpload, student, assigned_by) -> Submission:
    """The waiting file becomes the student's next attempt; the waiting copy is removed."""
    name = clean_file_name(unmatched.original_name)
    already_gone = ApplicationError(f"{name} was assigned or discarded already.")
    if not UnmatchedUpload.objects.filter(pk=unmatched.pk).exists():
        raise already_gone
    try:
        with unmatched.original_file.open("rb") as stored:
            content = stored.read()
    except (OSError, ValueError):
        raise ApplicationError(f"{name}: the stored file is missing; upload it again.") from None
    extracted = extract(name, content, limits=archive_limits())

    def remove_waiting_row() -> None:
        deleted, _ = UnmatchedUpload.objects.filter(pk=unmatched.pk).delete()
        if not deleted:
            raise already_gone

    submission = _store(
        assignment=unmatched.assignment,
        student=student,
        name=name,
        content=content,
        extracted=extracted,
        uploaded_by=unmatched.uploaded_by,
        also=remove_waiting_row,
    )
    _delete_file_after_commit(unmatched.original_file)
    return submission


def unmatched_upload_discard(*, unmatched: UnmatchedUpload) -> None:
    """The educator decided the file is no one's submission (a README, a stray copy)."""
    with transaction.atomic():
        deleted, _ = UnmatchedUpload.objects.filter(pk=unmatched.pk).delete()
        if not deleted:
            raise ApplicationError(f"{unmatched.original_name} was assigned or discarded already.")
        _delete_file_after_commit(unmatched.original_file)


# --- steps ------------------------------------------------------------------------------------


def upload_read(upload: UploadedFile) -> tuple[str, bytes]:
    """The cleaned name and the bytes, refused over the limit for its kind (ZIPs may be larger)."""
    name = clean_file_name(upload.name or "")
    limit = (
        settings.AAIE_MAX_ZIP_BYTES
        if extension_of(name) == ".zip"
        else settings.AAIE_MAX_UPLOAD_BYTES
    )
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(
            f"{name}: {upload.size:,} bytes is over the limit of {limit:,} bytes."
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(f"{name}: the file is over the limit of {limit:,} bytes.")
    return name, content


def _flags(extracted: Extracted) -> dict:
    flags = dict(extracted.flags)
    report = detect_injection(extracted.text, hidden_passages=extracted.hidden_passages)
    if report.suspected:
        flags[INJECTION_FLAG] = report.as_flag()
    elif report.ambiguous:
        flags[INJECTION_UNSURE_FLAG] = report.as_flag()
    return flags


def _store(
    *,
    assignment: Assignment,
    student,
    name: str,
    content: bytes,
    extracted: Extracted,
    uploaded_by,
    also: Callable[[], None] | None = None,
    enrolled: bool = True,
) -> Submission:
    """Save the file and its row as the student's next attempt, in one transaction with `also`.

    `enrolled=False` is for a calibration set's pseudonyms, who are never on a course's roster.
    """
    submission = submission_build(
        assignment=assignment,
        student=student,
        name=name,
        content=content,
        extracted=extracted,
        uploaded_by=uploaded_by,
    )
    field_file_save(submission.original_file, name=name, content=content)
    try:
        with transaction.atomic():
            submission_save_attempt(submission=submission, enrolled=enrolled)
            if also is not None:
                also()
    except BaseException:
        # Nothing half-written: no stored file without its row.
        submission.original_file.delete(save=False)
        raise
    return submission


def submission_build(
    *,
    assignment: Assignment,
    student,
    name: str,
    content: bytes,
    extracted: Extracted,
    uploaded_by,
) -> Submission:
    """The unsaved row with its text and flags (injection detection, the slow part, runs here)."""
    return Submission(
        assignment=assignment,
        student=student,
        original_name=name,
        text=extracted.text,
        content_hash=hashlib.sha256(content).hexdigest(),
        size=len(content),
        uploaded_by=uploaded_by,
        flags=_flags(extracted),
    )


def assignment_takes_uploads(*, assignment: Assignment) -> None:
    """Refuse uploads to a calibration set: its work is marked already, and a class's upload
    would mix into its labels."""
    if CalibrationSet.objects.filter(assignment=assignment).exists():
        raise ApplicationError(
            "This is a calibration set: it takes no uploads; import another set instead."
        )


def submission_save_attempt(*, submission: Submission, enrolled: bool = True) -> None:
    """Save the built row as the student's next attempt; call inside a transaction.

    `enrolled=False` is for a calibration set's pseudonyms, who are never on a course's roster.
    """
    assignment, student = submission.assignment, submission.student
    # Locking the enrolment serialises this student's uploads: attempts never collide.
    enrolment = (
        Enrolment.objects.select_for_update()
        .filter(course=assignment.course_id, user=student, role=Enrolment.Role.STUDENT)
        .first()
    )
    if enrolment is None and enrolled:
        raise ApplicationError(f"{student} is not a student of {assignment.course.code}.")
    if enrolled:
        assignment_takes_uploads(assignment=assignment)
    last_attempt = Submission.objects.filter(assignment=assignment, student=student).aggregate(
        last=Max("attempt")
    )["last"]
    submission.attempt = (last_attempt or 0) + 1
    submission.save()


def _delete_file_after_commit(field_file) -> None:
    storage, path = field_file.storage, field_file.name
    transaction.on_commit(lambda: storage.delete(path))
