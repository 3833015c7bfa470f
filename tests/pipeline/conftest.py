"""Real processes for the pipeline tests: Celery workers that can be killed, brokers that can be
restarted; and a fast way to make a class of submissions."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from django.contrib.auth import get_user_model

from aaie.celery import app as celery_app
from grading.models import Assignment, CriterionResult, Enrolment, GradingRun, Submission
from tests.processes import POLL_SECONDS, Worker


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """The cast's logins are made per test; real hashing would cost a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_class(assignment: Assignment, texts: list[str]) -> list[Submission]:
    """One student and one submission per text, written in bulk (no files, no extraction)."""
    user_model = get_user_model()
    prefix = f"p{assignment.pk}-"
    user_model.objects.bulk_create(
        user_model(username=f"{prefix}{index:04d}") for index in range(len(texts))
    )
    students = list(user_model.objects.filter(username__startswith=prefix).order_by("username"))
    Enrolment.objects.bulk_create(
        Enrolment(course=assignment.course, user=user, role=Enrolment.Role.STUDENT)
        for user in students
    )
    Submission.objects.bulk_create(
        Submission(
            assignment=assignment,
            student=student,
            original_name="essay.txt",
            original_file=f"submissions/{assignment.pk}/{index}",
            text=text,
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
            size=len(text.encode()),
        )
        for index, (student, text) in enumerate(zip(students, texts, strict=True))
    )
    return list(Submission.objects.filter(assignment=assignment).order_by("student__username"))


def wait_until(
    condition: Callable[[], bool], *, timeout: float, explain: Callable[[], str] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s.\n{explain()}")
        time.sleep(POLL_SECONDS)


def assert_graded_exactly_once(submissions: list[Submission]) -> None:
    """Each submission: one run, succeeded, with one result per criterion; nothing else."""
    for submission in submissions:
        runs = list(GradingRun.objects.filter(submission=submission))
        assert len(runs) == 1, f"{submission}: {len(runs)} runs"
        run = runs[0]
        assert run.status == GradingRun.Status.SUCCEEDED, (submission.text, run.error)
        criteria = run.rubric_version.criteria.count()
        assert run.results.count() == criteria, f"run {run.pk}: {run.results.count()} results"
    expected = sum(s.assignment.rubric_version.criteria.count() for s in submissions)
    assert CriterionResult.objects.filter(run__submission__in=submissions).count() == expected, (
        "results beyond one set per submission"
    )


@pytest.fixture
def start_worker(transactional_db, redis_url, tmp_path) -> Iterator[Callable[..., Worker]]:
    """start_worker(name, broker_url=..., queues=..., **env) → a Worker (call wait_ready); all
    are stopped afterwards."""
    workers: list[Worker] = []

    def start(
        name: str = "w1",
        *,
        broker_url: str = redis_url,
        queues: str = "grading,default",
        **env: str,
    ) -> Worker:
        worker = Worker(
            broker_url=broker_url,
            log_path=tmp_path / f"{name}.log",
            name=name,
            env={"AAIE_VAR_DIR": str(tmp_path / name), **env},
            queues=queues,
        )
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def clean_broker(redis_url) -> Iterator[str]:
    redis.Redis.from_url(redis_url).flushdb()
    yield redis_url
    redis.Redis.from_url(redis_url).flushdb()


@contextmanager
def broker_for_this_process(url: str) -> Iterator[None]:
    """Send this test process's tasks to `url` (Celery caches its connection pools)."""
    previous = celery_app.conf.broker_url

    def switch(to: str) -> None:
        celery_app.conf.broker_url = to
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    switch(url)
    try:
        yield
    finally:
        switch(previous)
