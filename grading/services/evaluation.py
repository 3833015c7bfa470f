"""Try a model profile on a calibration set before trusting it with students' work.

1. `evaluation_request` writes an Evaluation and queues one run per submission of the set with
   that profile; the real workers grade them like any run, but as trials (they never become a
   grade: services/grading.py).
2. `evaluation_report` compares the finished runs with the set's human labels (the figures of
   services/analytics.py), lists the worst disagreements, and measures tokens and time per
   submission. It can be read while runs are still going: `done` says when it is final.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from django.db import transaction

from grading.errors import ApplicationError
from grading.models import CalibrationSet, Evaluation, GradingRun, ModelProfile
from grading.services.analytics import AgreementReport, evaluation_grades, report_of
from grading.services.grading import grading_runs_request_for_evaluation

# How many of the largest disagreements a report lists.
WORST_SHOWN = 10
DEFAULT_PROFILE_NAME = "default (settings)"


def evaluation_request(
    *, calibration_set: CalibrationSet, profile: ModelProfile | None, requested_by
) -> Evaluation:
    """Queue the set's submissions for grading with `profile` (None: the settings' default)."""
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            calibration_set=calibration_set,
            model_profile=profile,
            profile_name=profile.name if profile else DEFAULT_PROFILE_NAME,
            requested_by=requested_by,
        )
        if not grading_runs_request_for_evaluation(
            evaluation=evaluation, requested_by=requested_by
        ):
            raise ApplicationError("This calibration set has no submission with text to grade.")
    return evaluation


@dataclass(frozen=True)
class Disagreement:
    submission_id: int
    run_id: int
    ai_total: int
    human_total: int
    max_total: int

    @property
    def gap(self) -> int:
        return self.ai_total - self.human_total


@dataclass(frozen=True)
class Usage:
    """Tokens and seconds per graded submission: mean and median."""

    graded: int
    mean_prompt_tokens: float | None
    mean_thinking_tokens: float | None
    mean_answer_tokens: float | None
    mean_seconds: float | None
    median_seconds: float | None


@dataclass
class EvaluationReport:
    evaluation: Evaluation
    status_counts: dict[str, int]
    agreement: AgreementReport
    worst: list[Disagreement]
    usage: Usage

    @property
    def done(self) -> bool:
        return not any(self.status_counts.get(status) for status in GradingRun.ACTIVE_STATUSES)

    def as_dict(self) -> dict:
        usage = self.usage
        return {
            "evaluation": self.evaluation.pk,
            "calibration_set": self.evaluation.calibration_set_id,
            "profile": self.evaluation.profile_name,
            "created_at": self.evaluation.created_at.isoformat(),
            "done": self.done,
            "runs": self.status_counts,
            "agreement": self.agreement.as_dict(),
            "worst_disagreements": [
                {
                    "submission": item.submission_id,
                    "run": item.run_id,
                    "ai_total": item.ai_total,
                    "human_total": item.human_total,
                    "max_total": item.max_total,
                }
                for item in self.worst
            ],
            "per_submission": {
                "graded": usage.graded,
                "mean_prompt_tokens": usage.mean_prompt_tokens,
                "mean_thinking_tokens": usage.mean_thinking_tokens,
                "mean_answer_tokens": usage.mean_answer_tokens,
                "mean_seconds": usage.mean_seconds,
                "median_seconds": usage.median_seconds,
            },
        }


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _usage(runs: list[GradingRun]) -> Usage:
    seconds = [
        (run.finished_at - run.started_at).total_seconds()
        for run in runs
        if run.started_at and run.finished_at
    ]
    return Usage(
        graded=len(runs),
        mean_prompt_tokens=_mean([run.prompt_tokens for run in runs if run.prompt_tokens]),
        mean_thinking_tokens=_mean(
            [run.thinking_tokens for run in runs if run.thinking_tokens is not None]
        ),
        mean_answer_tokens=_mean([run.answer_tokens for run in runs if run.answer_tokens]),
        mean_seconds=_mean(seconds),
        median_seconds=statistics.median(seconds) if seconds else None,
    )


def evaluation_report(*, evaluation: Evaluation) -> EvaluationReport:
    """The evaluation's figures so far (see EvaluationReport.done)."""
    counts = Counter(evaluation.runs.values_list("status", flat=True))
    left_out: Counter = Counter()
    grades = evaluation_grades(evaluation=evaluation, left_out=left_out)
    worst = sorted(
        (
            Disagreement(
                submission_id=grade.review.submission_id,
                run_id=grade.run.pk,
                ai_total=grade.run.total or 0,
                human_total=grade.review.total,
                max_total=grade.run.max_total,
            )
            for grade in grades
        ),
        key=lambda item: (-abs(item.gap), item.submission_id),
    )
    succeeded = list(evaluation.runs.filter(status=GradingRun.Status.SUCCEEDED))
    return EvaluationReport(
        evaluation=evaluation,
        status_counts=dict(counts),
        agreement=report_of(grades, left_out=left_out),
        worst=[item for item in worst if item.gap][:WORST_SHOWN],
        usage=_usage(succeeded),
    )
