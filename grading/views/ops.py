"""Operations: the load balancer's health check, and batch grading's progress, cancel and retry.

The progress endpoint feeds static/grading/progress.js, which updates the assignment page's
progress section every few seconds; cancel and retry are plain forms that work without it.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from grading import broker, selectors
from grading.models import Assignment
from grading.permissions import is_educator
from grading.services.pipeline import (
    assignment_progress,
    grading_runs_cancel_for_assignment,
    grading_runs_retry_failed,
)

logger = logging.getLogger(__name__)

HEALTHY = "ok"
UNHEALTHY = "unavailable"


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise. Says which, never why."""
    checks = {"database": HEALTHY, "broker": HEALTHY}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check: the database did not answer.")
        checks["database"] = UNHEALTHY
    try:
        broker.broker_ping()
    except broker.BrokerUnavailable:
        logger.exception("Health check: the broker did not answer.")
        checks["broker"] = UNHEALTHY
    healthy = all(state == HEALTHY for state in checks.values())
    return JsonResponse(
        {"status": HEALTHY if healthy else UNHEALTHY, "checks": checks},
        status=200 if healthy else 503,
    )


def _assignment_to_manage(request: HttpRequest, assignment_id: int) -> Assignment:
    if not is_educator(request.user):
        raise PermissionDenied("This is for educators.")
    assignment = selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404("Not found, or not in one of your courses.")
    return assignment


@never_cache
@require_GET
def grading_progress(request: HttpRequest, assignment_id: int) -> JsonResponse:
    assignment = _assignment_to_manage(request, assignment_id)
    return JsonResponse(assignment_progress(assignment=assignment))


@require_POST
def grading_cancel(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_to_manage(request, assignment_id)
    cancelled = grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=request.user)
    if cancelled:
        messages.success(request, f"Cancelled AI grading of {cancelled} submission(s).")
    else:
        messages.info(request, "Nothing was being graded.")
    return redirect("assignment_detail", assignment_id=assignment.pk)


@require_POST
def grading_retry_failed(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_to_manage(request, assignment_id)
    queued = grading_runs_retry_failed(assignment=assignment, requested_by=request.user)
    if queued:
        messages.success(request, f"Queued {queued} failed submission(s) for AI grading again.")
    else:
        messages.info(request, "No failed AI grades to retry.")
    return redirect("assignment_detail", assignment_id=assignment.pk)
