"""Reads for LTI pages: where a launch lands, what a course or assignment shows about its LMS."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.urls import reverse

from grading.lti.launch import LaunchOutcome
from grading.lti.models import LtiContext, LtiGradePost
from grading.models import Assignment, Course, Enrolment, Submission
from grading.permissions import can_read_feedback

# Failed and retrying passbacks listed on an assignment page.
PASSBACK_PROBLEMS_SHOWN = 20


def landing_url(outcome: LaunchOutcome) -> str:
    """Educators land on the assignment (or the course); students on its feedback once
    released, else its upload page where they may upload, else their submissions."""
    assignment = outcome.link.assignment if outcome.link else None
    if outcome.role == Enrolment.Role.EDUCATOR:
        if assignment is None:
            return reverse("course_detail", args=[outcome.course.pk])
        return reverse("assignment_detail", args=[assignment.pk])
    if assignment is None:
        return reverse("my_submissions")
    latest = (
        Submission.objects.filter(assignment=assignment, student=outcome.user)
        .select_related("review")
        .order_by("-attempt")
        .first()
    )
    if latest is not None and can_read_feedback(outcome.user, latest):
        return reverse("my_feedback", args=[latest.pk])
    if assignment.students_may_upload:
        return reverse("my_upload", args=[assignment.pk])
    return reverse("my_submissions")


def context_of(*, course: Course) -> LtiContext | None:
    return LtiContext.objects.filter(course=course).select_related("deployment__platform").first()


def passback_problems(*, assignment: Assignment) -> QuerySet[LtiGradePost]:
    """Posts that failed for good, or failed and wait for a retry."""
    posts = LtiGradePost.objects.filter(submission__assignment=assignment)
    failed = posts.filter(status=LtiGradePost.Status.FAILED)
    retrying = posts.filter(status=LtiGradePost.Status.PENDING, attempts__gt=0)
    return (failed | retrying).select_related("submission__student")


def passback_counts(*, assignment: Assignment) -> dict[str, int]:
    """Posts by status, in one query (the assignment page is the busiest page)."""
    rows = (
        LtiGradePost.objects.filter(submission__assignment=assignment)
        .values("status")
        .annotate(count=Count("id"))
    )
    counts = dict.fromkeys(LtiGradePost.Status.values, 0)
    counts.update({row["status"]: row["count"] for row in rows})
    return counts
