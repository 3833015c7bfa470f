"""Project-wide middleware: a request-size cap before any body is read, Permissions-Policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from grading.api.errors import error_body

API_PREFIX = "/api/"


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is over AAIE_MAX_REQUEST_BYTES, unread.

    First in the chain, before CSRF or anything else reads the body. Django reads no more than
    Content-Length, so a body without one (chunked) is not read at all. The proxy in front
    should refuse such requests even earlier (see docker/README.md).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = settings.AAIE_MAX_REQUEST_BYTES
        if declared > limit:
            message = (
                f"The request is too large: {declared:,} bytes, the limit is {limit:,}. "
                "Upload a class as one ZIP, or in several parts."
            )
            if request.path.startswith(API_PREFIX):
                return JsonResponse(error_body("too_large", message), status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Switch off browser features no page uses (camera, microphone, location, …)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
