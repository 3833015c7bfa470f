"""A validated launch becomes an AAIE sign-in: the user, their course role, the assignment."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import transaction

from grading.errors import ApplicationError
from grading.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiIdentity,
    LtiMembership,
    LtiPlatform,
    LtiResourceLink,
)
from grading.models import Assignment, Course, Enrolment
from grading.services.courses import enrolment_set

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
ROLES_CLAIM = CLAIM + "roles"
CONTEXT_CLAIM = CLAIM + "context"
RESOURCE_LINK_CLAIM = CLAIM + "resource_link"
DEPLOYMENT_CLAIM = CLAIM + "deployment_id"
CUSTOM_CLAIM = CLAIM + "custom"
PRESENTATION_CLAIM = CLAIM + "launch_presentation"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
# Deep linking puts this custom parameter on the links it creates; launches carry it back.
ASSIGNMENT_PARAM = "aaie_assignment_id"
# Context roles that teach (LTI 1.3 core, A.2.3), with or without a sub-role after "#".
TEACHING_ROLES = frozenset({"Instructor", "Administrator", "ContentDeveloper"})
COURSE_CODE_CHARS = 32
HOST_PATTERN = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
NAME_CHARS = 150


@dataclass(frozen=True)
class LaunchOutcome:
    user: object
    role: str  # an Enrolment.Role value
    course: Course
    link: LtiResourceLink | None
    frame_origins: tuple[str, ...]


def course_role(roles: list[str]) -> str:
    """Educator for any teaching role, student for a learner; others may not use AAIE here."""
    # ".../membership#Instructor" and ".../membership/Instructor#TeachingAssistant" both give
    # "Instructor"; institution and system roles (".../person#...") give nothing.
    names = {role.rsplit("/", 1)[-1].removeprefix("membership#").split("#")[0] for role in roles}
    if names & TEACHING_ROLES:
        return Enrolment.Role.EDUCATOR
    if "Learner" in names:
        return Enrolment.Role.STUDENT
    raise ApplicationError("AAIE opens for instructors and learners of a course only.")


def identity_user(*, issuer: str, sub: str, claims: dict):
    """The AAIE user linked to (issuer, sub), made on first sight with no usable password."""
    if not sub:
        raise ApplicationError("The launch names no user (it has no sub).")
    identity = LtiIdentity.objects.select_related("user").filter(issuer=issuer, sub=sub).first()
    if identity is None:
        digest = hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()[:20]
        user = get_user_model().objects.create_user(username=f"lti-{digest}", password=None)
        identity = LtiIdentity.objects.create(issuer=issuer, sub=sub, user=user)
    user = identity.user
    names = {
        "first_name": str(claims.get("given_name") or "")[:NAME_CHARS],
        "last_name": str(claims.get("family_name") or "")[:NAME_CHARS],
        "email": str(claims.get("email") or "")[:254],
    }
    changed = [field for field, value in names.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, names[field])
    if changed:
        user.save(update_fields=changed)
    return user


def _free_course_code(label: str, context_id: str) -> str:
    base = (label or "LMS").strip()[: COURSE_CODE_CHARS - 7] or "LMS"
    if not Course.objects.filter(code__iexact=base).exists():
        return base
    return f"{base}-{hashlib.sha256(context_id.encode()).hexdigest()[:6]}"


def context_link(*, deployment: LtiDeployment, claims: dict) -> LtiContext:
    """The AAIE course linked to the launch's LMS context (made on first launch), with the
    roster and grade service URLs the platform offers for it."""
    context_claim = claims.get(CONTEXT_CLAIM) or {}
    context_id = str(context_claim.get("id") or "")
    if not context_id:
        raise ApplicationError("Open AAIE from inside a course: the launch names no course.")
    context = LtiContext.objects.filter(deployment=deployment, context_id=context_id).first()
    title = str(context_claim.get("title") or context_claim.get("label") or context_id)[:200]
    if context is None:
        course = Course.objects.create(
            code=_free_course_code(str(context_claim.get("label") or ""), context_id),
            title=title,
        )
        context = LtiContext(deployment=deployment, context_id=context_id, course=course)
    context.title = title[:255]
    nrps = claims.get(NRPS_CLAIM) or {}
    context.memberships_url = nrps.get("context_memberships_url") or context.memberships_url
    ags = claims.get(AGS_CLAIM) or {}
    context.lineitems_url = ags.get("lineitems") or context.lineitems_url
    context.ags_scopes = list(ags.get("scope") or context.ags_scopes)
    context.save()
    return context


def membership_set(*, context: LtiContext, user, role: str) -> None:
    enrolment_set(course=context.course, user=user, role=role)
    LtiMembership.objects.update_or_create(
        context=context, user=user, defaults={"role": role, "active": True}
    )


def resource_link_sync(*, context: LtiContext, claims: dict) -> LtiResourceLink | None:
    link_claim = claims.get(RESOURCE_LINK_CLAIM) or {}
    if not link_claim.get("id"):
        return None
    link, _ = LtiResourceLink.objects.get_or_create(
        context=context, resource_link_id=str(link_claim["id"])
    )
    custom = claims.get(CUSTOM_CLAIM) or {}
    assignment_id = str(custom.get(ASSIGNMENT_PARAM) or "")
    if assignment_id.isdigit():
        # Only an assignment of the linked course: a copied link must not open another course.
        assignment = Assignment.objects.filter(pk=int(assignment_id), course=context.course).first()
        link.assignment = assignment or link.assignment
    lineitem = (claims.get(AGS_CLAIM) or {}).get("lineitem")
    link.lineitem_url = lineitem or link.lineitem_url
    link.save()
    return link


def url_origin(url: str) -> str | None:
    """scheme://host[:port] of a URL, or None; it goes into a header, so nothing else passes."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not HOST_PATTERN.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def frame_origins(*, platform: LtiPlatform, claims: dict) -> tuple[str, ...]:
    """Where the LMS shows AAIE: its issuer, login and the launch's return URL origins."""
    return_url = (claims.get(PRESENTATION_CLAIM) or {}).get("return_url", "")
    deep_link = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")
    return_to = (deep_link or {}).get("deep_link_return_url", "")
    urls = (platform.issuer, platform.auth_login_url, return_url, return_to)
    return tuple(sorted({origin for origin in map(url_origin, urls) if origin}))


