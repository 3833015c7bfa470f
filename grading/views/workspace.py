"""The review page's helpers: draft autosave and the assignment's comment bank.

The draft and "use" endpoints answer JSON to the review page's script; adding and deleting bank
comments are plain forms that return to the page they came from.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from grading import selectors
from grading.errors import ApplicationError
from grading.models import CommentBankEntry
from grading.services.reviews import review_rubric_version
from grading.services.workspace import (
    comment_bank_add,
    comment_bank_delete,
    comment_bank_use,
    draft_field_names,
    review_draft_save,
)
from grading.views.educator import found, require_educator


@require_POST
def review_draft(request: HttpRequest, submission_id: int) -> JsonResponse:
    """Store the review form as typed so far (form-encoded, as the form itself posts)."""
    require_educator(request)
    submission = found(
        selectors.submission_for_educator(user=request.user, submission_id=submission_id)
    )
    criteria = review_rubric_version(submission=submission).criteria.values_list("pk", flat=True)
    try:
        draft = review_draft_save(
            submission=submission,
            author=request.user,
            fields=request.POST.dict(),
            allowed=draft_field_names(criterion_ids=list(criteria)),
        )
    except ApplicationError as error:
        return JsonResponse({"error": error.message}, status=400)
    response = JsonResponse({"saved_at": draft.updated_at.isoformat()})
    response["Cache-Control"] = "no-store"
    return response


def _bank_entry(request: HttpRequest, entry_id: int) -> CommentBankEntry:
    require_educator(request)
    entry = CommentBankEntry.objects.filter(pk=entry_id).select_related("assignment").first()
    if entry is None or not selectors.assignment_for_educator(
        user=request.user, assignment_id=entry.assignment_id
    ):
        raise Http404("No such comment in your courses.")
    return entry


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


@require_POST
def comment_bank_create(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    try:
        comment_bank_add(
            assignment=assignment, text=request.POST.get("text", ""), created_by=request.user
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Comment added to the bank.")
    return _back(request, reverse("assignment_detail", args=[assignment.pk]))


@require_POST
def comment_bank_count(request: HttpRequest, entry_id: int) -> JsonResponse:
    """One more insertion of a bank comment, as the review page's script reports it."""
    entry = _bank_entry(request, entry_id)
    return JsonResponse({"uses": comment_bank_use(entry=entry)})


@require_POST
def comment_bank_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = _bank_entry(request, entry_id)
    assignment_id = entry.assignment_id
    comment_bank_delete(entry=entry)
    messages.success(request, "Comment removed from the bank.")
    return _back(request, reverse("assignment_detail", args=[assignment_id]))
