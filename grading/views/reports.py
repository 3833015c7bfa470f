"""Educator reports: the CSV gradebook, the analytics page and one run's live reasoning trace."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify

from grading import selectors
from grading.errors import ApplicationError
from grading.models import Course, ModelProfile, RubricVersion
from grading.permissions import is_admin
from grading.services.analytics import (
    agreement_for_assignment,
    agreement_for_course,
    agreement_for_profile,
    agreement_for_rubric_version,
)
from grading.services.gradebook import (
    canvas_gradebook_csv,
    gradebook_csv,
    gradebook_for_assignment,
    moodle_gradebook_csv,
)
from grading.services.grading import model_profile_for
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
            "profile": model_profile_for(assignment=assignment),
        },
    )


def _pooled(request: HttpRequest, *, title: str, scope: str, report) -> HttpResponse:
    return render(
        request, "grading/agreement.html", {"title": title, "scope": scope, "report": report}
    )


def course_agreement(request: HttpRequest, course_id: int) -> HttpResponse:
    require_educator(request)
    course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
    return _pooled(
        request,
        title=f"Agreement over {course.code}",
        scope=f"every assignment of {course.code} {course.title}",
        report=agreement_for_course(course=course),
    )


def _readable_courses(request: HttpRequest):
    """Pooled figures cover only the courses the reader teaches (all of them for an admin)."""
    return selectors.taught_by(Course.objects.all(), user=request.user, course="")


def rubric_version_agreement(request: HttpRequest, version_id: int) -> HttpResponse:
    require_educator(request)
    version = found(RubricVersion.objects.select_related("rubric").filter(pk=version_id).first())
    return _pooled(
        request,
        title=f"Agreement over {version}",
        scope=f"every assignment graded with {version}"
        + ("" if is_admin(request.user) else " in the courses you teach"),
        report=agreement_for_rubric_version(
            rubric_version=version, courses=_readable_courses(request)
        ),
    )


def profile_agreement(request: HttpRequest, profile_id: int) -> HttpResponse:
    require_educator(request)
    profile = found(ModelProfile.objects.filter(pk=profile_id).first())
    return _pooled(
        request,
        title=f"Agreement of the model profile {profile.name}",
        scope=f"every grade the profile {profile.name} gave"
        + ("" if is_admin(request.user) else " in the courses you teach"),
        report=agreement_for_profile(profile=profile, courses=_readable_courses(request)),
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
