"""Shared test fixtures.

The cast, in every test: `educator` teaches `course`; `outsider_educator` teaches another course;
`student` and `classmate` are students of `course`; `admin_user` is staff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aaie.celery import app as celery_app
from aaie.local_redis import LocalRedis
from grading.models import Enrolment
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from grading.services.submissions import submission_create
from tests.processes import Worker
from tests.tiny_qwen import build_tiny_qwen3

# Threads for torch here and in the worker processes the tests start (which inherit the
# environment). The tiny models gain nothing from more, and on a busy machine OpenMP threads that
# wait for a core spin: measured, one grading took 10 times longer with 2 threads than with 1
# while other work used the cores (BENCHMARKS.md, "One decoding step"). OMP_NUM_THREADS set
# outside wins.
TEST_TORCH_THREADS = "1"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", TEST_TORCH_THREADS)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Real hashing costs about a second per test user; tests check permissions, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
def users_by_role(student, classmate, educator, outsider_educator, admin_user) -> dict:
    """The cast by the role names the permission matrices use (anonymous: no user)."""
    return {
        "anonymous": None,
        "student": student,
        "classmate": classmate,
        "educator": educator,
        "outsider": outsider_educator,
        "admin": admin_user,
    }


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


@pytest.fixture
def light_tasks(django_capture_on_commit_callbacks):
    """`with light_tasks(): ...`: what the block sends to the light worker (reading uploads,
    emails) runs here once its transaction commits, as the worker would run it.

    The real worker runs them in tests/pipeline/test_light_worker.py.
    """
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


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


@pytest.fixture
def one_run_per_task(settings, scripted_model):
    """Each grading task grades its own run only (batch size 1), for tests that step runs one
    by one."""
    settings.AAIE_DEFAULT_MODEL = {**settings.AAIE_DEFAULT_MODEL, "batch_size": 1}


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


@pytest.fixture
def celery_worker_process(transactional_db, redis_url, tmp_path) -> Iterator[Worker]:
    """A real Celery worker process on the test database and the test Redis."""
    redis.Redis.from_url(redis_url).flushdb()
    worker = Worker(
        broker_url=redis_url,
        log_path=tmp_path / "worker.log",
        name=f"test-{os.getpid()}",
        env={"AAIE_VAR_DIR": str(tmp_path)},
    )
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()
        redis.Redis.from_url(redis_url).flushdb()
