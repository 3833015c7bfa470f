"""Passback with real parts: a release commits, the task goes through a real Redis to a real
Celery worker process, the simulated LMS refuses twice, and the worker retries with backoff."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import redis

from grading.lti.models import LtiGradePost, LtiIdentity, LtiResourceLink
from grading.models import AuditEvent
from grading.services.reviews import review_release, review_save
from tests.lti.conftest import launch
from tests.lti.simulator import INSTRUCTOR, LEARNER
from tests.processes import Worker

pytestmark = pytest.mark.slow

POST_TIMEOUT_SECONDS = 90
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@pytest.fixture
def lti_worker(transactional_db, redis_url, tmp_path) -> Iterator[Worker]:
    """A worker whose passback backoff is 1 s (then 2 s), so retries happen within the test."""
    redis.Redis.from_url(redis_url).flushdb()
    worker = Worker(
        broker_url=redis_url,
        log_path=tmp_path / "worker.log",
        name=f"lti-{os.getpid()}",
        env={"AAIE_VAR_DIR": str(tmp_path), "AAIE_LTI_PASSBACK_BACKOFF_SECONDS": "1"},
    )
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()
        redis.Redis.from_url(redis_url).flushdb()


def wait_until_sent(worker: Worker) -> LtiGradePost:
    deadline = time.monotonic() + POST_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        post = LtiGradePost.objects.first()
        if post is not None and post.status != LtiGradePost.Status.PENDING:
            return post
        if worker.poll() is not None:
            pytest.fail(f"The worker died:\n{worker.log()}")
        time.sleep(0.3)
    pytest.fail(f"The grade was not sent in time:\n{worker.log()}")


def test_a_release_reaches_the_lms_after_two_refusals(
    lti_worker, client, sim, platform, rubric_version, make_submission, educator
):
    launch(client, sim, sim.claims(sub="teacher-1", role=INSTRUCTOR))
    client.logout()
    link = LtiResourceLink.objects.get()
    assignment = link.context.course.assignments.create(
        title="Essay", task="Write.", rubric_version=rubric_version
    )
    claims = sim.claims(sub="learner-1", role=LEARNER)
    claims[CUSTOM] = {"aaie_assignment_id": str(assignment.pk)}
    launch(client, sim, claims)
    submission = make_submission(assignment, LtiIdentity.objects.get(sub="learner-1").user)
    sim.score_failures_left = 2

    review = review_save(
        submission=submission,
        actor=educator,
        points={c.pk: 1 for c in rubric_version.criteria.all()},
        comments={},
        comment="See the margin notes.",
    )
    released_at = time.monotonic()
    review = review_release(review=review, actor=educator)
    assert time.monotonic() - released_at < 5  # the LMS's trouble never holds up the release
    assert review.released

    post = wait_until_sent(lti_worker)
    assert (post.status, post.attempts) == (LtiGradePost.Status.SENT, 3)
    assert post.error_history == ["HTTP 503 from the LMS", "HTTP 503 from the LMS"]
    assert [s["body"]["scoreGiven"] for s in sim.recorded.scores] == [2, 2, 2]
    assert {s["body"]["scoreMaximum"] for s in sim.recorded.scores} == {6}
    actions = list(
        AuditEvent.objects.filter(submission=submission, action__startswith="lms_").values_list(
            "action", flat=True
        )
    )
    assert actions == ["lms_grade_failed", "lms_grade_failed", "lms_grade_sent"]
