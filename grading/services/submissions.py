"""Submissions: uploaded files become attempts, with their text, flags and original kept.

One file for one student (`submission_create`); one upload of many files or ZIPs, matched to
students by a roster or by file name (`submission_import`); a file that matched nobody waits as an
UnmatchedUpload until an educator assigns it (`unmatched_upload_assign`) or discards it.
Nothing is half-written: a file is stored together with its row, or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from grading.errors import ApplicationError
from grading.ingest.archive import ArchiveLimits, Budget, Rejected, iter_zip
from grading.ingest.detect import describe, detect_kind, extension_of
from grading.ingest.extract import Extracted, extract
from grading.ingest.roster import Roster, StudentMatcher, StudentRef, parse_roster
from grading.ingest.text import clean_file_name
from grading.llm.injection import detect_injection
from grading.models import Assignment, Enrolment, Submission, UnmatchedUpload, UploadBatch

INJECTION_FLAG = "injection_suspected"


class Outcome:
    STORED = "stored"
    UNMATCHED = "unmatched"
    REJECTED = "rejected"


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
    name, content = _read_upload(upload)
    extracted = extract(name, content, limits=archive_limits())
    return _store(
        assignment=assignment,
        student=student,
        name=name,
        content=content,
        extracted=extracted,
        uploaded_by=uploaded_by,
    )


def submission_import(
    *,
    assignment: Assignment,
    uploads: list[UploadedFile],
    uploaded_by,
    student=None,
    roster: UploadedFile | None = None,
) -> UploadBatch:
    """Store every good file of one upload and say what became of each.

    1. Refuse the whole upload only for what concerns all of it: too many files, a bad roster.
    2. With a student chosen, every file is that student's (a ZIP is their project). Otherwise a
       ZIP is a class: each file in it (a ZIP in it is one student's project) is matched to a
       student by the roster or its name.
    3. Each file is stored, kept as unmatched, or rejected with a reason, on its own: one bad file
       never stops the others.
    """
    if len(uploads) > settings.AAIE_MAX_FILES_PER_UPLOAD:
        raise ApplicationError(
            f"{len(uploads)} files is more than the {settings.AAIE_MAX_FILES_PER_UPLOAD} allowed "
            "in one upload; put them in a ZIP.",
            field="files",
        )
    parsed_roster = _parse_roster(roster) if roster is not None else None
    results: list[dict] = []
    warnings: list[str] = []
    unmatched: list[UnmatchedUpload] = []
    if student is not None:
        for upload in uploads:
            results.append(_import_for_student(assignment, student, upload, uploaded_by))
    else:
        matcher = StudentMatcher(_students_of(assignment), parsed_roster)
        warnings = matcher.warnings
        budget = Budget.from_limits(archive_limits())
        for upload in uploads:
            for path, content, error in _class_files(upload, budget):
                if error:
                    results.append(_result(path, Outcome.REJECTED, error))
                    continue
                results.append(
                    _import_matched(
                        assignment, matcher, path, content, uploaded_by, budget, unmatched
                    )
                )
    batch = UploadBatch.objects.create(
        assignment=assignment, uploaded_by=uploaded_by, results=results, warnings=warnings
    )
    if unmatched:
        UnmatchedUpload.objects.filter(pk__in=[item.pk for item in unmatched]).update(batch=batch)
    return batch


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


def _read_upload(upload: UploadedFile) -> tuple[str, bytes]:
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


def _parse_roster(roster: UploadedFile) -> Roster:
    try:
        return parse_roster(roster.read(settings.AAIE_MAX_UPLOAD_BYTES + 1))
    except ApplicationError as error:
        raise ApplicationError(error.message, field="roster") from None


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


def _class_files(upload: UploadedFile, budget: Budget) -> Iterable[tuple[str, bytes, str | None]]:
    """(path, content, error) for each file of an upload: a ZIP's files, or the file itself."""
    try:
        name, content = _read_upload(upload)
    except ApplicationError as error:
        yield _shown_name(upload), b"", error.message
        return
    if extension_of(name) != ".zip":
        yield name, content, None
        return
    try:
        detect_kind(name, content)  # a .zip that is not a ZIP says what it really is
        # One member at a time: the caller stores each before the next is inflated.
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
                yield f"{name}/{item.path}", item.content, None
    except ApplicationError as error:
        yield name, b"", error.message


def _shown_name(upload: UploadedFile) -> str:
    try:
        return clean_file_name(upload.name or "")
    except ApplicationError:
        return "(no name)"


def _import_for_student(assignment, student, upload, uploaded_by) -> dict:
    name = _shown_name(upload)
    try:
        submission = submission_create(
            assignment=assignment, student=student, upload=upload, uploaded_by=uploaded_by
        )
    except ApplicationError as error:
        return _result(name, Outcome.REJECTED, error.message)
    return _result(
        name, Outcome.STORED, "", student=_display(student), flags=sorted(submission.flags)
    )


def _import_matched(
    assignment: Assignment,
    matcher: StudentMatcher,
    path: str,
    content: bytes,
    uploaded_by,
    budget: Budget,
    unmatched: list[UnmatchedUpload],
) -> dict:
    name = clean_file_name(path)
    try:
        extracted = extract(name, content, limits=archive_limits(), budget=budget)
    except ApplicationError as error:
        return _result(path, Outcome.REJECTED, error.message)
    match = matcher.match(_path_inside_upload(path))
    if match.student is None:
        unmatched.append(_keep_unmatched(assignment, path, content, match.reason, uploaded_by))
        return _result(path, Outcome.UNMATCHED, match.reason)
    student = get_user_model().objects.get(pk=match.student)
    try:
        submission = _store(
            assignment=assignment,
            student=student,
            name=name,
            content=content,
            extracted=extracted,
            uploaded_by=uploaded_by,
        )
    except ApplicationError as error:
        return _result(path, Outcome.REJECTED, error.message)
    return _result(
        path,
        Outcome.STORED,
        match.reason,
        student=_display(student),
        flags=sorted(submission.flags),
    )


def _path_inside_upload(path: str) -> str:
    """Matching looks at the file's own path: the class ZIP's name names no student."""
    parts = PurePosixPath(path).parts
    return "/".join(parts[1:]) if len(parts) > 1 else path


def _keep_unmatched(assignment, path, content, reason, uploaded_by) -> UnmatchedUpload:
    unmatched = UnmatchedUpload(
        assignment=assignment,
        original_name=path[-500:],
        size=len(content),
        reason=reason[:500],
        uploaded_by=uploaded_by,
    )
    unmatched.original_file.save(clean_file_name(path), ContentFile(content), save=False)
    try:
        unmatched.save()
    except BaseException:
        unmatched.original_file.delete(save=False)
        raise
    return unmatched


def _flags(extracted: Extracted) -> dict:
    flags = dict(extracted.flags)
    report = detect_injection(extracted.text, hidden_passages=extracted.hidden_passages)
    if report.suspected:
        flags[INJECTION_FLAG] = report.as_flag()
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
) -> Submission:
    """Save the file and its row as the student's next attempt, in one transaction with `also`."""
    submission = Submission(
        assignment=assignment,
        student=student,
        original_name=name,
        text=extracted.text,
        content_hash=hashlib.sha256(content).hexdigest(),
        size=len(content),
        uploaded_by=uploaded_by,
        flags=_flags(extracted),
    )
    submission.original_file.save(name, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            # Locking the enrolment serialises this student's uploads: attempts never collide.
            enrolment = (
                Enrolment.objects.select_for_update()
                .filter(course=assignment.course_id, user=student, role=Enrolment.Role.STUDENT)
                .first()
            )
            if enrolment is None:
                raise ApplicationError(f"{student} is not a student of {assignment.course.code}.")
            last_attempt = Submission.objects.filter(
                assignment=assignment, student=student
            ).aggregate(last=Max("attempt"))["last"]
            submission.attempt = (last_attempt or 0) + 1
            submission.save()
            if also is not None:
                also()
    except BaseException:
        # Nothing half-written: no stored file without its row.
        submission.original_file.delete(save=False)
        raise
    return submission


def _delete_file_after_commit(field_file) -> None:
    storage, path = field_file.storage, field_file.name
    transaction.on_commit(lambda: storage.delete(path))


def _result(name: str, outcome: str, reason: str, *, student: str = "", flags=()) -> dict:
    return {
        "name": name,
        "outcome": outcome,
        "reason": reason,
        "student": student,
        "flags": list(flags),
    }


def _display(user) -> str:
    full_name = user.get_full_name()
    return f"{full_name} ({user.get_username()})" if full_name else user.get_username()
