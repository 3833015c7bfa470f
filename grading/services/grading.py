"""AI grading: request a run, and carry it out in a worker.

A run's life: `grading_run_request` writes it QUEUED and enqueues the task after commit; the task
calls `grading_run_execute`, which claims it (QUEUED → RUNNING, one worker wins), asks the model,
and stores SUCCEEDED with results or FAILED with a readable error. A transient model error puts
the run back to QUEUED and raises `TransientGradingError`, so the task can retry it.
"""

from __future__ import annotations

import logging
import secrets
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from celery import current_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from grading.errors import ApplicationError
from grading.llm import families
from grading.llm import types as llm
from grading.llm.backends import get_backend
from grading.llm.backends.base import BackendError, GradingBackend
from grading.llm.evidence import EvidenceChecker
from grading.llm.prompt import PROMPT_VERSION, build_messages
from grading.llm.schema import (
    DEFAULT_LIMITS,
    AnswerError,
    AnswerLimits,
    answer_schema,
    parse_answer,
)
from grading.models import (
    Assignment,
    CriterionResult,
    GradingRun,
    ModelProfile,
    RubricVersion,
    Submission,
)
from grading.services.reviews import review_auto_release
from grading.services.rubrics import rubric_spec

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
MAX_TASK_ID_CHARS = 64  # GradingRun.task_id
MAX_SEED = 2**31 - 1
MODEL_REVISION_CHARS = 80  # GradingRun.model_revision

# Self-consistency: at most this many gradings per run, whatever an assignment asks.
MAX_SELF_CONSISTENCY_SAMPLES = 10
# Samples that disagree on a criterion by more than this share of its points (e.g. by more than
# 1 of 4 points) flag the run "high_spread": it needs a person's attention first.
HIGH_SPREAD_FRACTION = 0.25

QWEN_SAMPLING = ("temperature", "top_p", "top_k", "min_p")
SAMPLING_FIELDS = (*QWEN_SAMPLING, "presence_penalty", "repetition_penalty")
# What a run keeps of its profile: enough to load the same model and sample the same way.
PROFILE_SNAPSHOT_FIELDS = (
    "backend",
    "model",
    "revision",
    "family",
    "api_base",
    "api_key_env",
    "request_timeout_seconds",
    "device",
    "dtype",
    "quantization",
    "batch_size",
    "enable_thinking",
    *SAMPLING_FIELDS,
    "thinking_budget",
    "max_answer_tokens",
    "context_limit",
)


class TransientGradingError(Exception):
    """The model could not answer this time; the run is queued again for a retry."""


def model_profile_for(*, assignment: Assignment) -> ModelProfile | None:
    """The profile grading `assignment`: its own, else the default profile, else None (settings)."""
    if assignment.model_profile_id is not None:
        return assignment.model_profile
    return ModelProfile.objects.filter(is_default=True).first()


def model_snapshot_for(*, assignment: Assignment) -> dict:
    """The model settings a run of this assignment uses, frozen into the run.

    From the assignment's profile, else the profile marked default, else
    settings.AAIE_DEFAULT_MODEL. A profile with thinking off that kept the thinking sampling gets
    Qwen's non-thinking advice instead. The API key's variable name is kept, never the key.
    """
    profile = model_profile_for(assignment=assignment)
    if profile is None:
        snapshot = {"profile": "default (settings)", **settings.AAIE_DEFAULT_MODEL}
        defaults = llm.GenerationSettings()
        for name in SAMPLING_FIELDS:
            snapshot.setdefault(name, getattr(defaults, name))
    else:
        snapshot = {
            "profile": profile.name,
            "profile_id": profile.pk,
            **{name: getattr(profile, name) for name in PROFILE_SNAPSHOT_FIELDS},
        }
    if not snapshot.get("enable_thinking", True):
        thinking_advice = llm.GenerationSettings()
        if all(snapshot[name] == getattr(thinking_advice, name) for name in QWEN_SAMPLING):
            snapshot.update(asdict(families.NON_THINKING_SAMPLING))
    return snapshot


