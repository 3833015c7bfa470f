"""/healthz for load balancers; batch grading's progress endpoint, cancel and retry, per role;
the workers' page in the admin."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.urls import reverse

from aaie.celery import app as celery_app
from aaie.local_redis import free_port
from grading.models import GradingRun, WorkerHeartbeat
from grading.services.grading import grading_run_fail, grading_runs_request_for_assignment
from tests.conftest import client_for
from tests.pipeline.conftest import make_class

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def broker_down(monkeypatch):
    """The broker URL points at a port nobody listens on."""
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")


def test_healthz_answers_200_to_anyone_when_database_and_broker_answer(client):
    response = client.get(reverse("healthz"))  # no login: load balancers have none
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_broker_is_down(client, broker_down):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable"}


def test_healthz_answers_503_when_the_database_is_down(client):
    with mock.patch.object(connection, "cursor", side_effect=DatabaseError("gone")):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "unavailable"
    assert "gone" not in response.content.decode()  # says which, never why, to strangers


@pytest.fixture
def graded_batch(assignment, educator):
    submissions = make_class(assignment, ["one", "two", "three"])
    grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
    return submissions


def progress_url(assignment) -> str:
    return reverse("grading_progress", args=[assignment.pk])


def test_the_progress_endpoint_gives_its_educator_json(graded_batch, assignment, educator):
    response = client_for(educator).get(progress_url(assignment))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3 and body["queued"] == 3 and body["active"] is True
    assert {"eta_seconds", "eta_text", "percent", "throughput_per_minute"} <= body.keys()


def test_an_admin_may_read_any_assignments_progress(graded_batch, assignment, admin_user):
    assert client_for(admin_user).get(progress_url(assignment)).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(graded_batch, assignment):
    response = client_for(None).get(progress_url(assignment))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_student_of_the_course_may_not_read_progress(graded_batch, assignment, student):
    assert client_for(student).get(progress_url(assignment)).status_code == 403


def test_an_educator_of_another_course_does_not_even_see_the_assignment(
    graded_batch, assignment, outsider_educator
):
    assert client_for(outsider_educator).get(progress_url(assignment)).status_code == 404


def test_the_educator_cancels_the_batch(graded_batch, assignment, educator):
    response = client_for(educator).post(reverse("grading_cancel", args=[assignment.pk]))
    assert response.status_code == 302
    assert set(GradingRun.objects.values_list("status", flat=True)) == {"cancelled"}


def test_the_educator_retries_the_failed_ones(graded_batch, assignment, educator):
    failed = GradingRun.objects.order_by("pk").first()
    grading_run_fail(run_id=failed.pk, error="model crashed")
    response = client_for(educator).post(reverse("grading_retry_failed", args=[assignment.pk]))
    assert response.status_code == 302
    assert GradingRun.objects.filter(submission=failed.submission).count() == 2


@pytest.mark.parametrize("action", ["grading_cancel", "grading_retry_failed"])
def test_students_and_outsiders_may_not_cancel_or_retry(
    graded_batch, assignment, student, outsider_educator, action
):
    url = reverse(action, args=[assignment.pk])
    assert client_for(student).post(url).status_code == 403
    assert client_for(outsider_educator).post(url).status_code == 404
    assert set(GradingRun.objects.values_list("status", flat=True)) == {"queued"}


def test_cancel_and_retry_only_take_posts(graded_batch, assignment, educator):
    assert (
        client_for(educator).get(reverse("grading_cancel", args=[assignment.pk])).status_code == 405
    )


def test_the_assignment_page_shows_live_progress_and_its_controls(
    graded_batch, assignment, educator
):
    page = client_for(educator).get(reverse("assignment_detail", args=[assignment.pk]))
    html = page.content.decode()
    assert f'data-progress-url="{progress_url(assignment)}"' in html
    assert "grading/progress.js" in html
    assert reverse("grading_cancel", args=[assignment.pk]) in html
    assert '<span data-progress="queued">3</span>' in html


def test_admins_see_which_workers_are_up_and_the_queue_depth(admin_user, clean_broker):
    from django.utils import timezone

    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname="grading@gpu-1#0",
        pid=42,
        models_loaded=[{"backend": "transformers", "model": "Qwen/Qwen3-8B", "device": "cuda"}],
        started_at=now,
        last_seen=now,
    )
    page = client_for(admin_user).get(reverse("admin:grading_workerheartbeat_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "grading@gpu-1#0" in html and "Qwen/Qwen3-8B (transformers, cuda)" in html
    assert "<strong>grading</strong> 0" in html
