"""Educator reports for one assignment: the CSV gradebook and the analytics page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from grading import selectors
from grading.services.analytics import agreement_for_assignment
from grading.services.gradebook import gradebook_csv, gradebook_for_assignment
from grading.views.educator import found, require_educator


def gradebook_download(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    body = gradebook_csv(gradebook=gradebook_for_assignment(assignment=assignment))
    file_name = f"{slugify(assignment.course.code)}-{slugify(assignment.title)}-gradebook.csv"
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