def _enqueue(run_id: int) -> None:
    from grading.tasks import grade_run  # the task module imports this one

    try:
        grade_run.delay(run_id)
    except Exception:
        # The run is committed; with the broker down, the sweep sends it once Redis is back.
        logger.exception("Could not enqueue run %s; the sweep will send it later.", run_id)


def grading_run_request(
    *, submission: Submission, requested_by, rubric_version: RubricVersion | None = None
) -> GradingRun:
    """Queue an AI grading run for one submission; the task starts after commit.

    `rubric_version` defaults to the assignment's. A run with another version is a trial (the
    rubric tuning loop): it does not become the submission's latest run, so the grade students
    and the dashboard see stays as it is.
    """
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if submission.runs.filter(status__in=GradingRun.ACTIVE_STATUSES).exists():
            raise ApplicationError(f"{submission} is being graded already.")
        if submission.flags.get("no_text"):
            # A scan graded as blank would be a wrong zero: the educator grades it by hand.
            raise ApplicationError(
                f"{submission} has no text to grade (a scan?); grade it by hand."
            )
        assignment = submission.assignment
        version = rubric_version or assignment.rubric_version
        run = GradingRun.objects.create(
            submission=submission,
            rubric_version=version,
            model_snapshot=model_snapshot_for(assignment=assignment),
            prompt_version=PROMPT_VERSION,
            seed=secrets.randbelow(MAX_SEED),
            requested_by=requested_by,
            max_total=sum(c.max_points for c in version.criteria.all()),
            # For a queued run, heartbeat_at is when its task was sent (see pipeline's sweep).
            heartbeat_at=timezone.now(),
        )
        if version.pk == assignment.rubric_version_id:
            submission.latest_run = run
            submission.save(update_fields=["latest_run"])
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def grading_runs_request_for_assignment(
    *, assignment: Assignment, requested_by, only_failed: bool = False
) -> int:
    """Queue every newest attempt that has no AI grade yet and is not being graded.

    With only_failed, queue just those whose last run failed ("retry failed").
    """
    regradable = (
        {GradingRun.Status.FAILED}
        if only_failed
        else {GradingRun.Status.FAILED, GradingRun.Status.CANCELLED}
    )
    newest_attempts = (
        assignment.submissions.select_related("latest_run")
        .defer("text", "latest_run__reasoning_trace", "latest_run__raw_answer")
        .order_by("student_id", "-attempt")
    )
    queued = 0
    seen_students: set[int] = set()
    for submission in newest_attempts:
        if submission.student_id in seen_students:
            continue
        seen_students.add(submission.student_id)
        run = submission.latest_run
        if (run is None and only_failed) or (run is not None and run.status not in regradable):
            continue
        try:
            grading_run_request(submission=submission, requested_by=requested_by)
        except ApplicationError:
            continue  # started by someone else meanwhile
        queued += 1
    return queued


def grading_run_claim(*, run_id: int) -> bool:
    """QUEUED → RUNNING for exactly one worker; False means someone else has it or it ended.

    The claim is the first heartbeat; the worker's heartbeat thread keeps it fresh from then on.
    """
    now = timezone.now()
    task = current_task  # the Celery task calling, if any: its id helps to trace a run's tasks
    claimed = GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.QUEUED).update(
        status=GradingRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        task_id=(task.request.id or "")[:MAX_TASK_ID_CHARS] if task else "",
    )
    return claimed == 1


def error_history_entry(*, run: GradingRun, error: str) -> dict:
    """One failed attempt, as kept in GradingRun.error_history."""
    return {
        "at": timezone.now().isoformat(),
        "attempt": run.attempts,
        "error": error[:MAX_ERROR_CHARS],
    }


