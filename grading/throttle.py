"""Counting failures in the shared cache: password logins, and password-reset requests.

Logins: every form that signs in with a password (the login page, the admin's) goes through
django.contrib.auth.authenticate(). LoginThrottleBackend, first in AUTHENTICATION_BACKENDS,
refuses a locked account or address there, and receivers (grading/signals.py) count each
failure. Failures count by account (the username as login looks it up: NFKC, as Django's forms
normalise it, and case-folded) from any address, and by address for any username, so neither
look-alikes of a username nor guesses spread over usernames or addresses get past the limits.

Not django-axes: it applies one failure limit to every lockout parameter, so locking by address
would lock a whole class behind one NAT address after a handful of typos, and its backend refuses
authenticate() calls that carry no request.

Password-reset requests count by address and by email address, so that the form cannot be
used to flood an inbox or to send mail in bulk.

The address is REMOTE_ADDR, not X-Forwarded-For: a client can forge the header; behind a proxy,
have the proxy set REMOTE_ADDR (gunicorn --forwarded-allow-ips) instead.
"""

from __future__ import annotations

import hashlib
import unicodedata

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

MAX_USERNAME_CHARS = 150


def login_identity(username: str) -> str:
    """The account a username names, as login finds it: look-alikes give the same identity."""
    return unicodedata.normalize("NFKC", username or "")[:MAX_USERNAME_CHARS].strip().casefold()


def client_address(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(kind: str, value: str) -> str:
    # Hashed: usernames and addresses are untrusted text of any length.
    return f"throttle:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _login_keys(request: HttpRequest | None, username: str) -> dict[str, int]:
    """Each counter this login attempt counts against, with its limit."""
    return {
        _key("login-account", login_identity(username)): settings.AAIE_LOGIN_MAX_FAILURES,
        _key("login-address", client_address(request)): (
            settings.AAIE_LOGIN_MAX_FAILURES_PER_ADDRESS
        ),
    }


def count(key: str, *, window_seconds: int) -> int:
    """Add one to the counter, which starts a window of `window_seconds`; the new count."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1


def login_locked(request: HttpRequest | None, username: str) -> bool:
    """Whether a login as `username` from this request's address is refused for now."""
    counts = cache.get_many(list(_login_keys(request, username)))
    return any(counts.get(key, 0) >= limit for key, limit in _login_keys(request, username).items())


class LoginThrottleBackend:
    """Refuses a locked account or address before any backend checks the password.

    It signs no one in and so has no get_user(): sessions and force_login() use ModelBackend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and login_locked(request, username):
            raise PermissionDenied  # authenticate() then stops and signals a failure
        return None


def login_failure_count(request: HttpRequest | None, username: str) -> None:
    """Count a failed login against the account and the address."""
    for key in _login_keys(request, username):
        count(key, window_seconds=settings.AAIE_LOGIN_LOCKOUT_SECONDS)


def login_failures_clear(username: str) -> None:
    """After a login: the account's count only; a guesser who also owns an account must not
    reset the address's count by signing in to it."""
    cache.delete(_key("login-account", login_identity(username)))


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count a password-reset request; False once the address or the email is over its limit."""
    window = settings.AAIE_PASSWORD_RESET_WINDOW_SECONDS
    by_address = count(_key("reset-address", client_address(request)), window_seconds=window)
    by_email = count(_key("reset-email", login_identity(email)), window_seconds=window)
    return (
        by_address <= settings.AAIE_PASSWORD_RESET_MAX_PER_ADDRESS
        and by_email <= settings.AAIE_PASSWORD_RESET_MAX_PER_EMAIL
    )
