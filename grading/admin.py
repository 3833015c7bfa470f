from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.http import JsonResponse

from grading import broker, models
from grading.services.pipeline import worker_is_up
from grading.services.privacy import student_data_delete, student_data_export


class EnrolmentInline(admin.TabularInline):
    model = models.Enrolment
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(models.Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "created_at"]
    search_fields = ["code", "title"]
    inlines = [EnrolmentInline]


def _rubric_version_locked(obj) -> bool:
    """A rubric version that any grade uses never changes; edits make a new version."""
    version = getattr(obj, "rubric_version", obj)
    return version is not None and version.pk is not None and version.is_locked


class LevelInline(admin.TabularInline):
    model = models.Level
    extra = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and _rubric_version_locked(obj))

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(models.Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "rubric_version", "max_points"]
    list_filter = ["rubric_version__rubric"]
    inlines = [LevelInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and _rubric_version_locked(obj))

    has_delete_permission = has_change_permission


class CriterionInline(admin.TabularInline):
    model = models.Criterion
    extra = 0
    show_change_link = True

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and _rubric_version_locked(obj))

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(models.RubricVersion)
class RubricVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at", "locked"]
    list_filter = ["rubric"]
    inlines = [CriterionInline]

    @admin.display(boolean=True, description="used by a grade")
    def locked(self, version: models.RubricVersion) -> bool:
        return version.is_locked

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and _rubric_version_locked(obj))

    has_delete_permission = has_change_permission


