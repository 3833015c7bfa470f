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
from dataclasses import asdict, dataclass, field, replace

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
from grading.llm.prompt import PROMPT_VERSION, build_messages, prompt_parts
from grading.llm.schema import (
    DEFAULT_LIMITS,
    AnswerBudgetError,
    AnswerError,
    AnswerLimits,
    answer_schema,
    answer_token_bound,
    limits_within_budget,
    parse_answer,
)
from grading.models import (
    Assignment,
    CriterionResult,
    Evaluation,
    GradingRun,
    ModelProfile,
    RubricVersion,
    Submission,
)
from grading.services.injection import run_flags_for_grade, submissions_injection_second_stage
from grading.services.reviews import review_auto_release
from grading.services.rubrics import rubric_spec

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
MAX_TASK_ID_CHARS = 64  # GradingRun.task_id
MAX_SEED = 2**31 - 1
# Runs written per transaction when a whole class is queued.
REQUEST_CHUNK = 200
# A batch looks at this many queued runs per free slot for companions with the same snapshot.
BATCH_CANDIDATES_PER_SLOT = 2
MODEL_REVISION_CHARS = 80  # GradingRun.model_revision
SCRIPTED_BACKEND = "scripted"  # the deterministic stand-in of grading/llm/backends/scripted.py

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
    "injection_second_stage",
    "enable_thinking",
    *SAMPLING_FIELDS,
    "thinking_budget",
    "max_answer_tokens",
    "context_limit",
)


class TransientGradingError(Exception):
    """The model could not answer this time; the runs it names are queued again for a retry."""

    def __init__(self, message: str, *, run_ids: list[int]) -> None:
        super().__init__(message)
        self.run_ids = run_ids


def model_profile_for(*, assignment: Assignment) -> ModelProfile | None:
    """The profile grading `assignment`: its own, else the default profile, else None (settings)."""
    if assignment.model_profile_id is not None:
        return assignment.model_profile
    return ModelProfile.objects.filter(is_default=True).first()


def model_snapshot_for(*, assignment: Assignment) -> dict:
    """The model settings a run of this assignment uses, frozen into the run: from the
    assignment's profile, else the profile marked default, else settings.AAIE_DEFAULT_MODEL."""
    return model_snapshot_of(profile=model_profile_for(assignment=assignment))


def model_snapshot_of(*, profile: ModelProfile | None) -> dict:
    """A profile's settings as a run freezes them (None: settings.AAIE_DEFAULT_MODEL).

    A profile with thinking off that kept the thinking sampling gets Qwen's non-thinking advice
    instead. The API key's variable name is kept, never the key.
    """
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
        (run,) = _runs_create(
            [submission],
            version=version,
            snapshot=model_snapshot_for(assignment=assignment),
            max_total=_max_total(version),
            requested_by=requested_by,
            latest=version.pk == assignment.rubric_version_id,
        )
    return run


