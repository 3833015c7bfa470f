"""LTI registrations in the admin (imported by grading/admin.py)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import URLField

from grading.lti import models


class LtiDeploymentInline(admin.TabularInline):
    model = models.LtiDeployment
    extra = 1


@admin.register(models.LtiPlatform)
class LtiPlatformAdmin(admin.ModelAdmin):
    list_display = ["name", "issuer", "client_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "issuer", "client_id"]
    inlines = [LtiDeploymentInline]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}


@admin.register(models.LtiKey)
class LtiKeyAdmin(admin.ModelAdmin):
    """Keys are made and retired with manage.py lti_keys; the private half is never shown."""

    list_display = ["kid", "created_at", "retired_at"]
    fields = ["kid", "public_key_pem", "created_at", "retired_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.LtiContext)
class LtiContextAdmin(admin.ModelAdmin):
    list_display = ["title", "context_id", "course", "deployment", "roster_synced_at"]
    search_fields = ["title", "context_id", "course__code"]
    raw_id_fields = ["course"]


@admin.register(models.LtiIdentity)
class LtiIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "issuer", "sub", "created_at"]
    search_fields = ["user__username", "sub", "issuer"]
    raw_id_fields = ["user"]


@admin.register(models.LtiGradePost)
class LtiGradePostAdmin(admin.ModelAdmin):
    """The passback audit: read-only."""

    list_display = ["submission", "score_given", "score_maximum", "status", "attempts", "sent_at"]
    list_filter = ["status"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.LtiDeployment)
class LtiDeploymentAdmin(admin.ModelAdmin):
    list_display = ["deployment_id", "platform"]
    search_fields = ["deployment_id", "platform__name"]


@admin.register(models.LtiResourceLink)
class LtiResourceLinkAdmin(admin.ModelAdmin):
    list_display = ["resource_link_id", "context", "assignment", "lineitem_url"]
    search_fields = ["resource_link_id", "context__title"]
    raw_id_fields = ["assignment"]


@admin.register(models.LtiMembership)
class LtiMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "context", "role", "active", "updated_at"]
    list_filter = ["active", "role"]
    search_fields = ["user__username", "context__title"]
    raw_id_fields = ["user"]
