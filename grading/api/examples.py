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
    "domain": "",
    "prompt": "",
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
    "domain": "Computer science",
}
DATASET_PLAN_CRITERIA = [
    {
        "title": "Understanding",
        "description": "Explains what recursion is.",
        "max_points": 4,
        "levels": [
            {"label": label, "points": points, "descriptor": descriptor}
            for (label, points), descriptor in zip(
                (
                    ("Excellent", 4),
                    ("Good", 3),
                    ("Average", 2),
                    ("Needs improvement", 1),
                    ("Poor", 0),
                ),
                DATASET["rubric"]["criteria"][0]["performance_descriptors"].values(),
                strict=True,
            )
        ],
    }
]
NATIVE_EXPORT = {
    "format": "aaie.rubric/1",
    "name": "Short answer",
    "description": "",
    "domain": "",
    "prompt": "",
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
UPLOAD_ACCEPTED = {
    "batch": 3,
    "status": "processing",
    "url": "https://aaie.example.edu/api/v1/uploads/3/",
    "error": "",
    "files": [],
    "warnings": [],
}
UPLOAD_RESULT = {
    "batch": 3,
    "status": "done",
    "url": "https://aaie.example.edu/api/v1/uploads/3/",
    "error": "",
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
    "provenance": "edited",
    "provenance_label": "Educator edited",
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
    "mean_signed_difference": -0.17,
    "quadratic_weighted_kappa": 0.82,
    "kappa_interval": [0.61, 0.95],
    "warning": "Only 12 pairs: a rough figure, see its 95% interval.",
}
ANALYTICS = {
    "judged": 12,
    "reviewed": 12,
    "holistic": 0,
    "total": AGREEMENT,
    "overall": AGREEMENT,
    "criteria": [
        {
            "criterion_id": 11,
            "key": "C1",
            "title": "Correctness",
            "levels": ["Good", "Poor"],
            "confusion": [[8, 1], [2, 1]],
            **AGREEMENT,
        }
    ],
    "left_out": {"Released in bulk, unopened": 20},
}
EVALUATION = {
    "evaluation": 2,
    "calibration_set": 1,
    "profile": "Qwen3-8B on vLLM",
    "created_at": WHEN,
    "done": True,
    "runs": {"succeeded": 40},
    "agreement": ANALYTICS,
    "worst_disagreements": [
        {"submission": 31, "run": 77, "ai_total": 9, "human_total": 4, "max_total": 12}
    ],
    "per_submission": {
        "graded": 40,
        "mean_prompt_tokens": 1260.5,
        "mean_thinking_tokens": 812.0,
        "mean_answer_tokens": 240.2,
        "mean_seconds": 14.1,
        "median_seconds": 12.9,
    },
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
    "provenance": "edited",
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
    "Released attempt,Grade provenance\r\n"
    "ada,Ada Lovelace,ada@example.edu,9,1,2026-03-02T09:30:00+00:00,succeeded,4,3,3,4,yes,no,,,"
    "Educator edited\r\n"
)


def page(item: dict) -> dict:
    """A list response's envelope around one example item."""
    return {"count": 1, "next": None, "previous": None, "results": [item]}


def request(name: str, value, media_type: str = "application/json") -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, media_type=media_type)


def response(name: str, value, status: int = 200) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


CALIBRATION_SET = {
    "id": 4,
    "name": "Essays 2025",
    "source": "essays-2025.json",
    "course": 1,
    "assignment": 12,
    "rubric_version": 5,
    "submissions": 20,
    "created_by": "ada",
    "created_at": WHEN,
}
CALIBRATION_IMPORT = {
    "calibration_set": CALIBRATION_SET,
    "stored": 20,
    "rubric_reused": False,
    "warnings": ["Criterion 2: no 'average' band; it has 4 levels, not 5."],
    "problems": [
        {"where": "Entry 7", "reason": "quality 'superb' is not one of excellent, good, …"}
    ],
}
