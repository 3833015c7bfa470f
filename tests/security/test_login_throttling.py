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


def admin_attempt(client, username: str, password: str):
    return client.post(reverse("admin:login"), {"username": username, "password": password})


@pytest.mark.parametrize(
    "look_alike",
    ["\uff53\uff54\uff55\uff44\uff45\uff4e\uff54", "STUDENT", "Student", "\u017ftudent"],
    ids=["full-width", "upper", "title", "long-s"],
)
def test_look_alikes_of_a_username_count_as_the_same_account(student, settings, look_alike):
    # Login normalises the username (NFKC); the throttle must count what login will look up.
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    client = client_for(None)
    attempt(client, "student", "wrong")
    attempt(client, look_alike, "wrong")
    attempt(client, look_alike, "wrong")
    assert attempt(client, "student", "pw-student").status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_login_failures_count_and_lock_both_forms(admin_user, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    client = client_for(None)
    for _ in range(3):
        admin_attempt(client, "admin", "wrong")
    assert attempt(client, "admin", "pw-admin").status_code == 429
    admin_attempt(client, "admin", "pw-admin")
    assert "_auth_user_id" not in client.session


def test_login_page_failures_lock_the_admin_login(admin_user, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 2
    client = client_for(None)
    for _ in range(2):
        attempt(client, "admin", "wrong")
    response = admin_attempt(client, "admin", "pw-admin")
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


def test_an_account_is_locked_whichever_addresses_the_guesses_come_from(student, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        client_for(None).post(
            reverse("login"), {"username": "student", "password": "wrong"}, REMOTE_ADDR=address
        )
    response = client_for(None).post(
        reverse("login"), {"username": "student", "password": "pw-student"}, REMOTE_ADDR="10.0.0.4"
    )
    assert response.status_code == 429


def test_an_address_is_locked_after_guessing_many_usernames(student, classmate, settings):
    settings.AAIE_LOGIN_MAX_FAILURES = 3
    settings.AAIE_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    guesser = client_for(None)
    for name in ("ann", "ben", "cat", "dan"):
        guesser.post(reverse("login"), {"username": name, "password": "x"}, REMOTE_ADDR="10.0.0.9")
    locked = guesser.post(
        reverse("login"), {"username": "student", "password": "pw-student"}, REMOTE_ADDR="10.0.0.9"
    )
    assert locked.status_code == 429
    # The same account from another address is not locked: the account had no failures.
    elsewhere = client_for(None).post(
        reverse("login"), {"username": "student", "password": "pw-student"}, REMOTE_ADDR="10.0.0.8"
    )
    assert elsewhere.status_code == 302
