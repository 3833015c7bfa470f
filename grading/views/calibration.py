"""Calibration sets in the browser: import already-marked work into a course, and see its labels."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import CalibrationImportForm
from grading.models import Submission
from grading.services.calibration import MAX_SHOWN_PROBLEMS, calibration_import_upload
from grading.views.educator import found, require_educator


def calibration_import_page(request: HttpRequest, course_id: int) -> HttpResponse:
    require_educator(request)
    course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
    posted = request.method == "POST"
    form = CalibrationImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        rubric_versions=selectors.rubric_versions_for_educator(user=request.user),
    )
    result = None
    if posted and form.is_valid():
        try:
            result = calibration_import_upload(
                course=course, created_by=request.user, **form.upload()
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "grading/calibration_import.html",
        {
            "course": course,
            "form": form,
            "result": result,
            "problems": result.problems[:MAX_SHOWN_PROBLEMS] if result else [],
        },
    )


def calibration_set_detail(request: HttpRequest, set_id: int) -> HttpResponse:
    require_educator(request)
    calibration_set = found(
        selectors.calibration_set_for_educator(user=request.user, set_id=set_id)
    )
    assignment = calibration_set.assignment
    submissions = list(selectors.calibration_labels(calibration_set=calibration_set))
    for submission in submissions:
        submission.flag_names = Submission.labels_of(submission.flags)
    return render(
        request,
        "grading/calibration_set.html",
        {
            "calibration_set": calibration_set,
            "assignment": assignment,
            "course": assignment.course,
            "criteria": list(assignment.rubric_version.criteria.order_by("order")),
            "submissions": submissions,
        },
    )
