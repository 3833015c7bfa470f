"""Rubrics in the browser: the library (list, edit as a new version, import, export) and, per
assignment, switching versions, comparing results and the tuning loop.

Every educator may see, reuse and export the library; only a rubric's author or an admin adds
versions to it. Editing always makes a new version, locked or not: versions never change, so a
grade always shows the rubric it was given against.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import RubricCriterionFormSet, RubricImportForm, RubricSwitchForm
from grading.models import Rubric, RubricVersion
from grading.permissions import can_edit_rubric
from grading.services import rubric_tuning
from grading.services.rubric_library import (
    DATASET_BANDS,
    RubricPlan,
    rubric_csv_plan,
    rubric_export,
    rubric_export_csv,
    rubric_export_dataset,
    rubric_import_plan,
    rubric_in_library,
    rubric_plan_save,
    unique_rubric_name,
)
from grading.services.rubrics import MAX_CRITERIA, rubric_version_create
from grading.views.educator import found, require_educator

MAX_RUBRIC_FILE_BYTES = 512 * 1024
EXPORT_FORMATS = ("json", "dataset", "csv")
LAST_ORDER = 10_000  # criteria without an order number go last, in page order


def _rubrics():
    return Rubric.objects.select_related("created_by").prefetch_related(
        Prefetch(
            "versions",
            queryset=RubricVersion.objects.order_by("-number").prefetch_related("grading_runs"),
        )
    )


def rubric_list(request: HttpRequest) -> HttpResponse:
    require_educator(request)
    rubrics = [
        (rubric, can_edit_rubric(request.user, rubric), list(rubric.versions.all()))
        for rubric in _rubrics()
    ]
    return render(request, "grading/rubric_list.html", {"rubrics": rubrics})


def _level_line(level) -> str:
    """A level as the editor's 'label | points | descriptor' line; one line, so no newlines."""
    descriptor = " ".join(level.descriptor.split())
    return f"{level.label} | {level.points}" + (f" | {descriptor}" if descriptor else "")


def _initial(version: RubricVersion) -> list[dict]:
    return [
        {
            "order": criterion.order,
            "title": criterion.title,
            "description": criterion.description,
            "max_points": criterion.max_points,
            "levels": "\n".join(_level_line(level) for level in criterion.levels.all()),
        }
        for criterion in version.criteria.prefetch_related("levels").order_by("order")
    ]


def rubric_edit(request: HttpRequest, rubric_id: int) -> HttpResponse:
    """Edit the newest version's content; saving makes the next version."""
    require_educator(request)
    rubric = found(Rubric.objects.filter(pk=rubric_id).first())
    if not can_edit_rubric(request.user, rubric):
        raise PermissionDenied("Only the rubric's author or an admin edits it.")
    latest = rubric.versions.order_by("-number").first()
    criteria = RubricCriterionFormSet(
        request.POST or None, prefix="criteria", initial=_initial(latest) if latest else None
    )
    error = ""
    if request.method == "POST" and criteria.is_valid():
        filled = [
            (form.cleaned_data.get("order") or LAST_ORDER, index, form)
            for index, form in enumerate(criteria)
            if not form.is_blank()
        ]
        try:
            version = rubric_version_create(
                rubric=rubric,
                criteria=[form.to_input() for _, _, form in sorted(filled, key=lambda f: f[:2])],
                created_by=request.user,
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            messages.success(request, f"Saved as {version}.")
            return redirect("rubric_list")
    return render(
        request,
        "grading/rubric_edit.html",
        {"rubric": rubric, "latest": latest, "criteria": criteria, "error": error},
    )


def _import_text(form: RubricImportForm) -> tuple[str, str]:
    """The rubric file's text and name: the upload, or the previewed text sent back."""
    upload = form.cleaned_data["file"]
    if upload is None:
        text = form.cleaned_data["content"]
        if len(text) > MAX_RUBRIC_FILE_BYTES:
            raise ApplicationError(f"A rubric file is at most {MAX_RUBRIC_FILE_BYTES} bytes.")
        return text, form.cleaned_data["file_name"]
    if upload.size > MAX_RUBRIC_FILE_BYTES:
        raise ApplicationError(f"A rubric file is at most {MAX_RUBRIC_FILE_BYTES} bytes.")
    try:
        return upload.read().decode("utf-8-sig"), upload.name
    except UnicodeDecodeError:
        raise ApplicationError("The file is not UTF-8 text.") from None


def _import_plan(form: RubricImportForm, text: str, file_name: str) -> RubricPlan:
    data = form.cleaned_data
    if file_name.lower().endswith(".csv"):
        stem = file_name.rsplit("/", 1)[-1][: -len(".csv")]
        return rubric_csv_plan(
            csv_text=text, name=data["name"] or stem, criterion_points=form.criterion_points()
        )
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ApplicationError("The file is neither CSV nor valid JSON.") from None
    return rubric_import_plan(
        data=parsed,
        name=data["name"],
        band_points={band: data[band] for band in DATASET_BANDS},
        criterion_points=form.criterion_points(),
    )


def rubric_import_page(request: HttpRequest) -> HttpResponse:
    """Upload, preview with warnings and weights, then save (or reuse) the rubric."""
    require_educator(request)
    posted = request.method == "POST"
    form = RubricImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        max_criteria=MAX_CRITERIA,
    )
    plan, text, file_name = None, "", ""
    if posted and form.is_valid():
        try:
            text, file_name = _import_text(form)
            plan = _import_plan(form, text, file_name)
            if form.cleaned_data["action"] == RubricImportForm.SAVE:
                version, reused = rubric_plan_save(plan=plan, created_by=request.user)
                url = reverse("rubric_imported", args=[version.pk])
                return redirect(url + ("?reused=1" if reused else ""))
        except ApplicationError as failure:
            form.add_error(None, failure.message)
            plan = None
    context = {"form": form, "plan": plan, "content": text, "file_name": file_name}
    if plan is not None:
        context["existing"] = rubric_in_library(plan=plan)
        context["saved_name"] = unique_rubric_name(plan.name)
        context["weights"] = [
            (form[f"points_{number}"], criterion)
            for number, criterion in enumerate(plan.criteria, start=1)
        ]
    return render(request, "grading/rubric_import.html", context)


