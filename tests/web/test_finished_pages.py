"""Finished at every size: own password pages, links to the site's own address, honest labels,
hidden buttons that stay hidden, and a start-up that does not pay for heavy libraries."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from aaie.celery import app as celery_app
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_release, review_save
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reachable_student(student):
    student.email = "student@example.edu"
    student.save()
    return student


@pytest.mark.parametrize(
    "name", ["password_reset", "password_reset_done", "password_reset_complete"]
)
def test_password_reset_pages_are_ours_not_the_admins(name):
    page = client_for(None).get(reverse(name)).content.decode()
    assert "Django administration" not in page
    assert 'class="topbar"' in page  # the site's own layout


def test_password_change_is_a_page_of_the_site(student):
    client = client_for(student)
    page = client.get(reverse("password_change")).content.decode()
    assert "Change your password" in page and "Django administration" not in page
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-student",
            "new_password1": "a-new-long-passphrase-7",
            "new_password2": "a-new-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    student.refresh_from_db()
    assert student.check_password("a-new-long-passphrase-7")


def test_reset_email_links_to_the_request_address_when_no_site_url_is_set(settings, make_user):
    user = make_user("ada", email="ada@example.edu")
    settings.AAIE_SITE_URL = ""
    settings.ALLOWED_HOSTS = ["grading.example.edu"]
    client_for(None).post(
        reverse("password_reset"), {"email": user.email}, HTTP_HOST="grading.example.edu"
    )
    assert "http://grading.example.edu/accounts/reset/" in mail.outbox[0].body


def test_release_email_uses_the_configured_site_url(
    settings, reachable_student, submission, educator, light_tasks
):
    settings.AAIE_SITE_URL = "https://grades.example.edu/"
    points = {c.pk: 0 for c in submission.assignment.rubric_version.criteria.all()}
    review = review_save(
        submission=submission, actor=educator, points=points, comments={}, comment=""
    )
    with light_tasks():
        review_release(review=review, actor=educator)
    link = "https://grades.example.edu" + reverse("my_feedback", args=[submission.pk])
    assert link in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_release_email_from_a_page_links_to_that_pages_address(
    settings, reachable_student, scripted_model, submission, educator
):
    """The light worker sends the email; the address the release came in on travels with it."""
    settings.AAIE_SITE_URL = ""
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    url = reverse("release_selected", args=[submission.assignment_id])
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the light worker's task runs here, after commit
    try:
        client_for(educator).post(url, {"selected": [submission.pk]}, HTTP_HOST="localhost")
    finally:
        celery_app.conf.task_always_eager = eager
    assert "http://localhost" + reverse("my_feedback", args=[submission.pk]) in mail.outbox[0].body


def test_the_scripted_stand_in_is_named_as_such_on_the_review_page(
    scripted_model, submission, educator
):
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    page = client_for(educator).get(reverse("submission_review", args=[submission.pk]))
    text = page.content.decode()
    assert "Scripted stand-in" in text
    assert "Qwen" not in text.split('id="grade-heading"')[1].split("</p>")[0]


def test_hidden_wins_over_every_display_rule_in_the_stylesheet():
    css = (ROOT / "static" / "grading" / "app.css").read_text()
    assert "[hidden] { display: none !important; }" in css


def test_starting_django_does_not_import_scikit_learn_torch_or_transformers():
    code = (
        "import sys, django; django.setup();"
        "from django.core.management import call_command; call_command('check');"
        "heavy = [m for m in ('sklearn', 'scipy', 'torch', 'transformers') if m in sys.modules];"
        "print('heavy=' + ','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "aaie.settings", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "heavy="
