"""Student pages: their own submissions, and feedback once it is released."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from grading import selectors
from grading.permissions import can_read_feedback


def my_submissions(request: HttpRequest) -> HttpResponse:
    submissions = selectors.submission_list_for_student(user=request.user)
    return render(request, "grading/my_submissions.html", {"submissions": submissions})


def my_feedback(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = selectors.submission_for_student(user=request.user, submission_id=submission_id)
    if submission is None or not can_read_feedback(request.user, submission):
        raise Http404("No released feedback here.")
    review = submission.review
    run = review.based_on_run
    ai_results = selectors.run_results(run=run) if run else {}
    rows = [
        (item, ai_results.get(item.criterion_id))
        for item in review.criteria.select_related("criterion")
    ]
    return render(
        request,
        "grading/my_feedback.html",
        {
            "submission": submission,
            "review": review,
            "rows": rows,
            "max_total": sum(item.criterion.max_points for item, _ in rows),
            "feedback": run.feedback if run else "",
            "trace": run.reasoning_trace
            if run and submission.assignment.students_see_trace
            else "",
        },
    )