def grading_run_fail(*, run_id: int, error: str, flags: list[str] | None = None) -> bool:
    """End an active run as FAILED with a message an educator can act on, kept in its history.

    False if the run had already ended (succeeded, failed or cancelled meanwhile).
    """
    with transaction.atomic():
        run = (
            GradingRun.objects.select_for_update()
            .filter(pk=run_id, status__in=GradingRun.ACTIVE_STATUSES)
            .only("attempts", "error_history", "flags")
            .first()
        )
        if run is None:
            return False
        run.status = GradingRun.Status.FAILED
        run.error = error[:MAX_ERROR_CHARS]
        run.finished_at = timezone.now()
        run.error_history = [*run.error_history, error_history_entry(run=run, error=error)]
        if flags:
            run.flags = flags
        run.save(update_fields=["status", "error", "finished_at", "error_history", "flags"])
    return True


def _generation_settings(snapshot: dict, seed: int) -> llm.GenerationSettings:
    fields = llm.GenerationSettings.__dataclass_fields__
    return llm.GenerationSettings(
        **{name: snapshot[name] for name in fields if name in snapshot and name != "seed"},
        seed=seed,
    )


def _model_spec(snapshot: dict) -> llm.ModelSpec:
    fields = llm.ModelSpec.__dataclass_fields__
    return llm.ModelSpec(**{name: snapshot[name] for name in fields if name in snapshot})


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


@dataclass(frozen=True)
class _Sample:
    """One grading of the run: what the model produced and, if it fit the rubric, the answer."""

    seed: int
    generation: llm.Generation
    answer: llm.GradedAnswer | None
    error: str = ""


def grading_run_execute(*, run_id: int, limits: AnswerLimits = DEFAULT_LIMITS) -> None:
    """Grade one queued run. Steps:

    1. Claim the run; if another worker has it or it has ended, do nothing (idempotent).
    2. Load the model; settle its family (how it thinks) and the sampling for it.
    3. Build the prompt and the answer schema from the assignment and rubric version.
    4. Ask the model once per self-consistency sample (seeds seed, seed+1, …), streaming the
       reasoning trace into the run as it grows.
    5. Validate the answers against the rubric, check the evidence, and store the results, or
       fail with the reason.

    `limits` bounds the answer's text (the schema's maxLength values); tests pass small ones.
    """
    if not grading_run_claim(run_id=run_id):
        logger.info("Run %s is not queued; nothing to do.", run_id)
        return
    run = GradingRun.objects.select_related("submission__assignment", "rubric_version__rubric").get(
        pk=run_id
    )
    task = grading_task_for(run=run)
    sample_count = min(
        max(run.submission.assignment.self_consistency_samples, 1), MAX_SELF_CONSISTENCY_SAMPLES
    )

    try:
        backend = get_backend(_model_spec(run.model_snapshot))
        family = _family(run.model_snapshot, backend)
        base_settings = families.settings_for_family(
            _generation_settings(run.model_snapshot, run.seed), family
        )
        _record_settings_used(run, family, base_settings)
        reasoning = families.has_reasoning_field(family)
        messages = tuple(build_messages(task, reasoning_field=reasoning))
        schema = answer_schema(task.rubric, limits, reasoning=reasoning)
        samples = []
        for index in range(sample_count):
            seed = run.seed + index
            request = llm.GenerationRequest(
                messages=messages,
                json_schema=schema,
                settings=replace(base_settings, seed=seed),
            )
            on_trace = _trace_writer(run_id, index, sample_count)
            generation = backend.generate(request, on_trace=on_trace)
            samples.append(_sample(seed, generation, task.rubric, limits, reasoning=reasoning))
    except BackendError as error:
        if error.permanent:
            flags = [GradingRun.Flag.INPUT_TOO_LONG.value] if error.input_too_long else None
            grading_run_fail(run_id=run_id, error=str(error), flags=flags)
            return
        GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.QUEUED, error=f"Attempt failed, retrying: {error}"
        )
        raise TransientGradingError(str(error)) from error
    except ValueError as error:  # an unknown family name in the snapshot
        grading_run_fail(run_id=run_id, error=str(error))
        return
    _store_generation(run=run, task=task, samples=samples)


