"""Calibration sets in the browser: import already-marked work into a course, and see its labels."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import CalibrationImportForm
from grading.models import Submission
from grading.services.calibration import (
    MAX_CSV_CHARS,
    MAX_DATASET_BYTES,
    MAX_SHOWN_PROBLEMS,
    CalibrationImport,
    calibration_dataset_parse,
    calibration_file_text,
    calibration_import_csv,
    calibration_import_dataset,
)
from grading.views.educator import found, require_educator


def read_bounded(upload: UploadedFile, limit: int, what: str) -> bytes:
    """An upload's bytes, refused over `limit` without reading more than one byte past it."""
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(f"The {what} is larger than {limit:,} bytes.")
    return content


def calibration_import_run(*, course, data: dict, user) -> CalibrationImport:
    """Hand a valid CalibrationImportForm's (or API input's) files to the right service."""
    if data.get("dataset"):
        upload = data["dataset"]
        return calibration_import_dataset(
            course=course,
            data=calibration_dataset_parse(
                content=read_bounded(upload, MAX_DATASET_BYTES, "dataset file")
            ),
            created_by=user,
            name=data.get("name") or "",
            source=(upload.name or "")[-200:],
        )
    archive = data["archive"]
    return calibration_import_csv(
        course=course,
        rubric_version=data["rubric_version"],
        task=data["task"],
        csv_text=calibration_file_text(
            content=read_bounded(data["labels"], MAX_CSV_CHARS, "labels CSV"), what="labels CSV"
        ),
        zip_name=archive.name or "class.zip",
        zip_content=read_bounded(archive, settings.AAIE_MAX_ZIP_BYTES, "class ZIP"),
        created_by=user,
        name=data.get("name") or "",
    )


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
            result = calibration_import_run(
                course=course, data=form.cleaned_data, user=request.user
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
