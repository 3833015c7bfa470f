"""The grading domain: courses, rubrics, submissions, AI grading runs, reviews and their audit."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from grading.vocabulary import Provenance


class Course(models.Model):
    code = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"


class Enrolment(models.Model):
    """A user's place in a course; the role decides what they may do there."""

    class Role(models.TextChoices):
        EDUCATOR = "educator", "Educator"
        STUDENT = "student", "Student"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments"
    )
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="one_enrolment_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course.code} as {self.role}"


class Rubric(models.Model):
    """A named rubric in the library; its content lives in immutable versions."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept from an imported dataset and given back on export: its subject area and the task the
    # rubric was written for (offered as a new assignment's task).
    domain = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RubricVersion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rubric", "number"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "number"], name="unique_rubric_version")
        ]

    def __str__(self) -> str:
        return f"{self.rubric.name} v{self.number}"

    @property
    def is_locked(self) -> bool:
        """Once any grade uses a version it never changes; edits make a new version."""
        return self.grading_runs.exists()


class Criterion(models.Model):
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.CASCADE, related_name="criteria"
    )
    order = models.PositiveIntegerField()  # 1, 2, …; also gives the key the model answers with
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    max_points = models.PositiveIntegerField()

    class Meta:
        ordering = ["rubric_version", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["rubric_version", "order"], name="unique_criterion_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return f"C{self.order}"


class Level(models.Model):
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="levels")
    order = models.PositiveIntegerField()
    label = models.CharField(max_length=80)
    points = models.PositiveIntegerField()
    descriptor = models.TextField(blank=True)

    class Meta:
        ordering = ["criterion", "order"]
        constraints = [
            models.UniqueConstraint(fields=["criterion", "label"], name="unique_level_label")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.points})"


class ModelProfile(models.Model):
    """Which model grades, and how. Assignments without one use settings.AAIE_DEFAULT_MODEL."""

    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers", "transformers (local)"
        OPENAI = "openai", "OpenAI-compatible server (vLLM, SGLang, Ollama, hosted)"
        SCRIPTED = "scripted", "scripted (tests and demos)"

    class Quantization(models.TextChoices):
        NONE = "", "none"
        INT8 = "8bit", "8-bit (bitsandbytes, GPU)"
        INT4 = "4bit", "4-bit (bitsandbytes, GPU)"

    class Family(models.TextChoices):
        # Values match grading.llm.families.Family; "" detects it from the chat template or name.
        AUTO = "", "detect from the model"
        QWEN3 = "qwen3", "Qwen3 (thinking switch)"
        QWEN25 = "qwen2.5", "Qwen2.5-Instruct style (no thinking; reasons in the answer)"
        QWQ = "qwq", "QwQ / Thinking-2507 style (always thinks)"

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(
        default=False, help_text="Used by assignments that name no profile."
    )
    backend = models.CharField(max_length=32, choices=Backend.choices, default=Backend.TRANSFORMERS)
    model = models.CharField(max_length=500, help_text="Hub id, local folder, or served name.")
    revision = models.CharField(max_length=100, blank=True, help_text="Hub revision to pin.")
    family = models.CharField(
        max_length=16,
        choices=Family.choices,
        default=Family.AUTO,
        blank=True,
        help_text="How the model thinks; detected from its chat template or name when empty.",
    )
    api_base = models.URLField(
        blank=True, help_text="Server URL for the OpenAI-compatible backend."
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the server's API key (never the key).",
    )
    request_timeout_seconds = models.PositiveIntegerField(default=600)
    enable_thinking = models.BooleanField(default=True)
    temperature = models.FloatField(default=0.6)
    top_p = models.FloatField(default=0.95)
    top_k = models.PositiveIntegerField(default=20)
    min_p = models.FloatField(default=0.0)
    presence_penalty = models.FloatField(default=0.0)
    repetition_penalty = models.FloatField(default=1.0)
    thinking_budget = models.PositiveIntegerField(default=2048)
    max_answer_tokens = models.PositiveIntegerField(default=1536)
    context_limit = models.PositiveIntegerField(default=32768)
    device = models.CharField(max_length=32, default="cpu")
    dtype = models.CharField(max_length=16, default="auto")
    quantization = models.CharField(
        max_length=8, choices=Quantization.choices, default=Quantization.NONE, blank=True
    )
    # How many model requests a worker grades together (runs of one assignment share a batch).
    batch_size = models.PositiveIntegerField(
        default=8,
        help_text="Requests graded together in one model batch (1 = one at a time).",
    )
    injection_second_stage = models.BooleanField(
        default=False,
        help_text="Ask this model, before grading, about passages the injection detector finds "
        "ambiguous (one short classification each, thinking off).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_profile"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=200)
    task = models.TextField(help_text="Shown to students and to the model.")
    reference_notes = models.TextField(
        blank=True, help_text="Reference answer or marking notes; never shown to students."
    )
    due_at = models.DateTimeField(null=True, blank=True)
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="assignments"
    )
    model_profile = models.ForeignKey(
        ModelProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    students_may_upload = models.BooleanField(default=False)
    review_required = models.BooleanField(
        default=True, help_text="AI grades need an educator's approval before release."
    )
    students_see_trace = models.BooleanField(default=False)
    self_consistency_samples = models.PositiveSmallIntegerField(
        default=1, help_text="Grade this many times and report the spread (1 = once)."
    )
    min_agreement_for_bulk_release = models.FloatField(
        null=True,
        blank=True,
        help_text="Quadratic weighted kappa the AI must reach on reviewed submissions "
        "before bulk release is allowed (empty = no requirement).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "-created_at"]

    def __str__(self) -> str:
        return self.title


def submission_upload_to(submission: Submission, filename: str) -> str:
    # The stored name is ours, never the uploader's: it cannot carry paths or odd characters.
    return f"submissions/{submission.assignment_id}/{uuid.uuid4().hex}"


class Submission(models.Model):
    """One attempt by one student; a resubmission is a new row, so history is kept."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    attempt = models.PositiveIntegerField(default=1)
    original_name = models.CharField(max_length=255)
    original_file = models.FileField(upload_to=submission_upload_to)
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    submitted_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # What the educator should know about the file, set when it is read (grading/ingest) and
    # checked for injection (grading/llm/injection.py). A dict; every key is optional:
    #   "no_text": true                 nothing could be read (a scan); never graded blank
    #   "hidden_text": [str, ...]       DOCX text a reader cannot see (hidden, white, tiny)
    #   "injection_suspected": {"score": float 0-1,
    #                           "passages": [{"text": str, "reasons": [str, ...]}, ...]}
    #   "skipped_files": [{"name": str, "reason": str}, ...]   files of a project ZIP not read
    #   "injection_unsure": {...}       as injection_suspected, for a text in the detector's grey
    #                                   band; the second stage may settle it (services/injection.py)
    # Filter with flags__has_key="injection_suspected". All values are untrusted student text.
    flags = models.JSONField(default=dict, blank=True)
    # The AI run the educator sees; kept here so list pages need no per-row query.
    latest_run = models.ForeignKey(
        "GradingRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["assignment", "student", "-attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student", "attempt"], name="unique_attempt"
            )
        ]
        # The dashboard's progress counts read only these two columns: SQLite then need not
        # step over each row's text to reach latest_run, and PostgreSQL can scan the index alone.
        indexes = [models.Index(fields=["assignment", "latest_run"], name="submission_progress")]

    def __str__(self) -> str:
        return f"{self.assignment} — {self.student} #{self.attempt}"

    FLAG_LABELS = {
        "no_text": "No readable text (scan?)",
        "hidden_text": "Hidden text in the file",
        "injection_suspected": "Injection suspected",
        "injection_unsure": "Injection check unsure",
        "skipped_files": "Files skipped",
    }

    @classmethod
    def labels_of(cls, flags: dict) -> list[str]:
        return [cls.FLAG_LABELS.get(flag, flag) for flag in flags]


