"""Deep linking: the educator picks (or creates) an assignment; the LMS gets a link to it with
a grade column (line item) scored out of the rubric's total."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from grading.lti.launch import ASSIGNMENT_PARAM
from grading.lti.models import LtiPlatform
from grading.lti.tool import registration_for
from grading.models import Assignment


@dataclass(frozen=True)
class DeepLinkReply:
    return_url: str
    jwt: str


def assignment_max_points(assignment: Assignment) -> int:
    total = assignment.rubric_version.criteria.aggregate(total=Sum("max_points"))["total"]
    return total or 0


def deep_link_reply(
    *,
    platform: LtiPlatform,
    deployment_id: str,
    settings: dict,
    assignment: Assignment,
    launch_url: str,
) -> DeepLinkReply:
    """The signed LtiDeepLinkingResponse that puts the assignment into the LMS course."""
    lineitem = (
        LineItem()
        .set_label(assignment.title)
        .set_score_maximum(assignment_max_points(assignment))
        .set_resource_id(f"aaie-assignment-{assignment.pk}")
    )
    resource = (
        DeepLinkResource()
        .set_title(assignment.title)
        .set_url(launch_url)
        .set_custom_params({ASSIGNMENT_PARAM: str(assignment.pk)})
        .set_lineitem(lineitem)
    )
    deep_link = DeepLink(registration_for(platform), deployment_id, settings)
    return DeepLinkReply(
        return_url=settings["deep_link_return_url"], jwt=deep_link.get_response_jwt([resource])
    )
