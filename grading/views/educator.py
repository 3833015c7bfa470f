"""Educator pages: courses, assignments, uploads, AI grading, review and release.

Every view finds its object through a selector scoped to the user: an object in another course
is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from grading import selectors
from grading.errors import ApplicationError
from grading.forms import (
    AssignmentEditForm,
    AssignmentForm,
    CourseForm,
    CriterionFormSet,
    ReviewForm,
    RosterForm,
)
from grading.highlight import highlighted_lines, verified_quotes
from grading.models import GradingRun
from grading.permissions import can_create_course, is_educator
from grading.services.courses import (
    EDITABLE_ASSIGNMENT_FIELDS,
    FIELDS_THE_MODEL_READS,
    assignment_create,
    assignment_update,
    course_create,
)
from grading.services.grading import (
    grading_run_request,
    grading_runs_request_for_assignment,
    snapshot_as_text,
)
from grading.services.pipeline import assignment_progress, grading_run_cancel
from grading.services.reviews import (
    BulkRelease,
    review_approve,
    review_changed_since_release,
    review_initial_feedback,
    review_initial_points,
    review_release,
    review_rubric_version,
    review_save,
    reviews_release_bulk,
    submission_opened,
)
from grading.services.rubric_tuning import assignment_regrade_newest
from grading.services.rubrics import rubric_create
from grading.services.users import roster_import
from grading.services.workspace import review_draft_discard
from grading.views.originals import preview_for

# Rows per dashboard page: a class of a thousand costs what one of 30 does. Rendering rows is
# most of the page's cost; at 30 it serves 10 educators at once on 2 cores (BENCHMARKS.md).
DASHBOARD_PAGE_SIZE = 30
MAX_ID_DIGITS = 18  # a longer number is no row id (and overflows SQLite's integers)


def require_educator(request: HttpRequest) -> None:
    if not is_educator(request.user):
        raise PermissionDenied("This page is for educators.")


def found(obj):
    if obj is None:
        raise Http404("Not found, or not in one of your courses.")
    return obj


def course_list(request: HttpRequest) -> HttpResponse:
    require_educator(request)
    courses = selectors.course_list_for_educator(user=request.user)
    return render(
        request,
        "grading/course_list.html",
        {"courses": courses, "can_create_course": can_create_course(request.user)},
    )


def course_new(request: HttpRequest) -> HttpResponse:
    if not can_create_course(request.user):
        raise PermissionDenied("Only admins create courses on this site.")
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = course_create(
                code=form.cleaned_data["code"],
                title=form.cleaned_data["title"],
                created_by=request.user,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Course {course.code} created; you teach it.")
            return redirect("course_detail", course_id=course.pk)
    return render(request, "grading/course_form.html", {"form": form})


def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    require_educator(request)
    course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
    return render(
        request,
        "grading/course_detail.html",
        {
            "course": course,
            "assignments": selectors.class_assignments(course=course).select_related(
                "rubric_version__rubric"
            ),
            "calibration_sets": selectors.calibration_sets_for_educator(user=request.user).filter(
                assignment__course=course
            ),
            "students": selectors.students_of(course=course),
        },
    )


def course_roster_import(request: HttpRequest, course_id: int) -> HttpResponse:
    """Enrol students and educators from a CSV: username, email, first_name, last_name, role."""
    require_educator(request)
    course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
    form = RosterForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = roster_import(course=course, csv_text=form.cleaned_data["roster"])
        except ApplicationError as error:
            form.add_error("roster", error.message)
        else:
            messages.success(
                request,
                f"Enrolled {len(result.enrolled)} user(s), {len(result.created)} of them new.",
            )
    return render(
        request,
        "grading/roster_import.html",
        {"course": course, "form": form, "result": result},
    )


def assignment_new(request: HttpRequest, course_id: int) -> HttpResponse:
    require_educator(request)
    course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
    rubric_versions = selectors.rubric_versions_for_educator(user=request.user)
    form = AssignmentForm(
        request.POST or None,
        rubric_versions=rubric_versions,
        initial=_from_rubric(rubric_versions, request.GET.get("from_rubric", "")),
    )
    criteria = CriterionFormSet(request.POST or None, prefix="criteria")
    if request.method == "POST" and form.is_valid() and criteria.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                rubric_version = data["rubric_version"] or rubric_create(
                    name=data["rubric_name"] or f"{data['title']} rubric",
                    criteria=[f.to_input() for f in criteria if not f.is_blank()],
                    created_by=request.user,
                )
                assignment = assignment_create(
                    course=course,
                    title=data["title"],
                    task=data["task"],
                    reference_notes=data["reference_notes"],
                    due_at=data["due_at"],
                    rubric_version=rubric_version,
                    review_required=data["review_required"],
                    students_may_upload=data["students_may_upload"],
                    students_see_trace=data["students_see_trace"],
                )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Assignment “{assignment.title}” created.")
            return redirect("assignment_detail", assignment_id=assignment.pk)
    return render(
        request,
        "grading/assignment_form.html",
        {"course": course, "form": form, "criteria": criteria},
    )


def _from_rubric(rubric_versions, version_id: str) -> dict:
    """A new assignment's fields from an imported rubric: its version, name and task."""
    version = (
        rubric_versions.filter(pk=int(version_id)).first()
        if version_id.isdigit() and len(version_id) <= MAX_ID_DIGITS
        else None
    )
    if version is None:
        return {}
    return {
        "rubric_version": version.pk,
        "title": version.rubric.name,
        "task": version.rubric.prompt,
    }


