from django.contrib import admin

from grading import models


class EnrolmentInline(admin.TabularInline):
    model = models.Enrolment
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(models.Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "created_at"]
    search_fields = ["code", "title"]
    inlines = [EnrolmentInline]


class LevelInline(admin.TabularInline):
    model = models.Level
    extra = 0


@admin.register(models.Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "rubric_version", "max_points"]
    inlines = [LevelInline]


class CriterionInline(admin.TabularInline):
    model = models.Criterion
    extra = 0
    show_change_link = True


@admin.register(models.RubricVersion)
class RubricVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at"]
    inlines = [CriterionInline]


@admin.register(models.Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(models.ModelProfile)
class ModelProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "backend", "model", "enable_thinking", "thinking_budget"]


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
    list_filter = ["status"]
    readonly_fields = [field.name for field in models.GradingRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "submission", "action", "field"]
    readonly_fields = [field.name for field in models.AuditEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.register(models.Review)
admin.site.site_header = "AAIE administration"