class RubricVersionInline(admin.TabularInline):
    model = models.RubricVersion
    extra = 0
    fields = ["number", "created_by", "created_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(models.Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [RubricVersionInline]


MODEL_PROFILE_FIELDSETS = [
    (None, {"fields": ["name", "is_default"]}),
    ("Model", {"fields": ["backend", "model", "revision", "family"]}),
    (
        "Server (OpenAI-compatible backend)",
        {"fields": ["api_base", "api_key_env", "request_timeout_seconds"]},
    ),
    (
        "Thinking and sampling",
        {
            "description": "Qwen's advice: thinking 0.6 / 0.95 / 20 / 0 (never greedy); "
            "without thinking 0.7 / 0.8 / 20 / 0, applied automatically when thinking is off "
            "and the sampling still holds the thinking values.",
            "fields": [
                "enable_thinking",
                "temperature",
                "top_p",
                "top_k",
                "min_p",
                "presence_penalty",
                "repetition_penalty",
            ],
        },
    ),
    ("Limits", {"fields": ["thinking_budget", "max_answer_tokens", "context_limit"]}),
    (
        "Hardware (local transformers backend)",
        {"fields": ["device", "dtype", "quantization", "batch_size"]},
    ),
    ("Prompt injection", {"fields": ["injection_second_stage"]}),
]
MODEL_PROFILE_FIELDS = [
    name for _, options in MODEL_PROFILE_FIELDSETS for name in options["fields"]
]


class ModelProfileForm(forms.ModelForm):
    # Model servers in a private network are mostly plain http ("vllm:8000").
    api_base = forms.URLField(
        required=False,
        assume_scheme="http",
        help_text=models.ModelProfile._meta.get_field("api_base").help_text,
    )

    class Meta:
        model = models.ModelProfile
        fields = MODEL_PROFILE_FIELDS

    def clean(self):
        data = super().clean()
        # Qwen warns that greedy decoding makes thinking models repeat themselves endlessly.
        if data.get("enable_thinking") and (data.get("temperature") or 0) <= 0:
            self.add_error(
                "temperature",
                "With thinking on the temperature must be above 0 (Qwen advises 0.6).",
            )
        backend = data.get("backend")
        if backend == models.ModelProfile.Backend.OPENAI and not data.get("api_base"):
            self.add_error("api_base", "The OpenAI-compatible backend needs the server's URL.")
        return data


@admin.register(models.ModelProfile)
class ModelProfileAdmin(admin.ModelAdmin):
    form = ModelProfileForm
    list_display = [
        "name",
        "is_default",
        "backend",
        "model",
        "family",
        "enable_thinking",
        "thinking_budget",
        "max_answer_tokens",
    ]
    list_filter = ["backend", "enable_thinking"]
    actions = ["make_default"]
    fieldsets = MODEL_PROFILE_FIELDSETS

    @admin.action(description="Make the selected profile the default")
    def make_default(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one profile.", level=messages.ERROR)
            return
        profile = queryset.get()
        with transaction.atomic():
            models.ModelProfile.objects.filter(is_default=True).update(is_default=False)
            models.ModelProfile.objects.filter(pk=profile.pk).update(is_default=True)
        self.message_user(request, f"{profile.name} is now the default profile.")


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "rubric_version", "due_at"]
    list_filter = ["course"]
    search_fields = ["title"]


@admin.register(models.Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "original_name", "submitted_at"]
    list_filter = ["assignment__course"]
    search_fields = ["student__username", "original_name"]
    raw_id_fields = ["latest_run"]


@admin.register(models.GradingRun)
class GradingRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "submission", "status", "total", "queued_at", "finished_at"]
    list_filter = ["status", "submission__assignment__course"]
    search_fields = ["submission__student__username", "error"]
    readonly_fields = [field.name for field in models.GradingRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "submission", "action", "field"]
    list_filter = ["action"]
    search_fields = ["submission__student__username", "actor__username", "field"]
    readonly_fields = [field.name for field in models.AuditEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CriterionReviewInline(admin.TabularInline):
    model = models.CriterionReview
    extra = 0
    readonly_fields = ["criterion"]


@admin.register(models.Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["submission", "provenance", "approved_by", "released", "released_at"]
    list_filter = ["released", "provenance", "submission__assignment__course"]
    search_fields = ["submission__student__username"]
    readonly_fields = [
        "submission",
        "based_on_run",
        "provenance",
        "holistic",
        "approved_at",
        "released_at",
    ]
    inlines = [CriterionReviewInline]


@admin.register(models.Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["calibration_set", "profile_name", "requested_by", "created_at"]
    list_filter = ["calibration_set"]
    readonly_fields = ["calibration_set", "model_profile", "profile_name", "requested_by"]


@admin.register(models.RegradeRequest)
class RegradeRequestAdmin(admin.ModelAdmin):
    list_display = ["submission", "student", "status", "created_at", "responded_at"]
    list_filter = ["status", "submission__assignment__course"]
    search_fields = ["student__username", "reason"]
    readonly_fields = ["submission", "student", "created_at"]


@admin.register(models.Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "role"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email", "course__code"]
    autocomplete_fields = ["user", "course"]


@admin.register(models.CommentBankEntry)
class CommentBankEntryAdmin(admin.ModelAdmin):
    list_display = ["text", "assignment", "uses", "created_by", "created_at"]
    list_filter = ["assignment__course"]
    search_fields = ["text", "assignment__title"]


@admin.register(models.ReviewDraft)
class ReviewDraftAdmin(admin.ModelAdmin):
    list_display = ["submission", "author", "updated_at"]
    search_fields = ["submission__student__username", "author__username"]
    readonly_fields = ["submission", "author", "fields", "updated_at"]


@admin.register(models.AssignmentChange)
class AssignmentChangeAdmin(admin.ModelAdmin):
    """The assignment audit log: read-only, like the grade audit."""

    list_display = ["at", "assignment", "actor", "field"]
    list_filter = ["assignment__course"]
    search_fields = ["assignment__title", "field", "actor__username"]
    readonly_fields = ["assignment", "actor", "at", "field", "old_value", "new_value"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Which grading worker processes are up, what each holds and grades; queue depths above."""

    list_display = [
        "hostname",
        "is_up",
        "pid",
        "models_held",
        "current_run",
        "last_seen",
        "started_at",
    ]
    readonly_fields = [field.name for field in models.WorkerHeartbeat._meta.fields]
    change_list_template = "admin/grading/workerheartbeat/change_list.html"

    @admin.display(boolean=True, description="up")
    def is_up(self, heartbeat: models.WorkerHeartbeat) -> bool:
        return worker_is_up(heartbeat)

    @admin.display(description="models loaded")
    def models_held(self, heartbeat: models.WorkerHeartbeat) -> str:
        return (
            ", ".join(
                f"{entry.get('model')} ({entry.get('backend')}, {entry.get('device')})"
                for entry in heartbeat.models_loaded
            )
            or "none yet"
        )

    def changelist_view(self, request, extra_context=None):
        try:
            depths = broker.queue_depths()
        except broker.BrokerUnavailable:
            depths = None
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "queue_depths": depths}
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class UnmatchedUploadInline(admin.TabularInline):
    model = models.UnmatchedUpload
    extra = 0
    can_delete = False
    readonly_fields = [field.name for field in models.UnmatchedUpload._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.UploadBatch)
class UploadBatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "assignment", "uploaded_by", "status", "created_at", "finished_at"]
    list_filter = ["status", "assignment__course"]
    readonly_fields = [field.name for field in models.UploadBatch._meta.fields]
    inlines = [UnmatchedUploadInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.action(description="Export all data of the selected user (JSON)")
def export_user_data(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one user to export.", messages.ERROR)
        return None
    user = queryset.get()
    response = JsonResponse(student_data_export(student=user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="aaie-data-{user.pk}.json"'
    return response


@admin.action(description="Erase the selected users and all their data, files included")
def erase_user_data(modeladmin, request, queryset):
    erased = 0
    for user in queryset:
        student_data_delete(student=user)
        erased += 1
    modeladmin.message_user(request, f"Erased {erased} user(s) and their data.")


class AAIEUserAdmin(UserAdmin):
    actions = [export_user_data, erase_user_data]


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AAIEUserAdmin)


admin.site.site_header = "AAIE administration"

from grading.lti import admin as lti_admin  # noqa: E402, F401  (registers the LTI models)


@admin.register(models.CalibrationSet)
class CalibrationSetAdmin(admin.ModelAdmin):
    """Imported through the course page, the API or manage.py import_calibration; read here."""

    list_display = ["name", "assignment", "source", "created_by", "created_at"]
    search_fields = ["name", "source", "assignment__course__code"]
    readonly_fields = ["assignment", "source", "created_by", "created_at"]


@admin.register(models.SentNotification)
class SentNotificationAdmin(admin.ModelAdmin):
    """Emails sent, so a repeated task sends none twice; read-only."""

    list_display = ["key", "sent_at"]
    search_fields = ["key"]
    readonly_fields = ["key", "sent_at"]

    def has_add_permission(self, request) -> bool:
        return False