def _family(snapshot: dict, backend: GradingBackend) -> families.Family:
    """The family the snapshot names, else the one the backend detected."""
    return families.parse_family(snapshot.get("family", families.AUTO)) or backend.family


def _record_settings_used(
    run: GradingRun, family: families.Family, used: llm.GenerationSettings
) -> None:
    """Add what the run really used (family, thinking, sampling) to its snapshot."""
    snapshot = {
        **run.model_snapshot,
        "used": {
            "family": family.value,
            "enable_thinking": used.enable_thinking,
            **{name: getattr(used, name) for name in SAMPLING_FIELDS},
        },
    }
    GradingRun.objects.filter(pk=run.pk).update(model_snapshot=snapshot)
    run.model_snapshot = snapshot


def _trace_writer(run_id: int, index: int, count: int) -> Callable[[str], None]:
    heading = f"[Sample {index + 1} of {count}]\n" if count > 1 else ""

    def store_trace(trace: str) -> None:
        GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.RUNNING).update(
            reasoning_trace=heading + trace
        )

    return store_trace


def _sample(
    seed: int,
    generation: llm.Generation,
    rubric: llm.Rubric,
    limits: AnswerLimits,
    *,
    reasoning: bool,
) -> _Sample:
    try:
        if generation.trace_truncated:
            raise AnswerError(
                f"the model's reasoning was cut off after {generation.thinking_tokens} tokens, "
                "before it reached an answer (raise the profile's thinking budget or use a "
                "model that reasons more briefly)"
            )
        if not generation.answer_complete:
            raise AnswerError(
                f"the answer was cut off after {generation.answer_tokens} tokens "
                "(raise the profile's maximum answer tokens)"
            )
        answer = parse_answer(generation.answer, rubric, limits, reasoning=reasoning)
    except AnswerError as error:
        return _Sample(seed=seed, generation=generation, answer=None, error=str(error))
    return _Sample(seed=seed, generation=generation, answer=answer)


def _store_generation(*, run: GradingRun, task: llm.GradingTask, samples: list[_Sample]) -> None:
    """Store the run's outcome: the agreed result of the samples that fit the rubric, or FAILED.

    With one sample its answer is the result. With several, each criterion gets the median of
    the samples' points (the lower middle one, so it is a grade some sample gave) with that
    sample's level, justification and evidence; feedback, trace and token counts come from the
    sample closest to that result; every sample's scores and the spread go to the run.
    """
    graded = [sample for sample in samples if sample.answer is not None]
    flags = _generation_flags(samples)
    chosen = _closest_sample(graded) if graded else samples[-1]
    generation = chosen.generation
    common = {
        "reasoning_trace": _trace_of(chosen),
        "raw_answer": generation.answer,
        "prompt_tokens": generation.prompt_tokens,
        "thinking_tokens": generation.thinking_tokens,
        "answer_tokens": generation.answer_tokens,
        "model_revision": generation.model_revision[:MODEL_REVISION_CHARS],
        "finished_at": timezone.now(),
    }
    if len(samples) > 1:
        common["samples"] = [_sample_record(sample) for sample in samples]
    if not graded:
        GradingRun.objects.filter(pk=run.pk, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.FAILED,
            error=f"The model's answer did not fit the rubric: {chosen.error}"[:MAX_ERROR_CHARS],
            flags=flags,
            **common,
        )
        return

    scores = _agreed_scores(graded, task.rubric)
    spread = _spread(graded, task.rubric)
    if any(
        spread[criterion.key] > HIGH_SPREAD_FRACTION * criterion.max_points
        for criterion in task.rubric.criteria
    ):
        flags.append(GradingRun.Flag.HIGH_SPREAD.value)
    checker = EvidenceChecker(task.submission_text)
    evidence = {score.key: checker.check_all(score.evidence) for score in scores}
    if any(not quote.verified for quotes in evidence.values() for quote in quotes):
        flags.append(GradingRun.Flag.UNVERIFIABLE_EVIDENCE.value)

    criteria = {c.key: c for c in run.rubric_version.criteria.all()}
    with transaction.atomic():
        updated = GradingRun.objects.filter(pk=run.pk, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.SUCCEEDED,
            feedback=chosen.answer.feedback,
            # The app's sum of the stored points, never a total the model wrote.
            total=sum(score.points for score in scores),
            spread=spread if len(samples) > 1 else {},
            flags=flags,
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
                evidence=[quote.as_json() for quote in evidence[score.key]],
            )
            for score in scores
        )
        if run.submission.latest_run_id == run.pk:  # a trial run releases nothing
            review_auto_release(submission=run.submission)


