"""Receivers that keep accounts safe whichever path changes them (pages, admin, commands)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from grading.throttle import login_failure_count, login_failures_clear


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="revoke_tokens_on_password")
def revoke_tokens_on_new_password(sender, instance, **kwargs) -> None:
    """A new password ends the account's API tokens, as Django ends its other sessions.

    set_password() leaves the raw password in `_password` until the save that stores it, and
    only then; a hash upgraded at login clears it first, so logging in keeps the tokens.
    """
    if getattr(instance, "_password", None) is not None:
        Token.objects.filter(user=instance).delete()


@receiver(user_login_failed, dispatch_uid="count_login_failure")
def count_login_failure(sender, credentials, request=None, **kwargs) -> None:
    """Every failed password login, whichever form sent it (the login page, the admin's)."""
    if credentials.get("username") is not None:
        login_failure_count(request, credentials["username"])


@receiver(user_logged_in, dispatch_uid="clear_login_failures")
def clear_login_failures(sender, request, user, **kwargs) -> None:
    login_failures_clear(user.get_username())
