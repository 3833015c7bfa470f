"""Login with throttling: repeated failures for one username from one address are refused.

Password reset mails link to the site's own address (grading.site), like every other email.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from grading.site import site_url


def _failure_key(request: HttpRequest) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can forge the header; behind a proxy, have the
    # proxy set REMOTE_ADDR (gunicorn --forwarded-allow-ips) instead.
    username = request.POST.get("username", "")[:150].strip().lower()
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username}"


class ThrottledLoginView(LoginView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if cache.get(_failure_key(request), 0) >= settings.AAIE_LOGIN_MAX_FAILURES:
            form = self.get_form()
            form.errors.clear()
            minutes = max(1, settings.AAIE_LOGIN_LOCKOUT_SECONDS // 60)
            context = self.get_context_data(
                form=form,
                throttled=f"Too many failed attempts. Try again in {minutes} minutes.",
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        key = _failure_key(self.request)
        cache.add(key, 0, timeout=settings.AAIE_LOGIN_LOCKOUT_SECONDS)
        cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        cache.delete(_failure_key(self.request))
        return super().form_valid(form)


class SitePasswordResetView(PasswordResetView):
    def form_valid(self, form) -> HttpResponse:
        self.extra_email_context = {"site_url": site_url()}
        return super().form_valid(form)