def unmatched_upload_to(unmatched: UnmatchedUpload, filename: str) -> str:
    return f"unmatched/{unmatched.assignment_id}/{uuid.uuid4().hex}"


class UploadBatch(models.Model):
    """One upload (a page's form, a student's file, an API call) and what became of each file.

    The request keeps the originals and this row, PROCESSING; the light worker reads them and
    stores every submission of the upload in one transaction (DONE), or none of them (FAILED,
    with the reason in `error`).
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="upload_batches"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # [{"name": str, "outcome": "stored" | "unmatched" | "rejected", "reason": str,
    #   "student": str, "flags": [str, ...]}], in upload order; names and reasons are untrusted.
    results = models.JSONField(default=list, blank=True)
    # Roster rows that named no enrolled student.
    warnings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    # Every file is this student's (chosen by the educator, or a student's own upload).
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The originals waiting to be read, in upload order: [{"name": str, "path": str (storage),
    # "size": int, "error": str (refused in the request; then no path)}]; emptied once read.
    staged = models.JSONField(default=list, blank=True)
    roster_path = models.CharField(max_length=255, blank=True)
    # A retried upload with the same key (per uploader) gets this upload back, stored once.
    idempotency_key = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)  # its task was last sent
    started_at = models.DateTimeField(null=True, blank=True)  # a worker began reading it
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["uploaded_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unique_upload_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"Upload {self.pk} to {self.assignment}"


class UnmatchedUpload(models.Model):
    """A good file from a bulk upload that matched no student, kept until an educator assigns it."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="unmatched_uploads"
    )
    batch = models.ForeignKey(
        UploadBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="unmatched"
    )
    original_name = models.CharField(max_length=500)  # its path inside the upload, for matching
    original_file = models.FileField(upload_to=unmatched_upload_to)
    size = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)  # why it matched nobody
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assignment", "original_name", "id"]

    def __str__(self) -> str:
        return self.original_name


