"""Student pages: their own submissions, self-upload where allowed, released feedback, regrades."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import RegradeRequestForm, StudentUploadForm
from grading.permissions import can_read_feedback
from grading.services.regrades import regrade_request_create
from grading.services.reviews import review_snapshot
from grading.services.submissions import submission_create


def my_submissions(request: HttpRequest) -> HttpResponse:
    submissions = list(selectors.submission_list_for_student(user=request.user))
    by_assignment: dict[int, list] = {}
    for submission in submissions:
        submission.student_status = selectors.student_status(submission)
        by_assignment.setdefault(submission.assignment_id, []).append(submission)
    now = timezone.now()
    assignments = [
        {
            "assignment": assignment,
            "attempts": by_assignment.get(assignment.pk, []),
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
        try:
            submission_create(
                assignment=assignment,
                student=request.user,
                upload=form.cleaned_data["file"],
                uploaded_by=request.user,
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, f"Your file for “{assignment.title}” was submitted.")
            return redirect("my_submissions")
    return render(
        request,
        "grading/my_upload.html",
        {"assignment": assignment, "form": form, "closed": closed},
    )


def my_feedback(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = selectors.submission_for_student(user=request.user, submission_id=submission_id)
    if submission is None or not can_read_feedback(request.user, submission):
        raise Http404("No released feedback here.")
    review = submission.review
    run = review.based_on_run
    # Exactly what was released; a review released before snapshots existed is read as it is.
    released = review.released_snapshot or review_snapshot(review=review)
    items = list(review.criteria.select_related("criterion"))
    form = RegradeRequestForm(request.POST or None, criteria=[item.criterion for item in items])
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
            "review": review,
            "released": released,
            "trace": run.reasoning_trace
            if run and submission.assignment.students_see_trace
            else "",
            "regrade_requests": submission.regrade_requests.all(),
            "regrade_form": form,
        },
    )
