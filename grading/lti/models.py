"""What AAIE remembers about LMS platforms: registrations, keys, and links to its own objects.

Registered in the grading app (imported at the end of grading/models.py), migration 0009_lti.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = [
    "LtiContext",
    "LtiDeployment",
    "LtiGradePost",
    "LtiIdentity",
    "LtiKey",
    "LtiMembership",
    "LtiPlatform",
    "LtiResourceLink",
]


class LtiKey(models.Model):
    """One of AAIE's own RSA key pairs. The newest unretired key signs; all unretired keys are
    published in the JWKS, so a rotation publishes the new key beside the old one."""

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = models.TextField()
    public_key_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "grading"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kid} ({'retired' if self.retired_at else 'published'})"


class LtiPlatform(models.Model):
    """An LMS registration: the values the platform's administrator gives AAIE."""

    name = models.CharField(max_length=100)
    issuer = models.CharField(max_length=255, help_text="The platform's iss, e.g. a Canvas URL.")
    client_id = models.CharField(max_length=255)
    auth_login_url = models.URLField(max_length=500, help_text="OIDC authorization endpoint.")
    auth_token_url = models.URLField(max_length=500, help_text="OAuth2 access token endpoint.")
    auth_audience = models.CharField(
        max_length=500, blank=True, help_text="Token audience when it is not the token URL."
    )
    key_set_url = models.URLField(max_length=500, help_text="The platform's public JWKS URL.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "grading"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_one_client_per_iss")
        ]

    def __str__(self) -> str:
        return self.name


class LtiDeployment(models.Model):
    """A deployment id the platform may launch with; launches naming any other are refused."""

    platform = models.ForeignKey(LtiPlatform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)

    class Meta:
        app_label = "grading"
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id"], name="lti_unique_deployment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} / {self.deployment_id}"


class LtiIdentity(models.Model):
    """An LMS user as AAIE knows them: linked by (issuer, sub), signed in without a password."""

    issuer = models.CharField(max_length=255)
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "grading"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sub"], name="lti_one_user_per_sub")
        ]

    def __str__(self) -> str:
        return f"{self.sub} at {self.issuer}"


class LtiContext(models.Model):
    """An LMS course (context) and the AAIE course it is linked to, with its service URLs."""

    deployment = models.ForeignKey(LtiDeployment, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    course = models.OneToOneField(
        "grading.Course", on_delete=models.CASCADE, related_name="lti_context"
    )
    memberships_url = models.URLField(max_length=500, blank=True)  # NRPS
    lineitems_url = models.URLField(max_length=500, blank=True)  # AGS
    ags_scopes = models.JSONField(default=list, blank=True)
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    roster_sync_error = models.TextField(blank=True)

    class Meta:
        app_label = "grading"
        constraints = [
            models.UniqueConstraint(fields=["deployment", "context_id"], name="lti_unique_context")
        ]

    def __str__(self) -> str:
        return self.title or self.context_id


class LtiResourceLink(models.Model):
    """A placement of AAIE in an LMS course, the assignment it opens and its grade column."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="links")
    resource_link_id = models.CharField(max_length=255)
    assignment = models.ForeignKey(
        "grading.Assignment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lti_links",
    )
    lineitem_url = models.URLField(max_length=500, blank=True)

    class Meta:
        app_label = "grading"
        constraints = [
            models.UniqueConstraint(
                fields=["context", "resource_link_id"], name="lti_unique_resource_link"
            )
        ]

    def __str__(self) -> str:
        return f"{self.context} / {self.resource_link_id}"


class LtiMembership(models.Model):
    """A person's place in an LMS course as the last launch or roster sync saw it. A student
    dropped in the LMS stays here, inactive, and loses the course; their work is kept."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_memberships"
    )
    role = models.CharField(max_length=16)  # an Enrolment.Role value
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "grading"
        constraints = [
            models.UniqueConstraint(fields=["context", "user"], name="lti_one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.context} ({'active' if self.active else 'inactive'})"


class LtiGradePost(models.Model):
    """One grade sent (or being sent) to an LMS line item; the audit of every passback."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    submission = models.ForeignKey(
        "grading.Submission", on_delete=models.CASCADE, related_name="lti_grade_posts"
    )
    link = models.ForeignKey(LtiResourceLink, on_delete=models.CASCADE, related_name="grade_posts")
    lineitem_url = models.URLField(max_length=500)
    lms_user_id = models.CharField(max_length=255)
    score_given = models.FloatField()
    score_maximum = models.FloatField()
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Every failed attempt's error, oldest first.
    error_history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "grading"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="lti_grade_post_status")]

    def __str__(self) -> str:
        return f"{self.score_given}/{self.score_maximum} to {self.lineitem_url} ({self.status})"
