"""API tokens: an educator creates a key for scripts and LMS connections, and revokes it.

A key is shown once, on the page that creates it; afterwards only its first characters are shown,
so a key left on a screen is not given away by revisiting the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from rest_framework.authtoken.models import Token

from grading.permissions import is_educator

KEY_PREFIX_SHOWN = 6


def token_list(request: HttpRequest) -> HttpResponse:
    if not is_educator(request.user):
        raise PermissionDenied("API tokens are for educators.")
    new_key = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "create":
        # One key per user: a new key replaces (and so revokes) the old one.
        Token.objects.filter(user=request.user).delete()
        new_key = Token.objects.create(user=request.user).key
    elif action == "revoke":
        Token.objects.filter(user=request.user).delete()
        messages.success(request, "Your API token was revoked; scripts using it stop working.")
        return redirect("api_tokens")
    token = Token.objects.filter(user=request.user).first()
    return render(
        request,
        "grading/tokens.html",
        {
            "token": token,
            "new_key": new_key,
            "key_prefix": token.key[:KEY_PREFIX_SHOWN] if token else "",
        },
    )