def assignment_edit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Change an assignment's set-up, audited; a changed task or notes offers a regrade."""
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    initial = {name: getattr(assignment, name) for name in EDITABLE_ASSIGNMENT_FIELDS}
    form = AssignmentEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in EDITABLE_ASSIGNMENT_FIELDS}
        try:
            changed = assignment_update(assignment=assignment, actor=request.user, changes=changes)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            _after_edit(request, assignment=assignment, changed=changed, form=form)
            return redirect("assignment_detail", assignment_id=assignment.pk)
    return render(
        request,
        "grading/assignment_edit.html",
        {
            "assignment": assignment,
            "course": assignment.course,
            "form": form,
            "changes": assignment.changes.select_related("actor")[:50],
        },
    )


def _after_edit(request: HttpRequest, *, assignment, changed: list[str], form) -> None:
    if not changed:
        messages.info(request, "Nothing changed.")
        return
    messages.success(request, f"Saved: {', '.join(name.replace('_', ' ') for name in changed)}.")
    if not FIELDS_THE_MODEL_READS & set(changed):
        return
    if form.cleaned_data["regrade"]:
        queued = assignment_regrade_newest(assignment=assignment, actor=request.user)
        messages.success(request, f"AI grading queued again for {queued} submission(s).")
    elif assignment.submissions.filter(latest_run__isnull=False).exists():
        messages.warning(
            request,
            "The AI graded earlier submissions against the old text. To grade them again, "
            "edit again with “Grade every newest attempt again” ticked.",
        )


