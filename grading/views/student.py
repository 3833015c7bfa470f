"""Student pages: their own submissions, self-upload where allowed, released feedback, regrades."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import RegradeRequestForm, StudentUploadForm
from grading.permissions import can_read_feedback
from grading.services.regrades import regrade_request_create
from grading.services.uploads import upload_accept, upload_batch_resend_if_lost


def my_submissions(request: HttpRequest) -> HttpResponse:
    submissions = list(selectors.submission_list_for_student(user=request.user))
    by_assignment: dict[int, list] = {}
    for submission in submissions:
        submission.student_status = selectors.student_status(submission)
        by_assignment.setdefault(submission.assignment_id, []).append(submission)
    being_read: dict[int, list] = {}
    for batch in selectors.upload_batches_being_read_for_student(user=request.user):
        being_read.setdefault(batch.assignment_id, []).append(batch)
    now = timezone.now()
    assignments = [
        {
            "assignment": assignment,
            "attempts": by_assignment.get(assignment.pk, []),
            "being_read": being_read.get(assignment.pk, []),
            "can_upload": assignment.students_may_upload
            and (assignment.due_at is None or assignment.due_at > now),
        }
        for assignment in selectors.assignment_list_for_student(user=request.user)
    ]
    return render(request, "grading/my_submissions.html", {"assignments": assignments})


def my_upload(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_for_student(user=request.user, assignment_id=assignment_id)
    if assignment is None or not assignment.students_may_upload:
        raise Http404("You cannot upload to this assignment.")
    closed = assignment.due_at is not None and assignment.due_at <= timezone.now()
    form = StudentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not closed and form.is_valid():
        files = [form.cleaned_data["file"]]
        try:
            batch = upload_accept(
                assignment=assignment,
                uploads=files,
                student=request.user,
                uploaded_by=request.user,
                idempotency_key=form.idempotency_key(files),
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            return redirect("my_upload_result", batch_id=batch.pk)
    return render(
        request,
        "grading/my_upload.html",
        {"assignment": assignment, "form": form, "closed": closed},
    )


def my_upload_result(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The student's upload while it is read, then what became of it (never its flags)."""
    batch = _own_batch(request, batch_id)
    return render(
        request,
        "grading/my_upload_result.html",
        {
            "batch": batch,
            "assignment": batch.assignment,
            "progress": selectors.upload_batch_progress(batch=batch, educator=False),
        },
    )


def my_upload_status(request: HttpRequest, batch_id: int) -> JsonResponse:
    batch = _own_batch(request, batch_id)
    return JsonResponse(selectors.upload_batch_progress(batch=batch, educator=False))


def _own_batch(request: HttpRequest, batch_id: int):
    batch = selectors.upload_batch_for_student(user=request.user, batch_id=batch_id)
    if batch is None:
        raise Http404("No such upload of yours.")
    upload_batch_resend_if_lost(batch=batch)
    return batch


def my_feedback(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = selectors.submission_for_student(user=request.user, submission_id=submission_id)
    if submission is None or not can_read_feedback(request.user, submission):
        raise Http404("No released feedback here.")
    # The grade as released, never the saved state since: that waits for the next release.
    grade, run = selectors.released_grade(review=submission.review)
    ai_results = selectors.run_results(run=run) if run else {}
    rows = [(row, ai_results.get(row["criterion_id"])) for row in grade["criteria"]]
    form = RegradeRequestForm(
        request.POST or None, criteria=selectors.criteria_of_grade(grade=grade)
    )
    if request.method == "POST" and form.is_valid():
        try:
            regrade_request_create(
                submission=submission,
                student=request.user,
                reason=form.cleaned_data["reason"],
                criteria=form.cleaned_data["criteria"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Your regrade request was sent to your educator.")
            return redirect("my_feedback", submission_id=submission.pk)
    return render(
        request,
        "grading/my_feedback.html",
        {
            "submission": submission,
            "grade": grade,
            "rows": rows,
            "trace": run.reasoning_trace
            if run and submission.assignment.students_see_trace
            else "",
            "regrade_requests": submission.regrade_requests.all(),
            "regrade_form": form,
        },
    )
