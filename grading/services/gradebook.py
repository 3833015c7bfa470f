"""The gradebook of an assignment: one row per student, as data or as CSV for people, Canvas
and Moodle."""

from __future__ import annotations

import csv
import io
import re

from django.db.models import QuerySet

from grading.errors import ApplicationError
from grading.models import Assignment, CalibrationSet, Criterion, GradingRun, Submission
from grading.vocabulary import Provenance

# A spreadsheet treats a cell starting with one of these as a formula; a quote makes it text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Canvas's importer takes "Title (123)" as the title of its assignment 123.
CANVAS_ID_SUFFIX = re.compile(r"\(\d+\)\s*$")


def csv_safe(value: object) -> str:
    """The cell as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_unescaped(text: str) -> str:
    """A cell read back from a file that csv_safe wrote: without the quote it added."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


def _attempts_by_student(assignment: Assignment) -> list[list[Submission]]:
    """Every student's attempts, newest first; students by surname."""
    submissions: QuerySet[Submission] = (
        assignment.submissions.select_related("student", "latest_run", "review")
        .prefetch_related("review__criteria", "latest_run__results")
        .order_by("student__last_name", "student__username", "student_id", "-attempt")
    )
    attempts: dict[int, list[Submission]] = {}
    for submission in submissions:
        attempts.setdefault(submission.student_id, []).append(submission)
    return list(attempts.values())


def _released_review(attempts: list[Submission]):
    """The newest released review among a student's attempts: the grade the student has."""
    for submission in attempts:
        review = getattr(submission, "review", None)
        if review is not None and review.released:
            return review
    return None


def gradebook_for_assignment(*, assignment: Assignment) -> dict:
    """{"criteria": [Criterion], "rows": [dict]}: one row per student.

    The row describes the newest attempt (its AI total, and the educator's points where a
    review exists) and, apart from it, the grade the student has: the newest released review
    of any attempt. A re-upload after a release therefore never blanks the released grade.
    """
    if CalibrationSet.objects.filter(assignment=assignment).exists():
        raise ApplicationError(
            "A calibration set has no gradebook: its students are pseudonyms, not a class."
        )
    criteria: list[Criterion] = list(assignment.rubric_version.criteria.order_by("order"))
    rows = []
    for attempts in _attempts_by_student(assignment):
        submission = attempts[0]
        run = submission.latest_run
        review = getattr(submission, "review", None)
        reviewed = (
            {item.criterion_id: item.points for item in review.criteria.all()} if review else {}
        )
        released = _released_review(attempts)
        succeeded = run is not None and run.status == GradingRun.Status.SUCCEEDED
        student = submission.student
        rows.append(
            {
                "student": student,
                "student_id": student.pk,
                "username": student.get_username(),
                "name": student.get_full_name(),
                "first_name": student.first_name,
                "last_name": student.last_name,
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
                # What the student was shown at release, not edits made since.
                "released_total": released.released_grade["total"] if released else None,
                "released_attempt": released.submission.attempt if released else None,
                "released_comment": released.released_grade["comment"] if released else "",
            }
        )
    return {"criteria": criteria, "rows": rows}


def gradebook_csv(*, gradebook: dict) -> str:
    """The gradebook as CSV text, one column per criterion, every cell neutralised."""
    criteria: list[Criterion] = gradebook["criteria"]
    header = ["Username", "Name", "Email", "Submission", "Attempt", "Submitted at", "AI status"]
    header += ["AI total"] + [f"{c.key} {c.title} (/{c.max_points})" for c in criteria]
    header += ["Final total", "Max total", "Approved", "Released"]
    header += ["Released total", "Released attempt", "Grade provenance"]
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
            row["released_total"],
            row["released_attempt"],
            Provenance(row["provenance"]).label if row["provenance"] else "",
        ]
        writer.writerow([csv_safe(cell) for cell in cells])
    return out.getvalue()


def canvas_gradebook_csv(*, gradebook: dict, assignment: Assignment) -> str:
    """Canvas's gradebook import: student columns, a "Points Possible" row, one grade column.

    Canvas's importer reads a number in brackets at the end of a column title as the id of a
    Canvas assignment, so the title carries none (AAIE's id would name another assignment, or
    none); a plain title creates the assignment, with the points of the "Points Possible" row.
    Students are matched by "SIS Login ID" (the AAIE username); Canvas's own user id is not
    known here, so there is no "ID" column. Only released grades are sent; a blank cell leaves
    Canvas's grade alone.
    """
    header = ["Student", "SIS Login ID", "Section", canvas_column_title(assignment.title)]
    points_possible = ["Points Possible", "", "", _points_text(_max_total(gradebook))]
    rows = [
        [_sortable_name(row), row["username"], "", _points_text(row["released_total"])]
        for row in gradebook["rows"]
    ]
    return _csv_text([header, points_possible, *rows])


def canvas_column_title(title: str) -> str:
    """The title, with a trailing "(123)" broken so Canvas does not take it for its own id."""
    if CANVAS_ID_SUFFIX.search(title):
        return f"{title} [AAIE]"
    return title


def moodle_gradebook_csv(*, gradebook: dict, assignment: Assignment) -> str:
    """Moodle's CSV grade import: identity columns, then the grade and its feedback.

    Moodle maps one column to a user field: "Email address" to the user's email (compared
    case-sensitively, so it is written exactly as stored) or "Username". Feedback imported
    without its grade wipes the grade, so the two columns always travel together. Only
    released grades are sent; a blank grade is not imported.
    """
    header = ["First name", "Last name", "Username", "Email address"]
    header += [assignment.title, f"{assignment.title} (Feedback)"]
    rows = [
        [
            row["first_name"],
            row["last_name"],
            row["username"],
            row["email"],
            _points_text(row["released_total"]),
            row["released_comment"],
        ]
        for row in gradebook["rows"]
    ]
    return _csv_text([header, *rows])


def _sortable_name(row: dict) -> str:
    if row["last_name"] and row["first_name"]:
        return f"{row['last_name']}, {row['first_name']}"
    return row["name"] or row["username"]


def _max_total(gradebook: dict) -> int:
    return sum(c.max_points for c in gradebook["criteria"])


def _points_text(points) -> str:
    """Points as the importers read them: "7", "7.5", blank for none."""
    if points is None:
        return ""
    return f"{points:g}" if isinstance(points, float) else str(points)


def _csv_text(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()