class GradingRun(models.Model):
    """One AI grading attempt, with everything needed to explain and reproduce it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    class Flag(models.TextChoices):
        THINKING_BUDGET_REACHED = "thinking_budget_reached", "Thinking budget reached"
        INPUT_TOO_LONG = "input_too_long", "Submission too long for the model"
        TRUNCATED_TRACE = "truncated_trace", "Reasoning cut off before an answer"
        UNVERIFIABLE_EVIDENCE = "unverifiable_evidence", "Evidence not found in the submission"
        HIGH_SPREAD = "high_spread", "Samples disagree: needs human attention"
        FOLLOWS_INJECTION = "follows_injection", "Grade may follow instructions in the submission"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="grading_runs"
    )
    model_snapshot = models.JSONField(help_text="The model profile as it was when queued.")
    prompt_version = models.CharField(max_length=32)
    seed = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Every failed attempt's error, oldest first, so a run that gave up shows its history.
    error_history = models.JSONField(default=list, blank=True)
    # Last sign of life from the worker grading it; the sweep re-queues runs that went quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Self-consistency: every sample's per-criterion points, and the spread per criterion.
    samples = models.JSONField(default=list, blank=True)
    spread = models.JSONField(default=dict, blank=True)
    reasoning_trace = models.TextField(blank=True)
    raw_answer = models.TextField(blank=True)
    feedback = models.TextField(blank=True)
    total = models.IntegerField(null=True, blank=True)
    max_total = models.PositiveIntegerField()
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    thinking_tokens = models.PositiveIntegerField(null=True, blank=True)
    answer_tokens = models.PositiveIntegerField(null=True, blank=True)
    model_revision = models.CharField(max_length=80, blank=True)
    flags = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set on runs that try a model profile on a calibration set; they never become a grade.
    evaluation = models.ForeignKey(
        "Evaluation", on_delete=models.CASCADE, null=True, blank=True, related_name="runs"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["status"], name="run_status")]
        constraints = [
            # Exactly-once per request: a submission never has two runs in flight.
            models.UniqueConstraint(
                fields=["submission"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_submission",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def flag_labels(self) -> list[str]:
        return self.labels_of(self.flags)

    @classmethod
    def labels_of(cls, flags: list[str]) -> list[str]:
        labels = dict(cls.Flag.choices)
        return [labels.get(flag, flag) for flag in flags]


class CriterionResult(models.Model):
    run = models.ForeignKey(GradingRun, on_delete=models.CASCADE, related_name="results")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    level_label = models.CharField(max_length=80)
    points = models.PositiveIntegerField()
    justification = models.TextField()
    # [{"quote": str, "verified": bool}]: verified means found in the submission text.
    evidence = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "criterion__order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "criterion"], name="one_result_per_criterion")
        ]

    def __str__(self) -> str:
        return f"{self.level_label} ({self.points})"


class Review(models.Model):
    """The educator's final word on a submission; what students see once released."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="review")
    based_on_run = models.ForeignKey(
        GradingRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    released = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    # The grade as released, frozen until the next release: all a student ever sees of it.
    # {"run": id | None, "comment": str, "total": int, "max_total": int, "criteria":
    #  [{"criterion_id", "key", "title", "max_points", "points", "comment"}, ...]}
    released_grade = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # How the points came to be (grading/vocabulary.py); agreement counts human judgments only.
    provenance = models.CharField(
        max_length=16,
        choices=[(item.value, item.label) for item in Provenance],
        default=Provenance.UNKNOWN,
    )
    # An imported label that judged the work as a whole: one band applied to every criterion.
    holistic = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Review of {self.submission}"

    @property
    def provenance_label(self) -> str:
        return Provenance(self.provenance).label

    @property
    def is_human_judgment(self) -> bool:
        return Provenance(self.provenance).is_human_judgment

    @property
    def total(self) -> int:
        return sum(item.points for item in self.criteria.all())


class CriterionReview(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="criteria")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "criterion__order"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="one_review_per_criterion")
        ]

    def __str__(self) -> str:
        return f"{self.points} points"


