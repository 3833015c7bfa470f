"""Educator pages for regrade requests: the queue, and answering one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import RegradeAnswerForm
from grading.services.regrades import regrade_request_answer
from grading.services.reviews import MAX_COMMENT_CHARS
from grading.views.educator import require_educator


def regrade_list(request: HttpRequest) -> HttpResponse:
    require_educator(request)
    requests = selectors.regrade_requests_for_educator(user=request.user)
    return render(request, "grading/regrade_list.html", {"requests": requests})


def regrade_answer(request: HttpRequest, request_id: int) -> HttpResponse:
    require_educator(request)
    regrade = selectors.regrade_request_for_educator(user=request.user, request_id=request_id)
    if regrade is None:
        raise Http404("No such regrade request in your courses.")
    items = list(regrade.submission.review.criteria.select_related("criterion"))
    form = RegradeAnswerForm(request.POST or None)
    for item in items:
        form.fields[f"points_{item.criterion_id}"] = forms.IntegerField(
            min_value=0,
            max_value=item.criterion.max_points,
            initial=item.points,
            label=f"{item.criterion.key} {item.criterion.title} (of {item.criterion.max_points})",
        )
        form.fields[f"comment_{item.criterion_id}"] = forms.CharField(
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
            max_length=MAX_COMMENT_CHARS,
            initial=item.comment,
            label=f"{item.criterion.key} comment to the student",
            help_text="Rewrite it when the points change, so it explains the new score.",
        )
    if request.method == "POST" and form.is_valid():
        points = comments = None
        if form.cleaned_data["change_grade"]:
            points = {i.criterion_id: form.cleaned_data[f"points_{i.criterion_id}"] for i in items}
            comments = {
                i.criterion_id: form.cleaned_data[f"comment_{i.criterion_id}"] for i in items
            }
        try:
            regrade_request_answer(
                regrade_request=regrade,
                actor=request.user,
                response=form.cleaned_data["response"],
                points=points,
                comments=comments,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your answer was sent to the student.")
            return redirect("regrade_list")
    return render(
        request,
        "grading/regrade_answer.html",
        {
            "regrade": regrade,
            "submission": regrade.submission,
            "form": form,
            "point_fields": [
                form[f"{kind}_{item.criterion_id}"]
                for item in items
                for kind in ("points", "comment")
            ],
        },
    )
