"""LTI endpoints: JWKS and configuration, OIDC login, launch, deep linking, and the educator's
buttons (roster sync, passback retry). The launch checks live in pylti1p3 (grading/lti/tool.py).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from pylti1p3.exception import LtiException, OIDCException

from grading import selectors as grading_selectors
from grading.errors import ApplicationError
from grading.lti import keys, selectors
from grading.lti.config import canvas_configuration, tool_urls
from grading.lti.deep_linking import deep_link_reply
from grading.lti.forms import DeepLinkForm
from grading.lti.launch import DEPLOYMENT_CLAIM, launch_accept, url_origin
from grading.lti.middleware import FRAME_ORIGINS_KEY
from grading.lti.models import LtiPlatform
from grading.lti.passback import grade_posts_retry
from grading.lti.roster import roster_sync_enqueue
from grading.lti.tool import message_launch, oidc_login
from grading.models import Assignment, Course
from grading.permissions import can_teach, is_admin, is_educator
from grading.services.courses import assignment_create

DEEP_LINK_KEY = "lti_deep_link"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


# pylti1p3's messages may quote a platform's answer: shown, but bounded.
MAX_REASON_CHARS = 300


def _refused(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    reason = reason[:MAX_REASON_CHARS]
    return render(request, "lti/refused.html", {"reason": reason}, status=status)


@login_not_required
@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.jwks())


@login_not_required
@require_GET
def canvas_json(request: HttpRequest) -> JsonResponse:
    """Canvas can read its developer key from this URL ("Enter URL")."""
    return JsonResponse(canvas_configuration(request))


@require_GET
def configuration(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied("The LMS configuration is for administrators.")
    return render(
        request,
        "lti/configuration.html",
        {
            "urls": tool_urls(request),
            "platforms": LtiPlatform.objects.prefetch_related("deployments"),
        },
    )


@login_not_required
@csrf_exempt  # the LMS posts here; state and nonce protect the flow
@xframe_options_exempt
def oidc_login_view(request: HttpRequest) -> HttpResponse:
    """Where a browser refuses cookies in the LMS's frame (Safari), pylti1p3's check page
    offers AAIE in a new tab; elsewhere it continues to the platform at once."""
    login_request = oidc_login(request).enable_check_cookies(
        main_msg="Your browser keeps AAIE from using cookies inside the LMS page.",
        click_msg="Open AAIE in a new tab.",
        loading_msg="Opening AAIE…",
    )
    try:
        login_request.validate_oidc_login()  # a known platform, before any page is shown
        response = login_request.redirect(request.build_absolute_uri(reverse("lti_launch")))
    except (OIDCException, LtiException) as error:
        return _refused(request, f"The LMS login request was refused: {error}", status=400)
    # pylti1p3's cookie check is a page of its own with inline script and style (the LMS's
    # login parameters escaped into it, no AAIE data), shown in the LMS's frame before AAIE
    # knows which LMS that is: this one response relaxes exactly that.
    response._csp_replace = {
        "script-src": ["'self'", "'unsafe-inline'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "frame-ancestors": ["*"],
    }
    return response


@login_not_required
@csrf_exempt  # signed id_token, state cookie and single-use nonce instead
@xframe_options_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    """Steps: 1. pylti1p3 validates the launch; 2. AAIE links user, course and assignment;
    3. the user is signed in, the session remembers the LMS frame; 4. off to the right page."""
    message = message_launch(request)
    try:
        claims = message.get_launch_data()
        deep_linking = message.is_deep_link_launch()
        outcome = launch_accept(claims=claims, deep_linking=deep_linking)
    except LtiException as error:
        return _refused(request, f"The launch could not be verified: {error}")
    except ApplicationError as error:
        return _refused(request, error.message)
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[FRAME_ORIGINS_KEY] = list(outcome.frame_origins)
    if deep_linking:
        request.session[DEEP_LINK_KEY] = {
            "platform_id": LtiPlatform.objects.get(
                issuer=claims["iss"], client_id=message.get_client_id()
            ).pk,
            "deployment_id": claims[DEPLOYMENT_CLAIM],
            "settings": claims[DEEP_LINKING_CLAIM],
            "course_id": outcome.course.pk,
        }
        return redirect("lti_deep_link")
    return redirect(selectors.landing_url(outcome))


def deep_link(request: HttpRequest) -> HttpResponse:
    """The educator picks an assignment of the course, or creates one, for the LMS."""
    pending = request.session.get(DEEP_LINK_KEY)
    if not pending:
        raise Http404("Open this page from your LMS's “add content” dialog.")
    course = get_object_or_404(Course, pk=pending["course_id"])
    if not can_teach(request.user, course):
        raise PermissionDenied("Only the course's educators may add AAIE assignments.")
    assignments = Assignment.objects.filter(course=course).order_by("title")
    form = DeepLinkForm(
        request.POST or None,
        assignments=assignments,
        rubric_versions=grading_selectors.rubric_versions_for_educator(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignment = data["assignment"] or assignment_create(
                course=course,
                title=data["title"],
                task=data["task"],
                rubric_version=data["rubric_version"],
            )
        except ApplicationError as error:
            form.add_error(error.field, error.message)
        else:
            reply = deep_link_reply(
                platform=get_object_or_404(LtiPlatform, pk=pending["platform_id"]),
                deployment_id=pending["deployment_id"],
                settings=pending["settings"],
                assignment=assignment,
                launch_url=request.build_absolute_uri(reverse("lti_launch")),
            )
            del request.session[DEEP_LINK_KEY]
            response = render(request, "lti/deep_link_return.html", {"reply": reply})
            # The reply form posts to the LMS: the policy lets forms go there, and only there.
            if (origin := url_origin(reply.return_url)) is not None:
                response._csp_update = {"form-action": [origin]}
            return response
    return render(request, "lti/deep_link.html", {"course": course, "form": form})


def _require_educator(request: HttpRequest) -> None:
    if not is_educator(request.user):
        raise PermissionDenied("This page is for educators.")


@require_POST
def roster_sync_start(request: HttpRequest, course_id: int) -> HttpResponse:
    _require_educator(request)
    course = grading_selectors.course_for_educator(user=request.user, course_id=course_id)
    if course is None:
        raise Http404("Not found, or not in one of your courses.")
    context = selectors.context_of(course=course)
    if context is None or not context.memberships_url:
        messages.error(request, "This course is not linked to an LMS roster.")
    else:
        roster_sync_enqueue(context=context)
        messages.success(request, "Roster sync started; reload in a moment to see it.")
    return redirect("course_detail", course_id=course.pk)


@require_POST
def passback_retry(request: HttpRequest, assignment_id: int) -> HttpResponse:
    _require_educator(request)
    assignment = grading_selectors.assignment_for_educator(
        user=request.user, assignment_id=assignment_id
    )
    if assignment is None:
        raise Http404("Not found, or not in one of your courses.")
    retried = grade_posts_retry(assignment_id=assignment.pk)
    messages.success(request, f"Sending {len(retried)} grade(s) to the LMS again.")
    return redirect("assignment_detail", assignment_id=assignment.pk)
