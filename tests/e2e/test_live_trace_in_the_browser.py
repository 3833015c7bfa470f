"""The review page shows the reasoning trace of a running AI run as it grows, without a reload."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.llm.backends.scripted import TRACE_TEXT
from grading.models import GradingRun
from grading.services.grading import grading_run_request

pytestmark = pytest.mark.slow

# Long enough for the page to load and poll while the run still runs; the test ends sooner.
SLOW_SUBMISSION = "Recursion needs a base case. [[scripted:sleep=8]]"
WAIT_MS = 20_000


def test_the_trace_streams_in_while_the_run_runs(
    visitor, assignment, student, educator, make_submission, celery_worker_process, scripted_model
):
    submission = make_submission(assignment, student, text=SLOW_SUBMISSION)
    run = grading_run_request(submission=submission, requested_by=educator)
    teacher = visitor("live-trace")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)

    page.goto(reverse("submission_review", args=[submission.pk]))
    trace = page.locator("#trace-text")
    assert page.locator("#trace").get_attribute("open") is not None
    # Empty the block and mark the document: only polling can refill it, and a reload would
    # drop the mark.
    page.evaluate(
        "() => { document.getElementById('trace-text').textContent = ''; window.stayed = true; }"
    )

    trace.filter(has_text=TRACE_TEXT).wait_for(timeout=WAIT_MS)
    assert page.evaluate("() => window.stayed === true")
    teacher.snap("review-live-trace")

    page.get_by_role("link", name="Reload to see the grade").wait_for(timeout=WAIT_MS)
    assert page.evaluate("() => window.stayed === true")
    run.refresh_from_db()
    assert run.status == GradingRun.Status.SUCCEEDED
