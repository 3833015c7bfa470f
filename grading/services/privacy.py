"""A student's data: everything AAIE holds about them, exported or erased on an admin's request."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from grading.models import AuditEvent, Enrolment, RegradeRequest, Submission


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def student_data_export(*, student) -> dict[str, Any]:
    """Everything stored about the student, as JSON-ready data (the right of access)."""
    submissions = (
        Submission.objects.filter(student=student)
        .select_related("assignment__course", "review")
        .prefetch_related("runs__results__criterion", "review__criteria__criterion")
        .order_by("submitted_at")
    )
    return {
        "exported_at": _iso(timezone.now()),
        "user": {
            "username": student.get_username(),
            "first_name": student.first_name,
            "last_name": student.last_name,
            "email": student.email,
            "date_joined": _iso(student.date_joined),
            "last_login": _iso(student.last_login),
        },
        "enrolments": [
            {"course": e.course.code, "role": e.role}
            for e in Enrolment.objects.filter(user=student).select_related("course")
        ],
        "submissions": [_submission(submission) for submission in submissions],
        "regrade_requests": [
            {
                "submission_id": r.submission_id,
                "reason": r.reason,
                "status": r.status,
                "response": r.response,
                "created_at": _iso(r.created_at),
            }
            for r in RegradeRequest.objects.filter(student=student)
        ],
    }


def _submission(submission: Submission) -> dict[str, Any]:
    review = getattr(submission, "review", None)
    return {
        "id": submission.pk,
        "course": submission.assignment.course.code,
        "assignment": submission.assignment.title,
        "attempt": submission.attempt,
        "file_name": submission.original_name,
        "sha256": submission.content_hash,
        "submitted_at": _iso(submission.submitted_at),
        "text": submission.text,
        "ai_runs": [
            {
                "status": run.status,
                "total": run.total,
                "feedback": run.feedback,
                "reasoning_trace": run.reasoning_trace,
                "results": [
                    {
                        "criterion": result.criterion.title,
                        "level": result.level_label,
                        "points": result.points,
                        "justification": result.justification,
                    }
                    for result in run.results.all()
                ],
            }
            for run in submission.runs.all()
        ],
        "review": None
        if review is None
        else {
            "released": review.released,
            "released_grade": review.released_grade,
            "comment": review.comment,
            "criteria": [
                {"criterion": item.criterion.title, "points": item.points, "comment": item.comment}
                for item in review.criteria.all()
            ],
        },
        "audit": [
            {"at": _iso(e.at), "action": e.action, "field": e.field}
            for e in AuditEvent.objects.filter(submission=submission)
        ],
    }


def student_data_delete(*, student) -> int:
    """Erase the student and everything about them, stored files included; returns files removed.

    Submissions, runs, reviews, regrade requests, audit events and enrolments go with the
    account (their foreign keys cascade); the files are removed once the rows are gone.
    """
    files = [
        submission.original_file.name
        for submission in Submission.objects.filter(student=student)
        if submission.original_file
    ]
    storage = Submission._meta.get_field("original_file").storage
    with transaction.atomic():
        student.delete()

    def remove_files() -> None:
        for name in files:
            storage.delete(name)

    transaction.on_commit(remove_files)
    return len(files)
