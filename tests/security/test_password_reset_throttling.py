"""Password-reset requests are limited per email address and per client address.

Unlimited, the form floods an inbox with reset mail, or sends mail in bulk from our server.
"""

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def reset(email: str, address: str = "10.1.0.1"):
    return client_for(None).post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_requests_for_one_email_stop_at_the_limit_from_any_address(student, settings):
    settings.AAIE_PASSWORD_RESET_MAX_PER_EMAIL = 2
    student.email = "student@example.edu"
    student.save()
    assert reset("student@example.edu", "10.1.0.1").status_code == 302
    assert reset("STUDENT@example.edu", "10.1.0.2").status_code == 302
    refused = reset("student@example.edu", "10.1.0.3")
    assert refused.status_code == 429
    assert "Too many password-reset requests" in refused.content.decode()
    assert len(mail.outbox) == 2


def test_requests_from_one_address_stop_at_the_limit_whatever_the_email(settings):
    settings.AAIE_PASSWORD_RESET_MAX_PER_ADDRESS = 3
    for index in range(3):
        assert reset(f"someone{index}@example.edu").status_code == 302
    assert reset("someone-else@example.edu").status_code == 429
    assert reset("someone-else@example.edu", address="10.1.0.99").status_code == 302


def test_the_limit_answers_alike_for_known_and_unknown_emails(student, settings):
    # A different answer for an existing account would tell who has one.
    settings.AAIE_PASSWORD_RESET_MAX_PER_EMAIL = 1
    student.email = "student@example.edu"
    student.save()
    reset("student@example.edu")
    reset("nobody@example.edu")
    known, unknown = reset("student@example.edu"), reset("nobody@example.edu")
    assert known.status_code == unknown.status_code == 429
