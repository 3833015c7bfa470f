"""AI grading: request a run, and carry it out in a worker.

A run's life: `grading_run_request` writes it QUEUED and enqueues the task after commit; the task
calls `grading_run_execute`, which claims it (QUEUED → RUNNING, one worker wins), asks the model,
and stores SUCCEEDED with results or FAILED with a readable error. A transient model error puts
the run back to QUEUED and raises `TransientGradingError`, so the task can retry it.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from grading.errors import ApplicationError
from grading.llm import types as llm
from grading.llm.backends import get_backend
from grading.llm.backends.base import BackendError
from grading.llm.prompt import PROMPT_VERSION, build_messages
from grading.llm.schema import AnswerError, answer_schema, parse_answer
from grading.models import Assignment, CriterionResult, GradingRun, Submission
from grading.services.rubrics import rubric_spec

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
MAX_SEED = 2**31 - 1


class TransientGradingError(Exception):
    """The model could not answer this time; the run is queued again for a retry."""


def model_snapshot_for(*, assignment: Assignment) -> dict:
    """The model settings a run of this assignment uses, frozen into the run."""
    profile = assignment.model_profile
    if profile is None:
        snapshot = dict(settings.AAIE_DEFAULT_MODEL)
        snapshot["profile"] = "default (settings)"
        defaults = llm.GenerationSettings()
        for name in ("temperature", "top_p", "top_k", "min_p"):
            snapshot.setdefault(name, getattr(defaults, name))
        return snapshot
    return {
        "profile": profile.name,
        "backend": profile.backend,
        "model": profile.model,
        "device": profile.device,
        "dtype": profile.dtype,
        "enable_thinking": profile.enable_thinking,
        "temperature": profile.temperature,
        "top_p": profile.top_p,
        "top_k": profile.top_k,
        "min_p": profile.min_p,
        "thinking_budget": profile.thinking_budget,
        "max_answer_tokens": profile.max_answer_tokens,
        "context_limit": profile.context_limit,
    }


def _enqueue(run_id: int) -> None:
    from grading.tasks import grade_run  # the task module imports this one

    grade_run.delay(run_id)


def grading_run_request(*, submission: Submission, requested_by) -> GradingRun:
    """Queue an AI grading run for one submission; the task starts after commit."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if submission.runs.filter(status__in=GradingRun.ACTIVE_STATUSES).exists():
            raise ApplicationError(f"{submission} is being graded already.")
        assignment = submission.assignment
        run = GradingRun.objects.create(
            submission=submission,
            rubric_version=assignment.rubric_version,
            model_snapshot=model_snapshot_for(assignment=assignment),
            prompt_version=PROMPT_VERSION,
            seed=secrets.randbelow(MAX_SEED),
            requested_by=requested_by,
            max_total=sum(c.max_points for c in assignment.rubric_version.criteria.all()),
        )
        submission.latest_run = run
        submission.save(update_fields=["latest_run"])
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def grading_runs_request_for_assignment(*, assignment: Assignment, requested_by) -> int:
    """Queue every newest attempt that has no AI grade yet and is not being graded."""
    newest_attempts = [
        submission
        for submission in assignment.submissions.select_related("latest_run").order_by(
            "student_id", "-attempt"
        )
    ]
    queued = 0
    seen_students: set[int] = set()
    for submission in newest_attempts:
        if submission.student_id in seen_students:
            continue
        seen_students.add(submission.student_id)
        run = submission.latest_run
        if run is not None and run.status != GradingRun.Status.FAILED:
            continue
        try:
            grading_run_request(submission=submission, requested_by=requested_by)
        except ApplicationError:
            continue  # started by someone else meanwhile
        queued += 1
    return queued