def grading_runs_request_for_assignment(
    *, assignment: Assignment, requested_by, only_failed: bool = False
) -> int:
    """Queue every newest attempt that has no AI grade yet and is not being graded.

    With only_failed, queue just those whose last run failed ("retry failed"). The runs are
    written REQUEST_CHUNK at a time, each chunk in one transaction, so a class is queued in a
    few queries instead of several per submission.
    """
    regradable = (
        {GradingRun.Status.FAILED}
        if only_failed
        else {GradingRun.Status.FAILED, GradingRun.Status.CANCELLED}
    )
    newest_attempts = (
        assignment.submissions.select_related("latest_run")
        .only("student_id", "attempt", "flags", "latest_run__status")
        .order_by("student_id", "-attempt")
    )
    wanted: list[int] = []
    seen_students: set[int] = set()
    for submission in newest_attempts:
        if submission.student_id in seen_students:
            continue
        seen_students.add(submission.student_id)
        run = submission.latest_run
        if (run is None and only_failed) or (run is not None and run.status not in regradable):
            continue
        if not submission.flags.get("no_text"):
            wanted.append(submission.pk)
    version = assignment.rubric_version
    snapshot = model_snapshot_for(assignment=assignment)
    max_total = _max_total(version)
    queued = 0
    for start in range(0, len(wanted), REQUEST_CHUNK):
        ids = wanted[start : start + REQUEST_CHUNK]
        with transaction.atomic():
            locked = list(
                Submission.objects.select_for_update().filter(pk__in=ids).order_by("pk").only("pk")
            )
            busy = set(
                GradingRun.objects.filter(
                    submission_id__in=ids, status__in=GradingRun.ACTIVE_STATUSES
                ).values_list("submission_id", flat=True)
            )
            # Started by someone else meanwhile: skipped, as grading_run_request would refuse.
            free = [submission for submission in locked if submission.pk not in busy]
            queued += len(
                _runs_create(
                    free,
                    version=version,
                    snapshot=snapshot,
                    max_total=max_total,
                    requested_by=requested_by,
                    latest=True,
                )
            )
    return queued


def grading_runs_request_for_evaluation(*, evaluation: Evaluation, requested_by) -> int:
    """Queue a run of the evaluation's profile for every submission of its calibration set.

    The runs are trials: they never become a submission's latest run, so the set's own grades
    stay as they are, and each evaluation keeps its runs apart (GradingRun.evaluation).
    """
    assignment = evaluation.calibration_set.assignment
    version = assignment.rubric_version
    with transaction.atomic():
        submissions = list(
            Submission.objects.select_for_update().filter(assignment=assignment).order_by("pk")
        )
        if GradingRun.objects.filter(
            submission__in=submissions, status__in=GradingRun.ACTIVE_STATUSES
        ).exists():
            raise ApplicationError(
                "This calibration set is being graded already; try another profile once it is done."
            )
        runs = _runs_create(
            [submission for submission in submissions if not submission.flags.get("no_text")],
            version=version,
            snapshot=model_snapshot_of(profile=evaluation.model_profile),
            max_total=_max_total(version),
            requested_by=requested_by,
            latest=False,
            evaluation=evaluation,
        )
    return len(runs)


def _max_total(version: RubricVersion) -> int:
    return sum(criterion.max_points for criterion in version.criteria.all())


def _runs_create(
    submissions: list[Submission],
    *,
    version: RubricVersion,
    snapshot: dict,
    max_total: int,
    requested_by,
    latest: bool,
    evaluation: Evaluation | None = None,
) -> list[GradingRun]:
    """Write QUEUED runs for `submissions` (locked by the caller's transaction) and send their
    tasks after commit. `latest`: each run becomes its submission's latest run. `evaluation`:
    the runs try a profile on a calibration set (services/evaluation.py)."""
    now = timezone.now()
    runs = GradingRun.objects.bulk_create(
        GradingRun(
            submission=submission,
            rubric_version=version,
            model_snapshot=snapshot,
            prompt_version=PROMPT_VERSION,
            seed=secrets.randbelow(MAX_SEED),
            requested_by=requested_by,
            max_total=max_total,
            evaluation=evaluation,
            # For a queued run, heartbeat_at is when its task was sent (see pipeline's sweep).
            heartbeat_at=now,
        )
        for submission in submissions
    )
    if latest:
        for submission, run in zip(submissions, runs, strict=True):
            submission.latest_run = run
        Submission.objects.bulk_update(submissions, ["latest_run"])
    run_ids = [run.pk for run in runs]
    transaction.on_commit(lambda: _enqueue_all(run_ids))
    return runs


def _enqueue_all(run_ids: list[int]) -> None:
    for run_id in run_ids:
        _enqueue(run_id)


