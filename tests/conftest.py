"""Shared test fixtures.

The cast, in every test: `educator` teaches `course`; `outsider_educator` teaches another course;
`student` and `classmate` are students of `course`; `admin_user` is staff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from aaie.celery import app as celery_app
from aaie.local_redis import LocalRedis
from grading.models import Enrolment
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from grading.services.submissions import submission_create
from tests.tiny_qwen import build_tiny_qwen3

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT_SECONDS = 60


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(
            username=username, password="pw-" + username, first_name=username.title(), **extra
        )

    return make


@pytest.fixture
def educator(make_user):
    return make_user("educator")


@pytest.fixture
def outsider_educator(make_user):
    user = make_user("outsider")
    course_create(code="OTHER1", title="Another course", created_by=user)
    return user


@pytest.fixture
def student(make_user):
    return make_user("student")


@pytest.fixture
def classmate(make_user):
    return make_user("classmate")


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def course(educator, student, classmate):
    course = course_create(code="CS101", title="Programming", created_by=educator)
    enrolment_set(course=course, user=student, role=Enrolment.Role.STUDENT)
    enrolment_set(course=course, user=classmate, role=Enrolment.Role.STUDENT)
    return course


def two_criteria() -> list[CriterionInput]:
    return [
        CriterionInput(
            title="Correctness",
            description="Is the answer right?",
            max_points=4,
            levels=[
                LevelInput("Excellent", 4, "Fully correct."),
                LevelInput("Partial", 2, "Partly correct."),
                LevelInput("Wrong", 0, "Incorrect."),
            ],
        ),
        CriterionInput(
            title="Clarity",
            max_points=2,
            levels=[LevelInput("Clear", 2), LevelInput("Unclear", 0)],
        ),
    ]


@pytest.fixture
def rubric_version(educator):
    return rubric_create(name="Short answer", criteria=two_criteria(), created_by=educator)


@pytest.fixture
def assignment(course, rubric_version):
    return assignment_create(
        course=course,
        title="Explain recursion",
        task="Explain recursion with an example.",
        reference_notes="Mentions a base case.",
        rubric_version=rubric_version,
    )


@pytest.fixture
def make_submission(educator):
    def make(assignment, student, text: str = "Recursion needs a base case.", name="a.txt"):
        return submission_create(
            assignment=assignment,
            student=student,
            upload=SimpleUploadedFile(name, text.encode()),
            uploaded_by=educator,
        )

    return make


@pytest.fixture
def submission(assignment, student, make_submission):
    return make_submission(assignment, student)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def scripted_model(settings):
    """Runs requested in this test use the fast, deterministic scripted backend."""
    settings.AAIE_DEFAULT_MODEL = {
        **settings.AAIE_DEFAULT_MODEL,
        "backend": "scripted",
        "model": "scripted",
    }


# --- Real processes: Redis, a Celery worker, the tiny Qwen3 model ------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for this test session: AAIE_TEST_REDIS_URL if given, else a private one."""
    given = os.environ.get("AAIE_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = LocalRedis().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _celery_uses_test_redis(redis_url) -> None:
    """Whatever a test enqueues goes to the test Redis, never to a developer's broker."""
    celery_app.conf.broker_url = redis_url


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"))


def database_url_for_workers() -> str:
    """The URL of the database this test runs on, for worker processes to share it."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, redis_url, tmp_path) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the test database and the test Redis."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_workers(),
        "REDIS_URL": redis_url,
        "AAIE_VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "aaie",
                "worker",
                "--queues",
                "grading,default",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],  # fmt: skip
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    while "ready." not in log_path.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    worker.log_path = log_path
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        redis.Redis.from_url(redis_url).flushdb()
