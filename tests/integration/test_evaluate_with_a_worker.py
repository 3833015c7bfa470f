"""`manage.py evaluate` with real parts: a real Celery worker grades a calibration set with the
tiny Qwen3 (seeded random weights, real tokenizer and chat template) through a model profile."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from grading.models import Evaluation, GradingRun, ModelProfile
from tests.calibration import make_calibration_set

pytestmark = pytest.mark.slow

# Far above the normal time (two submissions of a tiny model), for a busy two-core machine.
EVALUATION_TIMEOUT_SECONDS = 600


def test_evaluate_grades_the_set_through_the_worker_and_reports(
    celery_worker_process, tiny_model_dir, course, rubric_version, educator
):
    calibration_set = make_calibration_set(
        course, rubric_version, educator, [{1: 4, 2: 2}, {1: 0, 2: 0}]
    )
    ModelProfile.objects.create(
        name="tiny",
        backend="transformers",
        model=str(tiny_model_dir),
        dtype="float32",
        thinking_budget=16,
        max_answer_tokens=256,  # bounded work: the answer's text bounds shrink to fit
        context_limit=8192,
    )
    out = io.StringIO()
    call_command(
        "evaluate",
        "--calibration",
        calibration_set.name,
        "--profile",
        "tiny",
        "--timeout",
        str(EVALUATION_TIMEOUT_SECONDS),
        stdout=out,
    )
    evaluation = Evaluation.objects.get()
    runs = list(evaluation.runs.all())
    assert len(runs) == 2
    assert {run.status for run in runs} == {GradingRun.Status.SUCCEEDED}, [r.error for r in runs]
    assert all(run.model_snapshot["model"] == str(tiny_model_dir) for run in runs)
    assert all(run.reasoning_trace and run.thinking_tokens for run in runs)
    assert "tiny: 2 compared with a mark" in out.getvalue()
    # The set's submissions keep no AI grade of their own: the runs were trials.
    assert not calibration_set.assignment.submissions.filter(latest_run__isnull=False).exists()
