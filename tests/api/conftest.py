"""API test helpers: clients for each role, and submissions graded, reviewed and released.

Roles, as in tests/conftest.py: `educator` teaches `course`; `outsider_educator` teaches another
course; `student` and `classmate` study in `course`; `admin_user` is staff.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_initial_points, review_release, review_save


def api_for(user) -> APIClient:
    """A client signed in with a session (or anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Many users per test: the default hasher would make the permission matrix slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counters live in the cache; each test starts with none spent.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def graded(submission, educator, scripted_model):
    """The student's submission with a successful scripted AI run."""
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    submission.refresh_from_db()
    return submission


def save_review(submission, educator):
    points = review_initial_points(submission=submission)
    return review_save(
        submission=submission, actor=educator, points=points, comments={}, comment="Good."
    )


@pytest.fixture
def released(graded, educator):
    review_release(review=save_review(graded, educator), actor=educator)
    graded.refresh_from_db()
    return graded
