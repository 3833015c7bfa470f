"""Inside the LMS's iframe: cookies and framing relaxed for sessions begun by a launch, and for
those alone; CSRF still checked."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from grading.lti.models import LtiContext
from tests.lti.conftest import launch
from tests.lti.simulator import INSTRUCTOR
from tests.security.test_headers_and_limits import policy_of


def test_a_launch_over_https_gets_cookies_a_third_party_frame_can_send(sim, platform):
    client = Client(enforce_csrf_checks=True)
    response = launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR), secure=True)
    assert response.status_code == 302
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["samesite"] == "None" and session_cookie["secure"]
    page = client.get(response["Location"], secure=True)
    assert "X-Frame-Options" not in page
    policy = policy_of(page)
    assert policy["frame-ancestors"] == ["'self'", sim.url]
    # Only the framing changes: the rest of the policy stays as strict as anywhere.
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    csrf_cookie = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["samesite"] == "None" and csrf_cookie["secure"]


def test_forms_in_the_frame_still_need_the_csrf_token(sim, platform):
    client = Client(enforce_csrf_checks=True)
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR), secure=True)
    course_id = LtiContext.objects.get().course_id
    url = f"/lti/courses/{course_id}/sync-roster/"
    assert client.post(url, secure=True).status_code == 403  # no token: refused as always
    page = client.get(f"/courses/{course_id}/", secure=True)
    token = page.context["csrf_token"]
    answer = client.post(
        url, {"csrfmiddlewaretoken": str(token)}, secure=True, HTTP_REFERER="https://testserver/"
    )
    assert answer.status_code == 302


def test_an_ordinary_sign_in_keeps_lax_cookies_and_refuses_frames(educator):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "educator", "password": "pw-educator"}, secure=True
    )
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["samesite"] == "Lax"
    page = client.get("/", secure=True, follow=True)
    assert page["X-Frame-Options"] == "DENY"
    assert policy_of(page)["frame-ancestors"] == ["'none'"]
