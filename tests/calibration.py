"""A calibration set built row by row, as the importer leaves one: for tests of what reads it."""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from grading.models import CalibrationSet, Submission
from grading.services.courses import assignment_create
from grading.services.reviews import review_approve, review_save
from grading.vocabulary import Provenance

ESSAYS = [
    "Recursion: a function that calls itself until a base case.",
    "Loops repeat; recursion nests calls on a stack.",
    "Ein rekursiver Aufruf braucht einen Basisfall — sonst läuft er endlos.",
    "Recursion is when a thing is defined in terms of itself.",
    "A base case stops recursion; each call works on a smaller input.",
    "Đệ quy là khi một hàm gọi chính nó.",
]


def make_calibration_set(course, rubric_version, educator, marks: list[dict[int, int]]):
    """A set as the importer makes it: pseudonymous students, imported approved marks.

    `marks` gives the person's points per criterion order, one dict per essay."""
    assignment = assignment_create(
        course=course, title="Calibration", task="Explain recursion.", rubric_version=rubric_version
    )
    calibration_set = CalibrationSet.objects.create(
        assignment=assignment, name="Essays 2025", created_by=educator
    )
    criteria = {c.order: c for c in rubric_version.criteria.all()}
    for number, (text, mark) in enumerate(zip(ESSAYS, marks, strict=False), start=1):
        pseudonym = get_user_model().objects.create_user(
            username=f"calib-{calibration_set.pk}-{number}", is_active=False
        )
        submission = Submission(
            assignment=assignment,
            student=pseudonym,
            original_name=f"entry-{number}.txt",
            text=text,
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
            size=len(text.encode()),
            uploaded_by=educator,
        )
        submission.original_file.save("entry.txt", ContentFile(text.encode()))
        review = review_save(
            submission=submission,
            actor=educator,
            points={criteria[order].pk: points for order, points in mark.items()},
            comments={},
            comment="",
            provenance=Provenance.IMPORTED,
        )
        review_approve(review=review, actor=educator)
    return calibration_set