def rubric_imported(request: HttpRequest, version_id: int) -> HttpResponse:
    """After an import: the rubric saved (or reused), and its task offered for an assignment."""
    require_educator(request)
    version = found(
        selectors.rubric_versions_for_educator(user=request.user).filter(pk=version_id).first()
    )
    return render(
        request,
        "grading/rubric_imported.html",
        {
            "version": version,
            "reused": request.GET.get("reused") == "1",
            "courses": selectors.course_list_for_educator(user=request.user),
        },
    )


def rubric_export_file(request: HttpRequest, version_id: int, fmt: str) -> HttpResponse:
    """Download a version as AAIE JSON, AAIE dataset JSON or CSV."""
    require_educator(request)
    if fmt not in EXPORT_FORMATS:
        raise Http404("Unknown export format.")
    version = found(
        selectors.rubric_versions_for_educator(user=request.user).filter(pk=version_id).first()
    )
    stem = f"{slugify(version.rubric.name) or 'rubric'}-v{version.number}"
    if fmt == "csv":
        response = HttpResponse(
            rubric_export_csv(rubric_version=version), content_type="text/csv; charset=utf-8"
        )
        suffix = ".csv"
    else:
        data = (
            rubric_export(rubric_version=version)
            if fmt == "json"
            else rubric_export_dataset(rubric_version=version)
        )
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        suffix = "-dataset.json" if fmt == "dataset" else ".json"
    response["Content-Disposition"] = f'attachment; filename="{stem}{suffix}"'
    return response


def _assignment(request: HttpRequest, assignment_id: int):
    require_educator(request)
    return found(selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id))


def _versions_of(assignment):
    return RubricVersion.objects.filter(rubric_id=assignment.rubric_version.rubric_id).order_by(
        "-number"
    )


def _version(assignment, version_id: int) -> RubricVersion:
    return found(_versions_of(assignment).filter(pk=version_id).first())


def assignment_rubric(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The assignment's rubric versions: switch, try on reviewed work, compare."""
    assignment = _assignment(request, assignment_id)
    return render(
        request,
        "grading/rubric_assignment.html",
        {
            "assignment": assignment,
            "versions": _versions_of(assignment),
            "reviewed": len(rubric_tuning.reviewed_submissions(assignment=assignment)),
        },
    )


def _chosen_version(request: HttpRequest, assignment) -> RubricSwitchForm | None:
    """The posted choice of a version of the assignment's rubric, or None with a message."""
    form = RubricSwitchForm(request.POST, versions=_versions_of(assignment))
    if form.is_valid():
        return form
    messages.error(request, "Choose a version of this assignment's rubric.")
    return None


@require_POST
def assignment_rubric_switch(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    form = _chosen_version(request, assignment)
    if form is None:
        return redirect("assignment_rubric", assignment_id=assignment.pk)
    version = form.cleaned_data["version"]
    try:
        queued = rubric_tuning.assignment_rubric_switch(
            assignment=assignment,
            rubric_version=version,
            actor=request.user,
            regrade=form.cleaned_data["regrade"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("assignment_rubric", assignment_id=assignment.pk)
    messages.success(request, f"The assignment now uses {version}; {queued} queued for grading.")
    return redirect("assignment_detail", assignment_id=assignment.pk)


@require_POST
def rubric_trial(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Grade the reviewed submissions with a candidate version, leaving the assignment as is."""
    assignment = _assignment(request, assignment_id)
    form = _chosen_version(request, assignment)
    if form is None:
        return redirect("assignment_rubric", assignment_id=assignment.pk)
    version = form.cleaned_data["version"]
    try:
        queued = rubric_tuning.trial_runs_request(
            assignment=assignment, rubric_version=version, actor=request.user
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("assignment_rubric", assignment_id=assignment.pk)
    messages.success(request, f"{queued} reviewed submission(s) queued with {version}.")
    return redirect("rubric_tuning", assignment_id=assignment.pk, version_id=version.pk)


def rubric_compare_page(request: HttpRequest, assignment_id: int, version_id: int) -> HttpResponse:
    """AI results under another version beside the current one, the lower number first."""
    assignment = _assignment(request, assignment_id)
    other = _version(assignment, version_id)
    old, new = sorted((other, assignment.rubric_version), key=lambda v: v.number)
    return render(
        request,
        "grading/rubric_compare.html",
        {
            "assignment": assignment,
            "old": old,
            "new": new,
            **rubric_tuning.rubric_compare(assignment=assignment, old_version=old, new_version=new),
        },
    )


def rubric_tuning_page(request: HttpRequest, assignment_id: int, version_id: int) -> HttpResponse:
    """Agreement with the educators' grades: the current version beside a candidate."""
    assignment = _assignment(request, assignment_id)
    candidate = _version(assignment, version_id)
    return render(
        request,
        "grading/rubric_tuning.html",
        {
            "assignment": assignment,
            "candidate": candidate,
            **rubric_tuning.tuning_agreement(assignment=assignment, candidate=candidate),
        },
    )
