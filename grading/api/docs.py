"""The API's OpenAPI document and its interactive docs, for signed-in users in production."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission


class DocsVisible(BasePermission):
    """Anyone when AAIE_API_DOCS_PUBLIC (development's default); else signed-in users."""

    def has_permission(self, request, view) -> bool:
        return settings.AAIE_API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class SchemaView(SpectacularAPIView):
    permission_classes = [DocsVisible]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served as a file, as the Content-Security-Policy needs."""

    permission_classes = [DocsVisible]

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied):
            return redirect_to_login(self.request.get_full_path())  # a page: sign in first
        return super().handle_exception(exc)
