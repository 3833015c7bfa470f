"""Roster sync (LTI NRPS): the LMS's membership of a course becomes AAIE's enrolments.

New members are enrolled; students no longer active in the LMS are marked inactive and lose
the course, while their submissions, grades and audit stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.db import transaction
from django.utils import timezone
from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService

from grading.errors import ApplicationError
from grading.lti.launch import course_role, identity_user, membership_set
from grading.lti.models import LtiContext, LtiMembership
from grading.lti.tool import service_connector
from grading.models import Enrolment

# A course of 50 pages (platforms send 10 to 1,000 members a page) is as far as AAIE reads.
MAX_MEMBER_PAGES = 50
ROSTER_TASK = "grading.lti.tasks.lti_roster_sync"


@dataclass(frozen=True)
class RosterSyncResult:
    enrolled: int  # newly enrolled or active again
    deactivated: int
    members: int  # active members the LMS listed


def _members(context: LtiContext) -> list[dict]:
    service = NamesRolesProvisioningService(
        service_connector(context.deployment.platform),
        {"context_memberships_url": context.memberships_url},
    )
    members: list[dict] = []
    url: str | None = context.memberships_url
    for _ in range(MAX_MEMBER_PAGES):
        page, url = service.get_members_page(url)
        members.extend(member for member in page if isinstance(member, dict))
        if not url:
            return members
    raise ApplicationError(f"The LMS roster has more than {MAX_MEMBER_PAGES} pages.")


@transaction.atomic
def _apply(context: LtiContext, members: list[dict]) -> RosterSyncResult:
    issuer = context.deployment.platform.issuer
    before = set(
        LtiMembership.objects.filter(context=context, active=True).values_list("user_id", flat=True)
    )
    seen: set[int] = set()
    for member in members:
        if member.get("status", "Active") != "Active" or not member.get("user_id"):
            continue
        try:
            role = course_role(list(member.get("roles") or []))
        except ApplicationError:
            continue  # observers, mentors: not AAIE users of this course
        user = identity_user(issuer=issuer, sub=str(member["user_id"]), claims=member)
        membership_set(context=context, user=user, role=role)
        seen.add(user.pk)
    dropped = LtiMembership.objects.filter(
        context=context, active=True, role=Enrolment.Role.STUDENT
    ).exclude(user_id__in=seen)
    dropped_users = list(dropped.values_list("user_id", flat=True))
    dropped.update(active=False)
    Enrolment.objects.filter(
        course=context.course, user_id__in=dropped_users, role=Enrolment.Role.STUDENT
    ).delete()
    context.roster_synced_at = timezone.now()
    context.roster_sync_error = ""
    context.save(update_fields=["roster_synced_at", "roster_sync_error"])
    return RosterSyncResult(
        enrolled=len(seen - before), deactivated=len(dropped_users), members=len(seen)
    )


def roster_sync(*, context_id: int) -> RosterSyncResult:
    """Fetch the LMS membership of a linked course and apply it; a failure is kept on the
    context (shown on the course page) and raised as an ApplicationError."""
    context = LtiContext.objects.select_related("deployment__platform", "course").get(pk=context_id)
    if not context.memberships_url:
        raise ApplicationError("The LMS offers no roster service (NRPS) for this course.")
    try:
        members = _members(context)
    except (LtiException, requests.RequestException, ApplicationError) as error:
        message = f"Roster sync failed: {str(error)[:300]}"
        LtiContext.objects.filter(pk=context.pk).update(roster_sync_error=message)
        raise ApplicationError(message) from error
    return _apply(context, members)


def roster_sync_enqueue(*, context: LtiContext) -> None:
    from aaie.celery import app  # by name: the task module imports this one

    transaction.on_commit(lambda: app.send_task(ROSTER_TASK, args=[context.pk]), robust=True)