def grading_run_claim(*, run_id: int) -> bool:
    """QUEUED → RUNNING for exactly one worker; False means someone else has it or it ended."""
    claimed = GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.QUEUED).update(
        status=GradingRun.Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    return claimed == 1


def grading_run_fail(*, run_id: int, error: str, flags: list[str] | None = None) -> None:
    """End an active run as FAILED with a message an educator can act on."""
    updates = {
        "status": GradingRun.Status.FAILED,
        "error": error[:MAX_ERROR_CHARS],
        "finished_at": timezone.now(),
    }
    if flags:
        updates["flags"] = flags
    GradingRun.objects.filter(pk=run_id, status__in=GradingRun.ACTIVE_STATUSES).update(**updates)


def _generation_settings(snapshot: dict, seed: int) -> llm.GenerationSettings:
    fields = llm.GenerationSettings.__dataclass_fields__
    return llm.GenerationSettings(
        **{name: snapshot[name] for name in fields if name in snapshot and name != "seed"},
        seed=seed,
    )


def _model_spec(snapshot: dict) -> llm.ModelSpec:
    return llm.ModelSpec(
        backend=snapshot["backend"],
        model=snapshot["model"],
        device=snapshot.get("device", "cpu"),
        dtype=snapshot.get("dtype", "auto"),
    )


def grading_task_for(*, run: GradingRun) -> llm.GradingTask:
    """What the model sees of a run: the assignment, the rubric and the text. No identity."""
    assignment = run.submission.assignment
    return llm.GradingTask(
        assignment_title=assignment.title,
        task=assignment.task,
        reference=assignment.reference_notes,
        rubric=rubric_spec(rubric_version=run.rubric_version),
        submission_text=run.submission.text,
    )


def grading_run_execute(*, run_id: int) -> None:
    """Grade one queued run. Steps:

    1. Claim the run; if another worker has it or it has ended, do nothing (idempotent).
    2. Build the prompt and the answer schema from the assignment and rubric version.
    3. Ask the model, streaming the reasoning trace into the run as it grows.
    4. Validate the answer against the rubric and store results, or fail with the reason.
    """
    if not grading_run_claim(run_id=run_id):
        logger.info("Run %s is not queued; nothing to do.", run_id)
        return
    run = GradingRun.objects.select_related("submission__assignment", "rubric_version__rubric").get(
        pk=run_id
    )
    task = grading_task_for(run=run)
    request = llm.GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric),
        settings=_generation_settings(run.model_snapshot, run.seed),
    )

    def store_trace(trace: str) -> None:
        GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.RUNNING).update(
            reasoning_trace=trace
        )

    try:
        backend = get_backend(_model_spec(run.model_snapshot))
        generation = backend.generate(request, on_trace=store_trace)
    except BackendError as error:
        if error.permanent:
            flags = ["input_too_long"] if getattr(error, "input_too_long", False) else None
            grading_run_fail(run_id=run_id, error=str(error), flags=flags)
            return
        GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.QUEUED, error=f"Attempt failed, retrying: {error}"
        )
        raise TransientGradingError(str(error)) from error
    _store_generation(run=run, task=task, generation=generation)


def _store_generation(
    *, run: GradingRun, task: llm.GradingTask, generation: llm.Generation
) -> None:
    flags = []
    if generation.thinking_budget_reached:
        flags.append(GradingRun.Flag.THINKING_BUDGET_REACHED.value)
    common = {
        "reasoning_trace": generation.trace,
        "raw_answer": generation.answer,
        "prompt_tokens": generation.prompt_tokens,
        "thinking_tokens": generation.thinking_tokens,
        "answer_tokens": generation.answer_tokens,
        "model_revision": generation.model_revision[:80],
        "flags": flags,
        "finished_at": timezone.now(),
    }
    try:
        if not generation.answer_complete:
            raise AnswerError(
                f"the answer was cut off after {generation.answer_tokens} tokens "
                "(raise the profile's maximum answer tokens)"
            )
        answer = parse_answer(generation.answer, task.rubric)
    except AnswerError as error:
        GradingRun.objects.filter(pk=run.pk, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.FAILED,
            error=f"The model's answer did not fit the rubric: {error}"[:MAX_ERROR_CHARS],
            **common,
        )
        return
    criteria = {c.key: c for c in run.rubric_version.criteria.all()}
    with transaction.atomic():
        updated = GradingRun.objects.filter(pk=run.pk, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.SUCCEEDED,
            feedback=answer.feedback,
            total=answer.total,
            error="",
            **common,
        )
        if updated != 1:
            return  # cancelled or taken over meanwhile: keep what the winner wrote
        CriterionResult.objects.bulk_create(
            CriterionResult(
                run=run,
                criterion=criteria[score.key],
                level_label=score.level,
                points=score.points,
                justification=score.justification,
                evidence=list(score.evidence),
            )
            for score in answer.scores
        )


def snapshot_as_text(snapshot: dict) -> str:
    """One line describing the model a run used, for pages."""
    thinking = "thinking" if snapshot.get("enable_thinking", True) else "no thinking"
    return f"{snapshot.get('model', '?')} ({snapshot.get('backend', '?')}, {thinking})"
