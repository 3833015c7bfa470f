"""The gradebook of an assignment: one row per student, newest attempt, as data or as CSV."""

from __future__ import annotations

import csv
import io

from django.db.models import QuerySet

from grading.errors import ApplicationError
from grading.models import Assignment, CalibrationSet, Criterion, GradingRun, Submission
from grading.vocabulary import Provenance

# A spreadsheet treats a cell starting with one of these as a formula; a quote makes it text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_unescaped(text: str) -> str:
    """A cell read back from a file that csv_safe wrote: without the quote it added."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


def _newest_attempts(assignment: Assignment) -> list[Submission]:
    submissions: QuerySet[Submission] = (
        assignment.submissions.select_related("student", "latest_run", "review")
        .prefetch_related("review__criteria", "latest_run__results")
        .order_by("student__last_name", "student__username", "student_id", "-attempt")
    )
    newest: dict[int, Submission] = {}
    for submission in submissions:
        newest.setdefault(submission.student_id, submission)
    return list(newest.values())


def gradebook_for_assignment(*, assignment: Assignment) -> dict:
    """{"criteria": [Criterion], "rows": [dict]} for the newest attempt of every student.

    Final points are the educator's reviewed points where a review exists; the AI total is that
    of the newest successful run, shown beside them.
    """
    if CalibrationSet.objects.filter(assignment=assignment).exists():
        raise ApplicationError(
            "A calibration set has no gradebook: its students are pseudonyms, not a class."
        )
    criteria: list[Criterion] = list(assignment.rubric_version.criteria.order_by("order"))
    rows = []
    for submission in _newest_attempts(assignment):
        run = submission.latest_run
        review = getattr(submission, "review", None)
        reviewed = (
            {item.criterion_id: item.points for item in review.criteria.all()} if review else {}
        )
        succeeded = run is not None and run.status == GradingRun.Status.SUCCEEDED
        student = submission.student
        rows.append(
            {
                "student": student,
                "student_id": student.pk,
                "username": student.get_username(),
                "name": student.get_full_name(),
                "email": student.email,
                "submission_id": submission.pk,
                "attempt": submission.attempt,
                "submitted_at": submission.submitted_at,
                "run_status": run.status if run else "",
                "ai_total": run.total if succeeded else None,
                "criteria": {c.key: reviewed.get(c.pk) for c in criteria},
                "final_total": sum(reviewed.values()) if reviewed else None,
                "max_total": sum(c.max_points for c in criteria),
                "approved": bool(review and review.approved_at),
                "released": bool(review and review.released),
                "provenance": review.provenance if review else None,
            }
        )
    return {"criteria": criteria, "rows": rows}


def gradebook_csv(*, gradebook: dict) -> str:
    """The gradebook as CSV text, one column per criterion, every cell neutralised."""
    criteria: list[Criterion] = gradebook["criteria"]
    header = ["Username", "Name", "Email", "Submission", "Attempt", "Submitted at", "AI status"]
    header += ["AI total"] + [f"{c.key} {c.title} (/{c.max_points})" for c in criteria]
    header += ["Final total", "Max total", "Approved", "Released", "Grade provenance"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in gradebook["rows"]:
        cells = [
            row["username"],
            row["name"],
            row["email"],
            row["submission_id"],
            row["attempt"],
            row["submitted_at"].isoformat(),
            row["run_status"],
            row["ai_total"],
            *(row["criteria"][c.key] for c in criteria),
            row["final_total"],
            row["max_total"],
            "yes" if row["approved"] else "no",
            "yes" if row["released"] else "no",
            Provenance(row["provenance"]).label if row["provenance"] else "",
        ]
        writer.writerow([csv_safe(cell) for cell in cells])
    return out.getvalue()


def canvas_gradebook_csv(*, gradebook: dict, assignment: Assignment) -> str:
    """Canvas's gradebook import layout: its five student columns, then one assignment column.

    Canvas matches rows by "SIS User ID" or "SIS Login ID"; its own numeric user "ID" is unknown
    here and left blank. Unreviewed students get an empty grade, which Canvas leaves unchanged.
    """
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    header.append(f"{assignment.title} ({assignment.pk})")
    rows = [
        [row["name"] or row["username"], "", row["username"], row["email"], "", row["final_total"]]
        for row in gradebook["rows"]
    ]
    return _csv_text([header, *rows])


def moodle_gradebook_csv(*, gradebook: dict, assignment: Assignment) -> str:
    """Moodle's CSV grade import layout: identifier columns and one grade column to map."""
    header = ["Email address", "Username", assignment.title]
    rows = [[row["email"], row["username"], row["final_total"]] for row in gradebook["rows"]]
    return _csv_text([header, *rows])


def _csv_text(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()
