"""Users and roles: roster import, password reset for imported users, the first admin."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from grading.models import Enrolment
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ROSTER = """username,email,first_name,last_name,role
ada,ada@example.edu,Ada,Lovelace,student
alan,not-an-email,Alan,Turing,student
ta,ta@example.edu,Tina,Assist,educator
bob,bob@example.edu,Bob,Bad,janitor
"""


def test_roster_import_enrols_good_rows_and_names_bad_lines(course, educator):
    response = client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", ROSTER.encode())},
    )
    page = response.content.decode()
    assert "line 3: &#x27;not-an-email&#x27; is not an email address" in page
    assert "line 5: role must be student or educator" in page
    roles = dict(
        Enrolment.objects.filter(course=course, user__username__in=["ada", "ta"]).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"ada": "student", "ta": "educator"}
    assert not get_user_model().objects.filter(username__in=["alan", "bob"]).exists()


def test_imported_users_can_set_a_password_by_email(course, educator):
    client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", ROSTER.encode())},
    )
    client_for(None).post(reverse("password_reset"), {"email": "ada@example.edu"})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_roster_import_is_for_the_courses_educators(course, student, outsider_educator):
    url = reverse("roster_import", args=[course.pk])
    assert client_for(student).get(url).status_code == 403
    assert client_for(outsider_educator).get(url).status_code == 404


def test_a_roster_without_the_needed_columns_is_refused(course, educator):
    response = client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", b"name,mail\nx,y\n")},
    )
    assert "missing: username, email" in response.content.decode()


def test_create_admin_reads_the_password_from_the_environment(monkeypatch):
    monkeypatch.delenv("AAIE_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="AAIE_ADMIN_PASSWORD"):
        call_command("create_admin", "--username", "root")
    monkeypatch.setenv("AAIE_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="too short"):
        call_command("create_admin", "--username", "root")
    monkeypatch.setenv("AAIE_ADMIN_PASSWORD", "a-long-enough-passphrase-42")
    call_command("create_admin", "--username", "root", "--email", "root@example.edu")
    admin = get_user_model().objects.get(username="root")
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("a-long-enough-passphrase-42")


def test_a_roster_enrols_an_existing_account_only_with_its_email(course, educator, make_user):
    # Else a roster of guessed usernames would pull anyone into the course, name and email shown.
    stranger = make_user("stranger", email="stranger@example.edu", last_name="Secretname")
    roster = (
        "username,email,first_name,last_name,role\n"
        "stranger,guess@example.edu,,,student\n"
        "known,known@example.edu,,,student\n"
    )
    make_user("known", email="Known@Example.edu")
    response = client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", roster.encode())},
    )
    page = response.content.decode()
    assert "line 2:" in page
    assert "stranger@example.edu" not in page and "Secretname" not in page
    assert not Enrolment.objects.filter(user=stranger).exists()
    assert Enrolment.objects.filter(course=course, user__username="known").exists()


@pytest.mark.parametrize(
    "username", ["ada lovelace", "ada/../x", "<b>ada</b>", "a" * 151, "ada;drop", "ada\u200b"]
)
def test_a_roster_refuses_usernames_djangos_validator_refuses(course, educator, username):
    roster = f"username,email\n{username},ada@example.edu\nbea,bea@example.edu\n"
    response = client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", roster.encode())},
    )
    assert "line 2: not a valid username" in response.content.decode()
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert username not in usernames and "bea" in usernames
    for user in get_user_model().objects.all():
        user.full_clean()  # every account the import made passes Django's own checks


def test_a_roster_username_is_normalised_as_login_normalises_it(course, educator):
    roster = "username,email\n\uff41\uff44\uff41,ada@example.edu\n"  # full-width "ada"
    client_for(educator).post(
        reverse("roster_import", args=[course.pk]),
        {"roster": SimpleUploadedFile("roster.csv", roster.encode())},
    )
    assert get_user_model().objects.filter(username="ada").exists()
