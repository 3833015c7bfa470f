"""A batch of three graded together by the tiny Qwen3 in a real worker: every row streams its
own trace and token count while the batch runs, to the review page and to the dashboard."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from grading.models import GradingRun, ModelProfile
from grading.services.grading import grading_runs_request_for_assignment

pytestmark = pytest.mark.slow

WAIT_S = 180
# Long enough thoughts that the batch is still thinking while the page polls (CPU, tiny model).
THINKING_BUDGET = 1500


def test_a_batch_of_three_streams_three_traces_while_it_runs(
    visitor, assignment, student, classmate, educator, make_submission, make_user,
    tiny_model_dir, celery_worker_process,
):  # fmt: skip
    third = make_user("third")
    assignment.course.enrolments.create(user=third, role="student")
    assignment.model_profile = ModelProfile.objects.create(
        name="tiny",
        backend="transformers",
        model=str(tiny_model_dir),
        dtype="float32",
        thinking_budget=THINKING_BUDGET,
        max_answer_tokens=300,
        context_limit=8192,
        batch_size=3,
    )
    assignment.save()
    for person in (student, classmate, third):
        make_submission(assignment, person, f"{person.username} explains recursion.")
    assert grading_runs_request_for_assignment(assignment=assignment, requested_by=educator) == 3

    # All three running at once, each with a trace and a token count of its own.
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        live = GradingRun.objects.filter(
            status=GradingRun.Status.RUNNING, thinking_tokens__gt=0
        ).exclude(reasoning_trace="")
        if live.count() == 3:
            break
        time.sleep(0.2)
    else:
        pytest.fail("The three rows never streamed their traces at the same time.")

    teacher = visitor("live-batch")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)
    page.goto(reverse("assignment_detail", args=[assignment.pk]))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-row-live]')]"
        ".filter((cell) => /tokens/.test(cell.textContent)).length === 3",
        timeout=WAIT_S * 1000,
    )
    assert "tokens/s measured" in page.locator("[data-progress-rate]").inner_text()
    teacher.snap_sizes("dashboard-live-batch")

    run = GradingRun.objects.filter(status=GradingRun.Status.RUNNING).first()
    if run is not None:  # the batch may have finished meanwhile; the database check above holds
        page.goto(reverse("submission_review", args=[run.submission_id]))
        page.wait_for_function(
            "() => /^[0-9]+$/.test(document.getElementById('trace-tokens').textContent)",
            timeout=WAIT_S * 1000,
        )
