"""Authentication (session and token), the uniform error body, CSRF and throttling."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from tests.api.conftest import api_for

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_anonymous_callers_get_401_with_a_token_challenge():
    response = api_for(None).get(reverse("api_courses"))
    assert_error(response, 401, "not_authenticated")
    # LMS clients read the challenge to know which scheme to use.
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_authenticates_as_its_user(educator, course):
    key = Token.objects.create(user=educator).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(reverse("api_courses"))
    assert response.status_code == 200
    assert [c["code"] for c in response.json()["results"]] == ["CS101"]


def test_a_revoked_or_wrong_token_is_refused(educator):
    token = Token.objects.create(user=educator)
    key = token.key
    token.delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_error(client.get(reverse("api_courses")), 401, "authentication_failed")


def test_session_writes_need_the_csrf_token(educator):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(educator)
    response = client.post(reverse("api_courses"), {"code": "X1", "title": "X"}, format="json")
    # A page on another site must not be able to act with the educator's cookie.
    error = assert_error(response, 403, "permission_denied")
    assert "CSRF" in error["message"]


def test_validation_errors_name_each_field_with_dotted_paths(educator, course):
    response = api_for(educator).post(
        reverse("api_rubrics"),
        {"name": "", "criteria": [{"title": "T", "max_points": 0, "levels": []}]},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert "name" in error["fields"]
    assert "criteria.0.max_points" in error["fields"]
    assert "criteria.0.levels" in error["fields"]


def test_service_refusals_come_back_as_400_with_their_message(educator, course):
    response = api_for(educator).post(
        reverse("api_courses"), {"code": "cs101", "title": "Again"}, format="json"
    )
    error = assert_error(response, 400, "rejected")
    assert error["fields"] == {"code": ["A course with code cs101 exists already."]}


def test_unknown_objects_and_wrong_methods_use_the_same_body(educator):
    client = api_for(educator)
    assert_error(client.get(reverse("api_course", args=[999999])), 404, "not_found")
    assert_error(client.delete(reverse("api_courses")), 405, "method_not_allowed")
    # A URL that names no endpoint (here a non-numeric id) still answers in the API's shape.
    assert_error(client.get("/api/v1/courses/abc/"), 404, "not_found")


def test_callers_are_throttled_with_429_and_retry_after(educator, monkeypatch):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/minute")
    client = api_for(educator)
    for _ in range(3):
        assert client.get(reverse("api_courses")).status_code == 200
    response = client.get(reverse("api_courses"))
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_uploads_over_djangos_limits_get_the_same_body(educator, assignment, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(3)]
    response = api_for(educator).post(
        reverse("api_submissions", args=[assignment.pk]),
        {"files": files, "student": "student"},
        format="multipart",
    )
    assert_error(response, 400, "too_large")
