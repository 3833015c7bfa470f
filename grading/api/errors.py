"""One error shape for every API response: {"error": {"code", "message", "fields"}}.

Services raise ApplicationError; DRF raises its own exceptions; Django's Http404 and
PermissionDenied come from shared helpers. All of them are turned into that shape here, and the
OpenAPI document gets the same shape for every error status by `add_error_responses`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core import exceptions as django_exceptions
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from grading.errors import ApplicationError, StorageFull

INVALID_MESSAGE = "The request has errors; see fields."
TOO_LARGE_MESSAGE = "The request is too large: too many files or fields, or too much data."
TOO_LARGE = (
    django_exceptions.RequestDataTooBig,
    django_exceptions.TooManyFieldsSent,
    django_exceptions.TooManyFilesSent,
)
NON_FIELD_KEYS = ("non_field_errors",)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def flatten_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"criteria.0.points": ["…"]}: one level, easy to show."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            # A nested list's own error ("at least 2 elements") belongs to the list's path.
            name = (
                prefix
                if key in NON_FIELD_KEYS and prefix
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            flat.update(flatten_field_errors(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or NON_FIELD_KEYS[0]: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(
                    flatten_field_errors(item, f"{prefix}.{index}" if prefix else str(index))
                )
        return flat
    return {prefix or NON_FIELD_KEYS[0]: [str(detail)]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, StorageFull):  # 507: the server's disk, not the request, is at fault
        return Response(error_body("insufficient_storage", exc.message), status=507)
    if isinstance(exc, ApplicationError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        return Response(error_body("rejected", exc.message, fields), status=400)
    if isinstance(exc, TOO_LARGE):  # Django's upload limits, met while parsing the body
        return Response(error_body("too_large", TOO_LARGE_MESSAGE), status=400)
    if isinstance(exc, django_exceptions.SuspiciousOperation):
        return Response(error_body("bad_request", "The request is malformed."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found, or not yours to see.")
    elif isinstance(exc, django_exceptions.PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, django_exceptions.ValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = drf_exception_handler(exc, context)  # keeps WWW-Authenticate and Retry-After
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_field_errors(exc.detail)
        general = [m for key in NON_FIELD_KEYS for m in fields.pop(key, [])]
        message = " ".join(general) if general else INVALID_MESSAGE
        response.data = error_body("invalid", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", str(detail))
    return response


SERVER_ERROR_MESSAGE = "Something went wrong on our side. It has been logged; try again later."


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: the API's error body under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)


@csrf_exempt  # it changes nothing; a POST to a wrong URL should also get a JSON 404
@login_not_required
def not_found(request: HttpRequest) -> JsonResponse:
    """A URL under the API that names no endpoint (e.g. a path id that is not a number)."""
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


ERROR_STATUSES = {
    "400": "The request is invalid, or the action is not possible now (see message).",
    "401": "No valid session or token.",
    "403": "Signed in, but this is not for your role.",
    "404": "No such object, or not in one of your courses.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}
ERROR_EXAMPLES = {
    "400": error_body("invalid", INVALID_MESSAGE, {"title": ["This field is required."]}),
    "401": error_body("not_authenticated", "Authentication credentials were not provided."),
    "403": error_body("permission_denied", "This is for educators."),
    "404": error_body("not_found", "Not found, or not yours to see."),
    "429": error_body("throttled", "Request was throttled. Expected available in 12 seconds."),
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. not_found."},
                "message": {"type": "string", "description": "Fit to show a person."},
                "fields": {
                    "type": "object",
                    "description": "Messages per input field; dotted paths for nested input.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: the Error body for every error status."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"},
                                "example": ERROR_EXAMPLES[status],
                            }
                        },
                    },
                )
    return result
