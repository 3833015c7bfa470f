"""Injection defences around grading: a grade that seems to obey the submission is flagged.

Detection (grading/llm/injection.py) can miss an attack; the model's answer can still show it
worked. A run whose grade looks obeyed gets the run flag "follows_injection", which, like a
suspected injection, keeps the grade from being released without a person
(grading/services/reviews.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grading.llm import types as llm
from grading.llm.evidence import CheckedQuote
from grading.llm.injection import grade_follows_injection
from grading.models import GradingRun, Submission

SUSPECT_FLAGS = ("injection_suspected", "injection_unsure")


def run_flags_for_grade(
    *,
    submission: Submission,
    scores: Sequence[llm.CriterionScore],
    evidence: Mapping[str, Sequence[CheckedQuote]],
    feedback: str,
    max_total: int,
) -> list[str]:
    """["follows_injection"] when the AI grade looks obeyed rather than earned, else []."""
    passages = [
        passage["text"]
        for flag in SUSPECT_FLAGS
        for passage in (submission.flags.get(flag) or {}).get("passages", [])
    ]
    follows = grade_follows_injection(
        points=sum(score.points for score in scores),
        max_points=max_total,
        quotes_verified=[quote.verified for quotes in evidence.values() for quote in quotes],
        model_text="\n".join([*(score.justification for score in scores), feedback]),
        suspected_passages=passages,
    )
    return [GradingRun.Flag.FOLLOWS_INJECTION.value] if follows else []