def grading_run_claim(*, run_id: int, task_id: str | None = None) -> bool:
    """QUEUED → RUNNING for exactly one worker; False means someone else has it or it ended.

    The claim is the first heartbeat; the worker's heartbeat thread keeps it fresh from then on.
    `task_id` names the Celery task grading it (by default the task calling, if any).
    """
    now = timezone.now()
    if task_id is None:
        task = current_task  # its id helps to trace a run's tasks
        task_id = (task.request.id or "") if task else ""
    claimed = GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.QUEUED).update(
        status=GradingRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        task_id=task_id[:MAX_TASK_ID_CHARS],
    )
    return claimed == 1


def grading_runs_claim_batch(*, run_id: int) -> list[GradingRun]:
    """Claim `run_id` and, with it, queued runs it can be graded with in one model batch.

    Companions are runs of the same assignment and rubric version with the same model snapshot,
    oldest first, up to the snapshot's batch size in model requests (a run asks for one request
    per self-consistency sample). Their own tasks find them claimed and do nothing. Returns the
    claimed runs, `run_id`'s first; empty if it was not queued.
    """
    if not grading_run_claim(run_id=run_id):
        return []
    lead = GradingRun.objects.select_related(
        "submission__assignment", "rubric_version__rubric"
    ).get(pk=run_id)
    batch = [lead]
    room = _batch_size(lead.model_snapshot) - _sample_count(lead)
    if room <= 0:
        return batch
    candidates = (
        GradingRun.objects.filter(
            status=GradingRun.Status.QUEUED,
            rubric_version_id=lead.rubric_version_id,
            submission__assignment_id=lead.submission.assignment_id,
        )
        .select_related("submission__assignment", "rubric_version__rubric")
        .order_by("pk")[: room * BATCH_CANDIDATES_PER_SLOT]
    )
    for run in candidates:
        cost = _sample_count(run)
        if run.model_snapshot != lead.model_snapshot or cost > room:
            continue
        if grading_run_claim(run_id=run.pk, task_id=lead.task_id):
            batch.append(run)
            room -= cost
            if room <= 0:
                break
    return batch


def _batch_size(snapshot: dict) -> int:
    return max(int(snapshot.get("batch_size") or 1), 1)


def _sample_count(run: GradingRun) -> int:
    return min(
        max(run.submission.assignment.self_consistency_samples, 1), MAX_SELF_CONSISTENCY_SAMPLES
    )


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


def grading_task_for(*, run: GradingRun, rubric: llm.Rubric | None = None) -> llm.GradingTask:
    """What the model sees of a run: the assignment, the rubric and the text. No identity.

    `rubric`: the run's rubric version as a spec, when the caller has it already (a batch).
    """
    assignment = run.submission.assignment
    return llm.GradingTask(
        assignment_title=assignment.title,
        task=assignment.task,
        reference=assignment.reference_notes,
        rubric=rubric or rubric_spec(rubric_version=run.rubric_version),
        submission_text=run.submission.text,
    )


@dataclass(frozen=True)
class _Sample:
    """One grading of the run: what the model produced and, if it fit the rubric, the answer."""

    seed: int
    generation: llm.Generation
    answer: llm.GradedAnswer | None
    error: str = ""


@dataclass
class _RunJob:
    """A claimed run on its way through the model: its task and the requests it makes."""

    run: GradingRun
    task: llm.GradingTask
    reasoning: bool = False
    requests: list[llm.GenerationRequest] = field(default_factory=list)


