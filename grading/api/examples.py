"""Example bodies for the OpenAPI document, one set per resource, consistent with each other."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

WHEN = "2026-03-02T09:30:00Z"

USER = {"id": 7, "username": "ada", "name": "Ada Lovelace", "email": "ada@example.edu"}
COURSE = {"id": 1, "code": "CS101", "title": "Programming", "created_at": WHEN}
ENROLMENT = {"id": 3, "user": USER, "role": "student"}
LEVELS = [
    {"label": "Excellent", "points": 4, "descriptor": "Fully correct."},
    {"label": "Partial", "points": 2, "descriptor": "Partly correct."},
    {"label": "Wrong", "points": 0, "descriptor": "Incorrect."},
]
CRITERION = {
    "id": 11,
    "key": "C1",
    "order": 1,
    "title": "Correctness",
    "description": "Is the answer right?",
    "max_points": 4,
    "levels": LEVELS,
}
RUBRIC_VERSION = {
    "id": 5,
    "rubric": 2,
    "rubric_name": "Short answer",
    "number": 1,
    "created_at": WHEN,
    "locked": False,
    "max_total": 4,
    "criteria": [CRITERION],
}
RUBRIC = {
    "id": 2,
    "name": "Short answer",
    "description": "",
    "created_at": WHEN,
    "versions": [{"id": 5, "number": 1, "created_at": WHEN}],
}
CRITERIA_INPUT = [
    {
        "title": "Correctness",
        "description": "Is the answer right?",
        "max_points": 4,
        "levels": [
            {"label": "Excellent", "points": 4, "descriptor": "Fully correct."},
            {"label": "Partial", "points": 2, "descriptor": "Partly correct."},
            {"label": "Wrong", "points": 0, "descriptor": "Incorrect."},
        ],
    }
]
DATASET = {
    "rubric": {
        "rubric_id": "recursion-essay",
        "criteria": [
            {
                "criterion_id": "understanding",
                "name": "Understanding",
                "description": "Explains what recursion is.",
                "performance_descriptors": {
                    "excellent": "Precise, with a base case and a recursive case.",
                    "good": "Correct, one part vague.",
                    "average": "Partly correct.",
                    "needs_improvement": "Mostly wrong.",
                    "poor": "Missing or wrong.",
                },
            }
        ],
    },
    "prompt": "Explain recursion with an example.",
}
NATIVE_EXPORT = {
    "format": "aaie.rubric/1",
    "name": "Short answer",
    "description": "",
    "version": 1,
    "criteria": [{**CRITERIA_INPUT[0], "key": "C1"}],
}
ASSIGNMENT = {
    "id": 4,
    "course": 1,
    "title": "Explain recursion",
    "task": "Explain recursion with an example.",
    "reference_notes": "Mentions a base case.",
    "due_at": None,
    "rubric_version": 5,
    "students_may_upload": False,
    "review_required": True,
    "students_see_trace": False,
    "created_at": WHEN,
}
RUN_SUMMARY = {"id": 21, "status": "succeeded", "total": 3, "max_total": 4, "flags": []}
SUBMISSION = {
    "id": 9,
    "assignment": 4,
    "student": USER,
    "attempt": 1,
    "original_name": "answer.txt",
    "size": 812,
    "content_hash": "9f2c" + "0" * 60,
    "submitted_at": WHEN,
    "flags": [],
    "status": "Awaiting review",
    "latest_run": RUN_SUMMARY,
    "released": False,
}
UPLOAD_RESULT = {
    "batch": 3,
    "files": [
        {
            "name": "class.zip/ada.txt",
            "outcome": "stored",
            "reason": "roster: ada.txt",
            "student": "Ada Lovelace (ada)",
            "flags": [],
        },
        {
            "name": "class.zip/notes.txt",
            "outcome": "unmatched",
            "reason": "no student matches this file name",
            "student": "",
            "flags": [],
        },
        {
            "name": "class.zip/scan.png",
            "outcome": "rejected",
            "reason": "scan.png: not a text file.",
            "student": "",
            "flags": [],
        },
    ],
    "warnings": [],
}
RESULT = {
    "criterion_id": 11,
    "key": "C1",
    "title": "Correctness",
    "level": "Excellent",
    "points": 4,
    "max_points": 4,
    "justification": "States the base case and the recursive step.",
    "evidence": [{"quote": "needs a base case", "verified": True}],
}
RUN = {
    "id": 21,
    "submission": 9,
    "status": "succeeded",
    "rubric_version": 5,
    "model_snapshot": {"model": "Qwen/Qwen3-0.6B", "backend": "transformers"},
    "prompt_version": "2026-03",
    "seed": 123456,
    "attempts": 1,
    "queued_at": WHEN,
    "started_at": WHEN,
    "finished_at": WHEN,
    "total": 4,
    "max_total": 4,
    "feedback": "A clear explanation.",
    "reasoning_trace": "The student names the base case…",
    "prompt_tokens": 612,
    "thinking_tokens": 240,
    "answer_tokens": 90,
    "flags": [],
    "error": "",
    "error_history": [],
    "results": [RESULT],
}
REVIEW = {
    "submission": 9,
    "saved": True,
    "based_on_run": 21,
    "comment": "Well done.",
    "approved_by": "educator",
    "approved_at": WHEN,
    "released": False,
    "released_at": None,
    "total": 3,
    "max_total": 4,
    "feedback": "A clear explanation.",
    "reasoning_trace": None,
    "criteria": [
        {
            "criterion_id": 11,
            "key": "C1",
            "title": "Correctness",
            "max_points": 4,
            "points": 3,
            "comment": "The example has a small slip.",
            "ai_level": "Excellent",
            "ai_points": 4,
            "ai_justification": "States the base case and the recursive step.",
        }
    ],
}
REGRADE = {
    "id": 2,
    "submission": 9,
    "assignment": 4,
    "student": USER,
    "criteria": [11],
    "reason": "My example does terminate; see line 4.",
    "status": "open",
    "response": "",
    "created_at": WHEN,
    "responded_at": None,
}
PROGRESS = {
    "total": 30,
    "queued": 4,
    "running": 1,
    "succeeded": 22,
    "failed": 1,
    "cancelled": 0,
    "not_graded": 2,
    "remaining": 5,
    "finished": 23,
    "percent": 82,
    "active": True,
    "throughput_per_minute": 6.5,
    "eta_seconds": 46,
    "eta_text": "less than a minute left",
}
AGREEMENT = {
    "count": 12,
    "exact": 0.75,
    "within_one_level": 1.0,
    "mean_absolute_difference": 0.33,
    "quadratic_weighted_kappa": 0.82,
}
ANALYTICS = {
    "reviewed": 12,
    "overall": AGREEMENT,
    "criteria": [{"criterion_id": 11, "key": "C1", "title": "Correctness", **AGREEMENT}],
}
GRADEBOOK_ROW = {
    "student": USER,
    "submission_id": 9,
    "attempt": 1,
    "submitted_at": WHEN,
    "run_status": "succeeded",
    "ai_total": 4,
    "criteria": {"C1": 3},
    "final_total": 3,
    "max_total": 4,
    "approved": True,
    "released": False,
    "released_total": None,
    "released_attempt": None,
}
GRADEBOOK = {
    "assignment": 4,
    "criteria": [{"key": "C1", "title": "Correctness", "max_points": 4}],
    "rows": [GRADEBOOK_ROW],
}
GRADEBOOK_CSV = (
    "Username,Name,Email,Submission,Attempt,Submitted at,AI status,AI total,"
    "C1 Correctness (/4),Final total,Max total,Approved,Released,Released total,"
    "Released attempt\r\n"
    "ada,Ada Lovelace,ada@example.edu,9,1,2026-03-02T09:30:00+00:00,succeeded,4,3,3,4,yes,no,,\r\n"
)


def page(item: dict) -> dict:
    """A list response's envelope around one example item."""
    return {"count": 1, "next": None, "previous": None, "results": [item]}


def request(name: str, value, media_type: str = "application/json") -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, media_type=media_type)


def response(name: str, value, status: int = 200) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])