class AuditEvent(models.Model):
    """One change to a grade: who changed what, from what, to what. Never edited."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="audit_events"
    )
    action = models.CharField(max_length=32)
    field = models.CharField(max_length=100, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # "Opened for review" is recorded once per educator (services.reviews).
            models.UniqueConstraint(
                fields=["submission", "actor"],
                condition=Q(action="opened"),
                name="opened_once_per_actor",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.field} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"


class RegradeRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted (grade changed)"
        DECLINED = "declined", "Declined"

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="regrade_requests"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regrade_requests"
    )
    criteria = models.ManyToManyField(Criterion, blank=True, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    response = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Regrade of {self.submission} ({self.status})"


class WorkerHeartbeat(models.Model):
    """A grading worker's last report: who is up, which model it holds, what it is doing."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    models_loaded = models.JSONField(default=list, blank=True)
    current_run = models.ForeignKey(
        GradingRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class CalibrationSet(models.Model):
    """Work that is already marked, brought in to measure a model before trusting it.

    Its assignment holds the task, the rubric version and the submissions; their students are
    pseudonyms made for the set (never enrolled, never able to log in) and every submission has a
    review with provenance "imported". Its assignment is never shown to students.
    """

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="calibration_set"
    )
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True, help_text="The file it came from.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Evaluation(models.Model):
    """One model profile tried on a calibration set: its runs, compared with the set's labels."""

    calibration_set = models.ForeignKey(
        CalibrationSet, on_delete=models.CASCADE, related_name="evaluations"
    )
    # None: the settings' default model. The runs keep the exact settings in their snapshots.
    model_profile = models.ForeignKey(
        ModelProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    profile_name = models.CharField(max_length=100)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.profile_name} on {self.calibration_set}"


class SentNotification(models.Model):
    """An email that went out, so a task delivered twice never sends it twice."""

    key = models.CharField(max_length=200, unique=True)  # e.g. "grade_released:review:7:<time>"
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class ReviewDraft(models.Model):
    """An educator's unsaved review form, autosaved as they type: survives reloads and tabs."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    fields = models.JSONField(default=dict)  # form field name -> text, as the form posts it
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "author"], name="one_draft_per_author")
        ]

    def __str__(self) -> str:
        return f"Draft of {self.submission} by {self.author}"


class CommentBankEntry(models.Model):
    """A reusable comment of one assignment, inserted with a click; uses are counted."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="comment_bank"
    )
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uses", "created_at"]

    def __str__(self) -> str:
        return self.text[:60]


class AssignmentChange(models.Model):
    """One change to an assignment's set-up: who changed which field, from what, to what."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=64)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.field} of {self.assignment} by {self.actor}"


# LTI 1.3 models live with the LTI package; importing them registers them in this app.
from grading.lti.models import *  # noqa: E402, F403
