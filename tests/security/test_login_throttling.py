"""Guessing passwords: after a few failures for one username from one address, logins stop."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def attempt(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_repeated_failures_lock_the_username_even_for_the_right_password(student, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    client = client_for(None)
    for _ in range(3):
        assert attempt(client, "student", "wrong").status_code == 200
    locked = attempt(client, "student", "pw-student")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_username_is_not_locked_by_someone_elses_failures(student, classmate, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 2
    client = client_for(None)
    for _ in range(2):
        attempt(client, "student", "wrong")
    assert attempt(client, "classmate", "pw-classmate").status_code == 302


def test_a_success_clears_earlier_failures(student, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    client = client_for(None)
    attempt(client, "student", "wrong")
    attempt(client, "student", "wrong")
    assert attempt(client, "student", "pw-student").status_code == 302
    other = client_for(None)
    attempt(other, "student", "wrong")
    attempt(other, "student", "wrong")
    assert attempt(other, "student", "pw-student").status_code == 302
