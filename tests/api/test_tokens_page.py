"""The API token page: educators create, replace and revoke their key."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_an_educator_creates_a_token_that_works_and_is_shown_once(educator, course):
    web = client_for(educator)
    page = web.post(reverse("api_tokens"), {"action": "create"})
    assert page.status_code == 200
    key = Token.objects.get(user=educator).key
    assert key in page.content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("api_courses")).status_code == 200
    # Coming back later shows only the start of the key.
    later = web.get(reverse("api_tokens")).content.decode()
    assert key not in later and key[:6] in later


def test_replacing_or_revoking_stops_the_old_key(educator, course):
    web = client_for(educator)
    web.post(reverse("api_tokens"), {"action": "create"})
    first = Token.objects.get(user=educator).key
    web.post(reverse("api_tokens"), {"action": "create"})
    assert Token.objects.get(user=educator).key != first
    response = web.post(reverse("api_tokens"), {"action": "revoke"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=educator).exists()


def test_the_page_is_for_educators(student, course):
    assert client_for(student).get(reverse("api_tokens")).status_code == 403
    assert client_for(None).get(reverse("api_tokens")).status_code == 302  # to the login page


def test_educators_find_the_page_in_the_menu(educator, course):
    home = client_for(educator).get(reverse("course_list")).content.decode()
    assert reverse("api_tokens") in home