def grading_run_execute(
    *,
    run_id: int,
    limits: AnswerLimits = DEFAULT_LIMITS,
    on_claimed: Callable[[list[int]], None] | None = None,
) -> None:
    """Grade a queued run, with the queued runs it can share a model batch with. Steps:

    1. Claim the run and its companions (grading_runs_claim_batch); if the run is not queued,
       do nothing (idempotent). `on_claimed` learns every claimed run's id (the worker's
       heartbeat vouches for them).
    2. Load the model; settle its family (how it thinks) and the sampling for it. Where the
       profile allows, ask it about the passages the injection detector found ambiguous.
    3. Per run: build the prompt and the answer schema from the assignment and rubric version;
       one request per self-consistency sample (seeds seed, seed+1, …).
    4. Ask the model for every request in one batch, streaming each reasoning trace into its
       run as it grows.
    5. Per run: validate the answers against the rubric, check the evidence, and store the
       results, or fail with the reason.

    A transient model error puts every run of the batch back to QUEUED and raises
    TransientGradingError naming them. `limits` caps the answer's text bounds (the schema's
    maxLength values), which shrink further to fit the profile's answer budget; tests pass small
    ones.
    """
    runs = grading_runs_claim_batch(run_id=run_id)
    if not runs:
        logger.info("Run %s is not queued; nothing to do.", run_id)
        return
    if on_claimed is not None:
        on_claimed([run.pk for run in runs])
    rubric = rubric_spec(rubric_version=runs[0].rubric_version)  # one version per batch
    jobs = [_RunJob(run=run, task=grading_task_for(run=run, rubric=rubric)) for run in runs]
    snapshot = runs[0].model_snapshot  # the same for every run of the batch
    try:
        backend = get_backend(_model_spec(snapshot))
        family = _family(snapshot, backend)
    except (BackendError, ValueError) as error:  # ValueError: an unknown family in the snapshot
        _fail_or_requeue(jobs, error)
        return
    submissions_injection_second_stage(
        submissions=[run.submission for run in runs], backend=backend, snapshot=snapshot
    )
    base_settings = families.settings_for_family(_generation_settings(snapshot, 0), family)
    reasoning = families.has_reasoning_field(family)
    try:
        # The profile's answer budget is the cap; the text bounds shrink until an answer fits it.
        limits = limits_within_budget(
            rubric, base_settings.max_answer_tokens, limits, reasoning=reasoning
        )
    except AnswerBudgetError as error:
        _fail_or_requeue(jobs, error)
        return
    schema = answer_schema(rubric, limits, reasoning=reasoning)
    _record_settings_used(runs, family, base_settings, limits=limits, schema=schema)
    for job in jobs:
        job.reasoning = reasoning
        messages = tuple(build_messages(job.task, reasoning_field=reasoning))
        job.requests = [
            llm.GenerationRequest(
                messages=messages,
                json_schema=schema,
                settings=replace(base_settings, seed=job.run.seed + index),
                prompt_parts=prompt_parts(job.task),
            )
            for index in range(_sample_count(job.run))
        ]
    requests = [request for job in jobs for request in job.requests]
    callbacks = [
        _trace_writer(job.run.pk, index, len(job.requests))
        for job in jobs
        for index in range(len(job.requests))
    ]
    results = iter(backend.generate_batch(requests, on_trace=callbacks))
    transient: list[tuple[_RunJob, BackendError]] = []
    for job in jobs:
        outcomes = [next(results) for _ in job.requests]
        error = next((o for o in outcomes if isinstance(o, BackendError)), None)
        if error is not None and not error.permanent:
            transient.append((job, error))
        elif error is not None:
            _fail(job, error)
        else:
            samples = [
                _sample(request.settings.seed, generation, job, limits)
                for request, generation in zip(job.requests, outcomes, strict=True)
            ]
            _store_generation(run=job.run, task=job.task, samples=samples)
    if transient:
        _requeue(transient)


def _fail(job: _RunJob, error: BackendError) -> None:
    flags = [GradingRun.Flag.INPUT_TOO_LONG.value] if error.input_too_long else None
    grading_run_fail(run_id=job.run.pk, error=str(error), flags=flags)


def _fail_or_requeue(jobs: list[_RunJob], error: Exception) -> None:
    """The model could not be used at all: queue every run again, or fail them all."""
    if isinstance(error, BackendError) and not error.permanent:
        _requeue([(job, error) for job in jobs])  # raises
    for job in jobs:
        grading_run_fail(run_id=job.run.pk, error=str(error))