def _generation_flags(samples: list[_Sample]) -> list[str]:
    flags = []
    if any(sample.generation.thinking_budget_reached for sample in samples):
        flags.append(GradingRun.Flag.THINKING_BUDGET_REACHED.value)
    if any(sample.generation.trace_truncated for sample in samples):
        flags.append(GradingRun.Flag.TRUNCATED_TRACE.value)
    return flags


def _trace_of(sample: _Sample) -> str:
    # A model without a thinking mode reasons in the answer's own field.
    if sample.answer is not None and sample.answer.reasoning:
        return sample.answer.reasoning
    return sample.generation.trace


def _agreed_scores(graded: list[_Sample], rubric: llm.Rubric) -> list[llm.CriterionScore]:
    agreed = []
    for criterion in rubric.criteria:
        scores = [_score(sample, criterion.key) for sample in graded]
        median = statistics.median_low(score.points for score in scores)
        agreed.append(next(score for score in scores if score.points == median))
    return agreed


def _closest_sample(graded: list[_Sample]) -> _Sample:
    """The sample whose points are nearest the agreed ones (the first, among equals)."""
    if len(graded) == 1:
        return graded[0]
    keys = [score.key for score in graded[0].answer.scores]
    agreed = {
        key: statistics.median_low(_score(sample, key).points for sample in graded) for key in keys
    }
    return min(
        graded,
        key=lambda sample: sum(abs(_score(sample, key).points - agreed[key]) for key in keys),
    )


def _spread(graded: list[_Sample], rubric: llm.Rubric) -> dict[str, int]:
    """Per criterion key, the highest minus the lowest points the samples gave."""
    spread = {}
    for criterion in rubric.criteria:
        points = [_score(sample, criterion.key).points for sample in graded]
        spread[criterion.key] = max(points) - min(points)
    return spread


def _score(sample: _Sample, key: str) -> llm.CriterionScore:
    return next(score for score in sample.answer.scores if score.key == key)


def _sample_record(sample: _Sample) -> dict:
    """One self-consistency sample as kept in GradingRun.samples."""
    generation = sample.generation
    record: dict = {
        "seed": sample.seed,
        "thinking_tokens": generation.thinking_tokens,
        "answer_tokens": generation.answer_tokens,
        "flags": _generation_flags([sample]),
    }
    if sample.answer is None:
        record["error"] = sample.error[:MAX_ERROR_CHARS]
        return record
    record["total"] = sample.answer.total
    record["scores"] = {
        score.key: {"level": score.level, "points": score.points} for score in sample.answer.scores
    }
    return record


def snapshot_as_text(snapshot: dict) -> str:
    """One line describing the model a run used, for pages."""
    thinking = "thinking" if snapshot.get("enable_thinking", True) else "no thinking"
    return f"{snapshot.get('model', '?')} ({snapshot.get('backend', '?')}, {thinking})"
