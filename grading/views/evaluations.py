"""Try a model profile on a calibration set, read its report, compare two profiles."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import EvaluationForm
from grading.services.evaluation import evaluation_report, evaluation_request
from grading.views.educator import found, require_educator


def evaluation_new(request: HttpRequest, set_id: int) -> HttpResponse:
    """ "Try a model profile on a calibration set": choose a profile, grade the set with it."""
    require_educator(request)
    calibration_set = found(
        selectors.calibration_set_for_educator(user=request.user, set_id=set_id)
    )
    form = EvaluationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = evaluation_request(
                calibration_set=calibration_set,
                profile=form.cleaned_data["profile"],
                requested_by=request.user,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Grading the set with {evaluation.profile_name}.")
            return redirect("evaluation_report", evaluation_id=evaluation.pk)
    return render(
        request,
        "grading/evaluation_new.html",
        {
            "calibration_set": calibration_set,
            "form": form,
            "evaluations": calibration_set.evaluations.all(),
        },
    )


def _report(request: HttpRequest, evaluation_id: int):
    require_educator(request)
    evaluation = found(
        selectors.evaluation_for_educator(user=request.user, evaluation_id=evaluation_id)
    )
    return evaluation_report(evaluation=evaluation)


def evaluation_report_page(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    report = _report(request, evaluation_id)
    calibration_set = report.evaluation.calibration_set
    others = calibration_set.evaluations.exclude(pk=evaluation_id)
    return render(
        request,
        "grading/evaluation_report.html",
        {"report": report, "calibration_set": calibration_set, "others": others},
    )


def evaluation_report_json(request: HttpRequest, evaluation_id: int) -> JsonResponse:
    response = JsonResponse(_report(request, evaluation_id).as_dict())
    response["Cache-Control"] = "no-store"
    return response


def evaluation_compare(request: HttpRequest, evaluation_id: int, other_id: int) -> HttpResponse:
    """Two profiles' reports on the same calibration set, side by side."""
    first, second = _report(request, evaluation_id), _report(request, other_id)
    if first.evaluation.calibration_set_id != second.evaluation.calibration_set_id:
        raise Http404("Compare evaluations of the same calibration set.")
    return render(
        request,
        "grading/evaluation_compare.html",
        {"reports": [first, second], "calibration_set": first.evaluation.calibration_set},
    )
