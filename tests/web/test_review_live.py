"""The review page's live reasoning trace and its evidence highlighting."""

import json

import pytest
from django.urls import reverse

from grading.highlight import _normalised_with_offsets, evidence_spans, highlighted_lines
from grading.llm.evidence import normalise
from grading.models import CriterionResult, GradingRun
from grading.services.grading import grading_run_execute, grading_run_request
from tests.conftest import client_for

SCRIPT = '<script>alert("x")</script>'


@pytest.mark.django_db
def test_the_trace_endpoint_serves_the_running_trace_as_json(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    GradingRun.objects.filter(pk=run.pk).update(
        status=GradingRun.Status.RUNNING, reasoning_trace=f"Thinking {SCRIPT}", thinking_tokens=7
    )

    response = client_for(educator).get(reverse("run_trace", args=[submission.pk]))

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {
        "status": "running",
        "status_label": "Running",
        "active": True,
        "trace": f"Thinking {SCRIPT}",
        "thinking_tokens": 7,
    }
    # JSON escapes the markup characters, so the body never holds a live tag.
    assert SCRIPT not in response.content.decode()


@pytest.mark.django_db
def test_the_trace_endpoint_says_when_the_run_has_ended(submission, educator, scripted_model):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)

    data = client_for(educator).get(reverse("run_trace", args=[submission.pk])).json()

    assert data["status"] == "succeeded"
    assert data["active"] is False


@pytest.mark.django_db
def test_the_trace_endpoint_is_for_the_courses_educators_only(
    submission, educator, outsider_educator, student
):
    grading_run_request(submission=submission, requested_by=educator)
    url = reverse("run_trace", args=[submission.pk])
    assert client_for(outsider_educator).get(url).status_code == 404
    assert client_for(student).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302


@pytest.mark.django_db
def test_a_submission_without_a_run_has_no_trace(submission, educator):
    url = reverse("run_trace", args=[submission.pk])
    assert client_for(educator).get(url).status_code == 404


@pytest.mark.django_db
def test_the_review_page_offers_the_live_trace_only_while_the_run_is_active(submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    page = reverse("submission_review", args=[submission.pk])
    live_url = reverse("run_trace", args=[submission.pk])

    assert f'data-live-url="{live_url}"' in client_for(educator).get(page).content.decode()

    GradingRun.objects.filter(pk=run.pk).update(
        status=GradingRun.Status.SUCCEEDED, reasoning_trace="Done.", total=0
    )
    assert "data-live-url" not in client_for(educator).get(page).content.decode()


@pytest.mark.django_db
def test_the_review_page_marks_verified_evidence_only(
    assignment, student, educator, make_submission, scripted_model
):
    submission = make_submission(assignment, student, text=f"A base case stops it.\n{SCRIPT}")
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    CriterionResult.objects.filter(run=run).update(
        evidence=[
            {"quote": "base case", "verified": True},
            {"quote": "stops it", "verified": False},
        ]
    )

    content = client_for(educator).get(reverse("submission_review", args=[submission.pk]))
    html = content.content.decode()

    assert "<code>A <mark>base case</mark> stops it.</code>" in html
    assert "<code>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</code>" in html


def test_highlighting_escapes_the_submission_around_the_marks():
    lines = highlighted_lines(text=f"{SCRIPT} needs a base case", quotes=["base case"])
    assert lines == [
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; needs a <mark>base case</mark>"
    ]


def test_a_quote_of_markup_is_marked_and_still_escaped():
    lines = highlighted_lines(text=f"x {SCRIPT} y", quotes=[SCRIPT])
    assert lines == ["x <mark>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</mark> y"]


def test_overlapping_quotes_merge_into_one_mark():
    text = "the base case ends the recursion"
    assert evidence_spans(text=text, quotes=["the base case", "case ends"]) == [(0, 18)]
    assert highlighted_lines(text=text, quotes=["the base case", "case ends"]) == [
        "<mark>the base case ends</mark> the recursion"
    ]


def test_a_quote_across_lines_is_marked_on_each_line():
    text = "def f(n):\n    if n == 0:\n        return 1"
    # The model's quotes come back on one line; whitespace runs match the line breaks.
    lines = highlighted_lines(text=text, quotes=["def f(n): if n == 0:"])
    assert lines == ["<mark>def f(n):</mark>", "    <mark>if n == 0:</mark>", "        return 1"]


def test_quotes_match_ignoring_case_spacing_and_typographic_forms():
    text = "It’s the  BASE\tcase — always."
    lines = highlighted_lines(text=text, quotes=["it's the base case - always", "…always."])
    assert lines == ["<mark>It’s the  BASE\tcase — always.</mark>"]


def test_a_quote_not_in_the_text_marks_nothing():
    assert highlighted_lines(text="a <b> c", quotes=["missing", ""]) == ["a &lt;b&gt; c"]


def test_a_quote_of_the_neutralised_text_marks_the_original():
    # The model saw delimiter look-alikes through neutralise() as ‹ ›.
    assert highlighted_lines(text="see <think> here", quotes=["‹think›"]) == [
        "see <mark>&lt;think&gt;</mark> here"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "  plain ASCII,\tspaced  out\n\nover lines ",
        "Straße’s “ﬁne” café — ÉTÉ\u00a0and\u3000more",
        "ascii then ünïcödé then ascii again",
    ],
)
def test_the_searched_text_is_the_normalised_text_and_points_back_into_the_original(text):
    haystack, origins = _normalised_with_offsets(text)
    assert haystack.strip() == normalise(text)
    assert len(origins) == len(haystack)
    for char, origin in zip(haystack, origins, strict=True):
        # Each character comes from an original one that normalises to (or, when it expands
        # like ß or ﬁ, into) it; a space stands for a run of whitespace.
        source = text[origin]
        assert char == " " if source.isspace() else char in normalise(source)