def _requeue(failed: list[tuple[_RunJob, BackendError]]) -> None:
    run_ids = []
    for job, error in failed:
        GradingRun.objects.filter(pk=job.run.pk, status=GradingRun.Status.RUNNING).update(
            status=GradingRun.Status.QUEUED, error=f"Attempt failed, retrying: {error}"
        )
        run_ids.append(job.run.pk)
    raise TransientGradingError(str(failed[0][1]), run_ids=run_ids)


def _family(snapshot: dict, backend: GradingBackend) -> families.Family:
    """The family the snapshot names, else the one the backend detected."""
    return families.parse_family(snapshot.get("family", families.AUTO)) or backend.family


def _record_settings_used(
    runs: list[GradingRun],
    family: families.Family,
    used: llm.GenerationSettings,
    *,
    limits: AnswerLimits,
    schema: dict,
) -> None:
    """Add what the runs really used (family, thinking, sampling, the answer's budget and text
    bounds) to their snapshot, which is the same for every run of a batch."""
    snapshot = {
        **runs[0].model_snapshot,
        "used": {
            "family": family.value,
            "enable_thinking": used.enable_thinking,
            **{name: getattr(used, name) for name in SAMPLING_FIELDS},
            "max_answer_tokens": used.max_answer_tokens,
            "answer_token_bound": answer_token_bound(schema),
            "answer_limits": asdict(limits),
        },
    }
    GradingRun.objects.filter(pk__in=[run.pk for run in runs]).update(model_snapshot=snapshot)
    for run in runs:
        run.model_snapshot = snapshot


def _trace_writer(run_id: int, index: int, count: int) -> Callable[..., None]:
    heading = f"[Sample {index + 1} of {count}]\n" if count > 1 else ""

    def store_trace(trace: str, tokens: int | None = None) -> None:
        # The token count, where the backend gives it, feeds the page's count and the ETA.
        live = {"reasoning_trace": heading + trace}
        if tokens is not None and index == 0:
            live["thinking_tokens"] = tokens
        GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.RUNNING).update(**live)

    return store_trace


def _sample(seed: int, generation: llm.Generation, job: _RunJob, limits: AnswerLimits) -> _Sample:
    try:
        if generation.trace_truncated:
            why = generation.extra.get("continuation_error")
            raise AnswerError(
                f"the model's reasoning was cut off after {generation.thinking_tokens} tokens, "
                "before it reached an answer (raise the profile's thinking budget or use a "
                "model that reasons more briefly)" + (f"; {why}" if why else "")
            )
        if not generation.answer_complete:
            raise AnswerError(
                f"the answer was cut off after {generation.answer_tokens} tokens "
                "(raise the profile's maximum answer tokens)"
            )
        answer = parse_answer(generation.answer, job.task.rubric, limits, reasoning=job.reasoning)
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
    flags += run_flags_for_grade(
        submission=run.submission,
        scores=scores,
        evidence=evidence,
        feedback=chosen.answer.feedback,
        max_total=task.rubric.max_total,
    )

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
    """One line describing the model a run used, for pages: with the answer's budget and text
    bounds once the run has started (a long rubric's bounds shrink to fit the budget)."""
    if snapshot.get("backend") == SCRIPTED_BACKEND:
        # No model ran: naming the configured model would pass a stand-in off as Qwen3.
        text = "Scripted stand-in (no model: fixed answers for tests and demos"
    else:
        thinking = "thinking" if snapshot.get("enable_thinking", True) else "no thinking"
        text = f"{snapshot.get('model', '?')} ({snapshot.get('backend', '?')}, {thinking}"
    used = snapshot.get("used", {})
    if limits := used.get("answer_limits"):
        text += (
            f"; answer budget {used['max_answer_tokens']:,} tokens: justifications up to "
            f"{limits['justification_max_chars']:,} characters, quotes "
            f"{limits['evidence_max_chars']:,}, feedback {limits['feedback_max_chars']:,}"
        )
    return text + ")"