@transaction.atomic
def launch_accept(*, claims: dict, deep_linking: bool) -> LaunchOutcome:
    """Steps, for claims pylti1p3 has validated:
    1. the platform and deployment they came from (registered, or validation had failed);
    2. the AAIE user linked to (issuer, sub);
    3. the course linked to the LMS context, and the user's role there;
    4. for a resource link, the link and the assignment it opens.
    """
    platform = LtiPlatform.objects.get(
        issuer=claims["iss"], client_id=_client_id(claims), is_active=True
    )
    deployment = LtiDeployment.objects.get(
        platform=platform, deployment_id=claims.get(DEPLOYMENT_CLAIM)
    )
    role = course_role(list(claims.get(ROLES_CLAIM) or []))
    if deep_linking and role != Enrolment.Role.EDUCATOR:
        raise ApplicationError("Only an instructor may add AAIE assignments to a course.")
    user = identity_user(issuer=platform.issuer, sub=str(claims.get("sub") or ""), claims=claims)
    context = context_link(deployment=deployment, claims=claims)
    membership_set(context=context, user=user, role=role)
    link = None if deep_linking else resource_link_sync(context=context, claims=claims)
    return LaunchOutcome(
        user=user,
        role=role,
        course=context.course,
        link=link,
        frame_origins=frame_origins(platform=platform, claims=claims),
    )


def _client_id(claims: dict) -> str:
    aud = claims.get("aud")
    return aud[0] if isinstance(aud, list) else str(aud)
