"""Injection defences around grading: the detector's second stage, and a grade that seems to
obey the submission is flagged.

Detection (grading/llm/injection.py) can miss an attack; the model's answer can still show it
worked. A run whose grade looks obeyed gets the run flag "follows_injection", which, like a
suspected injection, keeps the grade from being released without a person
(grading/services/reviews.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from grading.llm import types as llm
from grading.llm.backends import get_backend
from grading.llm.backends.base import GradingBackend
from grading.llm.evidence import CheckedQuote
from grading.llm.injection import grade_follows_injection, second_stage_report
from grading.llm.injection_judge import BackendJudge
from grading.models import GradingRun, Submission

logger = logging.getLogger(__name__)

INJECTION_FLAG = "injection_suspected"
INJECTION_UNSURE_FLAG = "injection_unsure"
SUSPECT_FLAGS = (INJECTION_FLAG, INJECTION_UNSURE_FLAG)


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
        submission_text=submission.text,
        suspected_passages=passages,
    )
    return [GradingRun.Flag.FOLLOWS_INJECTION.value] if follows else []


def submissions_injection_second_stage(
    *, submissions: Sequence[Submission], backend: GradingBackend, snapshot: dict
) -> None:
    """Settle the detector's ambiguous passages with the grading model, where the profile allows.

    Runs in the grading worker before its runs are generated (the model is loaded there, and the
    verdict must be in before a grade can be released). A submission whose passage the model
    judges an instruction to the grader becomes "injection_suspected"; otherwise the unsure flag
    records what the model said. Each submission is asked once; the instances are updated in
    place so the caller sees the new flags.
    """
    if not snapshot.get("injection_second_stage"):
        return
    judge = BackendJudge(backend)
    for submission in submissions:
        unsure = submission.flags.get(INJECTION_UNSURE_FLAG)
        if not unsure or unsure.get("second_stage"):
            continue
        report = second_stage_report(unsure, judge)
        flags = {k: v for k, v in submission.flags.items() if k != INJECTION_UNSURE_FLAG}
        flags[INJECTION_FLAG if report.suspected else INJECTION_UNSURE_FLAG] = report.as_flag()
        submission.flags = flags
        Submission.objects.filter(pk=submission.pk).update(flags=flags)
        logger.info("Second stage on submission %s: %s", submission.pk, report.second_stage)


def submission_injection_second_stage(*, submission_id: int) -> None:
    """The same for one submission with its assignment's model: ids in, for a worker's task.

    Loads the model, so it belongs on the grading queue, never in a web request.
    """
    from grading.services.grading import model_snapshot_for  # that module imports this one

    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    snapshot = model_snapshot_for(assignment=submission.assignment)
    fields = llm.ModelSpec.__dataclass_fields__
    backend = get_backend(llm.ModelSpec(**{k: v for k, v in snapshot.items() if k in fields}))
    submissions_injection_second_stage(submissions=[submission], backend=backend, snapshot=snapshot)
