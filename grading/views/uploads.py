"""Educator upload pages: upload files or a class ZIP, see what became of each file (the page fills
in while the light worker reads them), and assign the files that matched no student.

Objects are found through selectors scoped to the user: another course's upload is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import AssignUnmatchedForm, UploadForm
from grading.services.submissions import unmatched_upload_assign, unmatched_upload_discard
from grading.services.uploads import upload_accept, upload_batch_resend_if_lost
from grading.views.educator import found, require_educator


def _assignment(request: HttpRequest, assignment_id: int):
    require_educator(request)
    return found(selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id))


@require_http_methods(["GET", "POST"])
def submission_upload(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    students = selectors.students_of(course=assignment.course)
    form = UploadForm(request.POST or None, request.FILES or None, students=students)
    if request.method == "POST" and form.is_valid():
        try:
            batch = upload_accept(
                assignment=assignment,
                uploads=form.cleaned_data["files"],
                student=form.cleaned_data["student"],
                roster=form.cleaned_data["roster"],
                uploaded_by=request.user,
                idempotency_key=form.idempotency_key(form.cleaned_data["files"]),
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            # The result page itself says what happened (no one-time message): with the upload
            # script, the browser loads that page twice (once through the upload request).
            return redirect("upload_batch_detail", batch_id=batch.pk)
    return render(
        request,
        "grading/upload.html",
        {
            "assignment": assignment,
            "course": assignment.course,
            "form": form,
            "unmatched_count": selectors.unmatched_uploads_for_assignment(
                assignment=assignment
            ).count(),
        },
    )


def upload_batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    return render(
        request,
        "grading/upload_result.html",
        {
            "batch": batch,
            "assignment": batch.assignment,
            "course": batch.assignment.course,
            "progress": selectors.upload_batch_progress(batch=batch, educator=True),
        },
    )


def upload_batch_status(request: HttpRequest, batch_id: int) -> JsonResponse:
    """The result page's live part: where the upload stands, as JSON."""
    batch = _batch(request, batch_id)
    return JsonResponse(selectors.upload_batch_progress(batch=batch, educator=True))


def _batch(request: HttpRequest, batch_id: int):
    require_educator(request)
    batch = found(selectors.upload_batch_for_educator(user=request.user, batch_id=batch_id))
    upload_batch_resend_if_lost(batch=batch)  # whoever watches an upload keeps it moving
    return batch


@require_http_methods(["GET", "POST"])
def unmatched_uploads(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The files no student matched: assign each to a student, or discard it."""
    assignment = _assignment(request, assignment_id)
    students = selectors.students_of(course=assignment.course)
    waiting = selectors.unmatched_uploads_for_assignment(assignment=assignment)
    if request.method == "POST":
        unmatched_id = request.POST.get("unmatched", "")
        unmatched = found(
            waiting.filter(pk=unmatched_id).first() if unmatched_id.isdigit() else None
        )
        try:
            if request.POST.get("action") == "discard":
                unmatched_upload_discard(unmatched=unmatched)
                messages.success(request, f"{unmatched.original_name} discarded.")
            else:
                form = AssignUnmatchedForm(
                    request.POST, students=students, prefix=f"u{unmatched.pk}"
                )
                if not form.is_valid():
                    raise ApplicationError("Choose one of the course's students.")
                submission = unmatched_upload_assign(
                    unmatched=unmatched,
                    student=form.cleaned_data["student"],
                    assigned_by=request.user,
                )
                messages.success(
                    request,
                    f"{unmatched.original_name} is now attempt {submission.attempt} "
                    f"of {submission.student.get_username()}.",
                )
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(reverse("unmatched_uploads", args=[assignment.pk]))
    return render(
        request,
        "grading/unmatched.html",
        {
            "assignment": assignment,
            "course": assignment.course,
            "rows": [
                (item, AssignUnmatchedForm(students=students, prefix=f"u{item.pk}"))
                for item in waiting
            ],
        },
    )