def assignment_detail(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    filters = {
        "status": request.GET.get("status", ""),
        "sort": request.GET.get("sort", "student"),
        "descending": request.GET.get("order") == "desc",
        "flagged": request.GET.get("flagged") == "1",
    }
    # Page through ids, then load the rows of this page only.
    ids = selectors.submission_ids_for_dashboard(assignment=assignment, **filters)
    page = Paginator(ids, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.dashboard_rows(ids=list(page))
    return render(
        request,
        "grading/assignment_detail.html",
        {
            "assignment": assignment,
            "course": assignment.course,
            "page": page,
            "rows": rows,
            "filters": filters,
            "statuses": [
                *GradingRun.Status.choices,
                (selectors.NOT_GRADED, selectors.NOT_GRADED_LABEL),
            ],
            "sorts": [
                ("student", "Student"),
                ("status", "AI status"),
                ("ai_total", "AI total"),
                ("final_total", "Final total"),
                ("submitted", "Submitted"),
            ],
            "progress": assignment_progress(assignment=assignment),
            "criteria": selectors.rubric_version_criteria(rubric_version=assignment.rubric_version),
        },
    )


def bulk_release_message(outcome: BulkRelease) -> str:
    """Say what happened to every ticked row, each reason on its own."""
    parts = [f"Released {outcome.released} grade(s)."]
    if outcome.held_flagged:
        parts.append(
            f"{outcome.held_flagged} flagged AI grade(s) held back: open each one, check it and "
            f"release it from its review page."
        )
    if outcome.no_grade:
        parts.append(f"{outcome.no_grade} had no grade yet (not graded by the AI or a person).")
    if outcome.already_released:
        parts.append(f"{outcome.already_released} had been released already.")
    return " ".join(parts)


@require_POST
def release_selected(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Approve and release the grades of the rows the educator ticked."""
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    ids = [int(pk) for pk in request.POST.getlist("selected") if pk.isdigit()]
    submissions = list(
        selectors.submission_list_for_assignment(assignment=assignment).filter(pk__in=ids)
    )
    if not submissions:
        messages.error(request, "Tick the submissions to release first.")
    else:
        try:
            outcome = reviews_release_bulk(
                assignment=assignment, submissions=submissions, actor=request.user
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, bulk_release_message(outcome))
    return redirect("assignment_detail", assignment_id=assignment.pk)


@require_POST
def grade_submission(request: HttpRequest, submission_id: int) -> HttpResponse:
    require_educator(request)
    submission = found(
        selectors.submission_for_educator(user=request.user, submission_id=submission_id)
    )
    try:
        grading_run_request(submission=submission, requested_by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"AI grading queued for {submission.student}.")
    if request.POST.get("return_to") == "assignment":
        return redirect("assignment_detail", assignment_id=submission.assignment_id)
    return redirect("submission_review", submission_id=submission.pk)


@require_POST
def cancel_submission_run(request: HttpRequest, submission_id: int) -> HttpResponse:
    require_educator(request)
    submission = found(
        selectors.submission_for_educator(user=request.user, submission_id=submission_id)
    )
    if submission.latest_run is None:
        messages.error(request, "This submission has no AI run to cancel.")
    else:
        try:
            grading_run_cancel(run=submission.latest_run, cancelled_by=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "AI grading cancelled.")
    return redirect("submission_review", submission_id=submission.pk)


@require_POST
def grade_assignment(request: HttpRequest, assignment_id: int) -> HttpResponse:
    require_educator(request)
    assignment = found(
        selectors.assignment_for_educator(user=request.user, assignment_id=assignment_id)
    )
    queued = grading_runs_request_for_assignment(assignment=assignment, requested_by=request.user)
    if queued:
        messages.success(request, f"AI grading queued for {queued} submission(s).")
    else:
        messages.info(request, "Every submission is graded or being graded already.")
    return redirect("assignment_detail", assignment_id=assignment.pk)


def _shown_run(request: HttpRequest, submission):
    """The run the review page shows: the latest, or one of the submission's runs named by
    ?run= (an earlier run, or a trial such as an evaluation's)."""
    chosen = request.GET.get("run", "")
    if not chosen:
        return submission.latest_run
    if not chosen.isdigit():
        raise Http404("No such run.")
    return found(submission.runs.filter(pk=int(chosen)).first())


def submission_review(request: HttpRequest, submission_id: int) -> HttpResponse:
    require_educator(request)
    submission = found(
        selectors.submission_for_educator(user=request.user, submission_id=submission_id)
    )
    if request.method == "GET":
        submission_opened(submission=submission, actor=request.user)
    run = _shown_run(request, submission)
    if run is not None:
        # The AI's points and the results shown both read run.results: fetch them once.
        prefetch_related_objects([run], "results")
    criteria = list(
        selectors.rubric_version_criteria(
            rubric_version=review_rubric_version(submission=submission)
        )
    )
    reviewed = selectors.review_points(submission=submission)
    initial_points = review_initial_points(submission=submission)
    initial_points.update({pk: item.points for pk, item in reviewed.items()})
    review = getattr(submission, "review", None)
    draft = selectors.review_draft_for(submission=submission, author=request.user, review=review)
    form = ReviewForm(
        request.POST or None,
        criteria=criteria,
        initial_points=initial_points,
        initial_comments={pk: item.comment for pk, item in reviewed.items()},
        initial={
            "comment": review.comment if review else review_initial_feedback(submission=submission),
            **(draft.fields if draft else {}),
        },
    )
    action = request.POST.get("action", "save")
    if request.method == "POST" and action == "discard_draft":
        review_draft_discard(submission=submission, author=request.user)
        messages.success(request, "Draft discarded: the page shows the saved review.")
        return redirect("submission_review", submission_id=submission.pk)
    if request.method == "POST" and form.is_valid():
        try:
            _review_submit(request, submission=submission, form=form, action=action)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("submission_review", submission_id=submission.pk)
    results = selectors.run_results(run=run) if run else {}
    original = preview_for(submission, results)
    previous_id, next_id = selectors.neighbours_in_assignment(submission=submission)
    return render(
        request,
        "grading/review.html",
        {
            "submission": submission,
            "assignment": submission.assignment,
            "course": submission.assignment.course,
            "run": run,
            "run_model": snapshot_as_text(run.model_snapshot) if run else "",
            "rows": [
                (criterion, results.get(criterion.pk), points, comment)
                for criterion, points, comment in form.criterion_fields()
            ],
            "form": form,
            "review": review,
            "changed_since_release": review_changed_since_release(review=review),
            "lines": highlighted_lines(text=submission.text, quotes=verified_quotes(results)),
            "runs": selectors.run_history(submission=submission),
            "audit": submission.audit_events.select_related("actor")[:50],
            "succeeded": run is not None and run.status == GradingRun.Status.SUCCEEDED,
            "previous_id": previous_id,
            "next_id": next_id,
            "flags": selectors.submission_flags(submission),
            "draft": draft,
            "original": original,
            "comment_bank": submission.assignment.comment_bank.all(),
        },
    )


def _review_submit(request: HttpRequest, *, submission, form: ReviewForm, action: str) -> None:
    """Save the review form, then approve or release it as the pressed button says."""
    review = review_save(
        submission=submission,
        actor=request.user,
        points=form.points(),
        comments=form.comments(),
        comment=form.cleaned_data["comment"],
    )
    if action == "approve":
        review_approve(review=review, actor=request.user)
        messages.success(request, "Review saved and approved.")
    elif action == "release":
        review_release(review=review, actor=request.user)
        messages.success(request, "Grade released to the student.")
    else:
        messages.success(request, "Review saved.")
    review_draft_discard(submission=submission, author=request.user)
