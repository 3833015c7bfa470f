"""LTI panels for the course and assignment pages, so those views need not know about LTI."""

from __future__ import annotations

from django import template

from grading.lti import selectors
from grading.lti.models import LtiMembership

register = template.Library()


@register.inclusion_tag("lti/_course_panel.html")
def lti_course_panel(course) -> dict:
    context = selectors.context_of(course=course)
    inactive = LtiMembership.objects.filter(context=context, active=False).count() if context else 0
    return {"course": course, "context": context, "inactive": inactive}


@register.inclusion_tag("lti/_passback_panel.html")
def lti_passback_panel(assignment) -> dict:
    counts = selectors.passback_counts(assignment=assignment)
    problems = []
    if counts["failed"] or counts["pending"]:
        problems = selectors.passback_problems(assignment=assignment)
    return {
        "assignment": assignment,
        "counts": counts,
        "problems": list(problems[: selectors.PASSBACK_PROBLEMS_SHOWN]),
    }
