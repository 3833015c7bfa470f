"""Emails go from the light worker's task, never the web process: a bulk release reaches a real
SMTP server (aiosmtpd) over one connection, and a task delivered twice sends nothing twice."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller

from grading import tasks
from grading.models import SentNotification
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.notifications import GRADE_RELEASED
from grading.services.reviews import reviews_release_bulk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


class Recorder:
    """Keeps each message with the SMTP session (connection) it came over."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((id(session), list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.fixture
def graded_class(assignment, educator, make_user, course, make_submission):
    from grading.services.courses import enrolment_set

    submissions = []
    for index in range(3):
        user = make_user(f"pupil{index}", email=f"pupil{index}@example.edu")
        enrolment_set(course=course, user=user, role="student")
        submission = make_submission(assignment, user)
        grading_run_execute(
            run_id=grading_run_request(submission=submission, requested_by=educator).pk
        )
        submission.refresh_from_db()
        submissions.append(submission)
    return submissions


def test_a_bulk_release_emails_everyone_in_one_task_over_one_connection(
    assignment, educator, graded_class, smtp_server, light_tasks, monkeypatch
):
    sent_tasks = []
    real_delay = tasks.send_notifications.delay
    monkeypatch.setattr(
        tasks.send_notifications,
        "delay",
        lambda *args: sent_tasks.append(args) or real_delay(*args),
    )
    with light_tasks():
        released = reviews_release_bulk(
            assignment=assignment, submissions=graded_class, actor=educator
        )
    assert released.released == 3
    assert len(sent_tasks) == 1  # one task for the whole release
    assert sorted(to for _, [to] in smtp_server.messages) == [
        f"pupil{index}@example.edu" for index in range(3)
    ]
    assert len({session for session, _ in smtp_server.messages}) == 1  # one SMTP connection

    # The same task delivered again (its worker died before acknowledging it) sends nothing.
    tasks.send_notifications.apply(args=sent_tasks[0])
    assert len(smtp_server.messages) == 3
    assert SentNotification.objects.filter(key__startswith=GRADE_RELEASED).count() == 3


def test_the_web_process_sends_no_email_itself(
    assignment, educator, graded_class, smtp_server, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.send_notifications, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        reviews_release_bulk(assignment=assignment, submissions=graded_class, actor=educator)
    assert smtp_server.messages == []  # the light worker sends them
    assert len(queued) == 1 and queued[0][0] == GRADE_RELEASED and len(queued[0][1]) == 3
