"""Submissions: store an uploaded file as a new attempt with its extracted text."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from grading.errors import ApplicationError
from grading.ingest.text import clean_file_name, extract_text
from grading.models import Assignment, Enrolment, Submission


def submission_create(
    *, assignment: Assignment, student, upload: UploadedFile, uploaded_by
) -> Submission:
    """Keep the original file, its text and hash, as the student's next attempt."""
    name = clean_file_name(upload.name or "")
    if upload.size is not None and upload.size > settings.AAIE_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"{name}: {upload.size:,} bytes is over the limit of "
            f"{settings.AAIE_MAX_UPLOAD_BYTES:,} bytes."
        )
    content = upload.read(settings.AAIE_MAX_UPLOAD_BYTES + 1)
    if len(content) > settings.AAIE_MAX_UPLOAD_BYTES:
        raise ApplicationError(f"{name}: the file is over the size limit.")
    text = extract_text(name, content)
    submission = Submission(
        assignment=assignment,
        student=student,
        original_name=name,
        text=text,
        content_hash=hashlib.sha256(content).hexdigest(),
        size=len(content),
        uploaded_by=uploaded_by,
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
    except BaseException:
        # Nothing half-written: no stored file without its row.
        submission.original_file.delete(save=False)
        raise
    return submission
