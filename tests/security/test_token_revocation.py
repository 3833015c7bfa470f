"""A new password ends every API token of the account, as it ends the account's sessions.

Whoever learnt the old password (and made a token with it) must lose access once the owner
changes or resets it, whichever way the new password is set.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-passphrase-91"


def token_works(key: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get(reverse("api_courses")).status_code == 200


@pytest.fixture
def key(educator, course) -> str:
    key = Token.objects.create(user=educator).key
    assert token_works(key)
    return key


def test_a_password_reset_by_email_revokes_the_token(educator, key):
    educator.email = "educator@example.edu"
    educator.save()
    client = client_for(None)
    client.post(reverse("password_reset"), {"email": "educator@example.edu"})
    link = re.search(r"/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    form = client.get(link, follow=True)
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not token_works(key)


def test_an_admin_setting_the_password_revokes_the_token(educator, key, admin_user):
    url = reverse("admin:auth_user_password_change", args=[educator.pk])
    response = client_for(admin_user).post(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    )
    assert response.status_code == 302
    assert not token_works(key)


def test_set_password_anywhere_revokes_the_token(educator, key):
    user = get_user_model().objects.get(pk=educator.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not token_works(key)


def test_the_changepassword_command_revokes_the_token(educator, key, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "educator", stdout=None)
    assert not token_works(key)


def test_saving_the_user_without_a_new_password_keeps_the_token(educator, key):
    educator.first_name = "Renamed"
    educator.save()
    client_for(None).login(username="educator", password="pw-educator")
    assert token_works(key)
