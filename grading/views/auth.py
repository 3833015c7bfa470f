"""Login and password reset with throttling; the counting is in grading/throttle.py.

Password reset mails link to the site's own address (grading.site), like every other email.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import HttpRequest, HttpResponse

from grading.site import site_url
from grading.throttle import login_locked, password_reset_allowed


class ThrottledLoginView(LoginView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if login_locked(request, request.POST.get("username", "")):
            form = self.get_form()
            form.errors.clear()
            minutes = max(1, settings.AAIE_LOGIN_LOCKOUT_SECONDS // 60)
            context = self.get_context_data(
                form=form,
                throttled=f"Too many failed attempts. Try again in {minutes} minutes.",
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


class ThrottledPasswordResetView(PasswordResetView):
    def form_valid(self, form) -> HttpResponse:
        # Whether or not an account has the address: the limit must not tell them apart.
        if not password_reset_allowed(self.request, form.cleaned_data["email"]):
            form.add_error("email", "Too many password-reset requests. Try again later.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        self.extra_email_context = {"site_url": site_url()}
        return super().form_valid(form)
