"""Educator reports: the CSV gradebook, the analytics page and one run's live reasoning trace."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify

from grading import selectors
from grading.errors import ApplicationError
from grading.services.analytics import agreement_for_assignment
from grading.services.gradebook import (
    canvas_gradebook_csv,
    gradebook_csv,
    gradebook_for_assignment,
    moodle_gradebook_csv,
)
from grading.views.educator import found, require_educator

# ?format= values of the gradebook download → (CSV writer, file name suffix).
LMS_FORMATS = {
    "canvas": (canvas_gradebook_csv, "canvas"),
    "moodle": (moodle_gradebook_csv, "moodle"),
}


def gradebook_download(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    try:
        gradebook = gradebook_for_assignment(assignment=assignment)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("assignment_detail", assignment_id=assignment.pk)
    chosen = request.GET.get("format", "")
    if chosen in LMS_FORMATS:
        write, suffix = LMS_FORMATS[chosen]
        body = write(gradebook=gradebook, assignment=assignment)
    elif chosen:
        raise Http404("Unknown gradebook format.")
    else:
        body, suffix = gradebook_csv(gradebook=gradebook), "gradebook"
    file_name = f"{slugify(assignment.course.code)}-{slugify(assignment.title)}-{suffix}.csv"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def assignment_analytics(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    return render(
        request,
        "grading/analytics.html",
        {
            "assignment": assignment,
            "course": assignment.course,
            "distribution": selectors.score_distribution(assignment=assignment),
            "agreement": agreement_for_assignment(assignment=assignment),
        },
    )


def run_trace(request: HttpRequest, submission_id: int) -> JsonResponse:
    """The newest run's status and reasoning so far, polled by the review page while it runs."""
    require_educator(request)
    submission = found(
        selectors.submission_for_educator(user=request.user, submission_id=submission_id)
    )
    run = submission.latest_run
    if run is None:
        raise Http404("This submission has no AI run.")
    payload = {
        "status": run.status,
        "status_label": run.get_status_display(),
        "active": run.is_active,
        "trace": run.reasoning_trace,
        "thinking_tokens": run.thinking_tokens,
    }
    response = JsonResponse(payload)
    response["Cache-Control"] = "no-store"
    return response
