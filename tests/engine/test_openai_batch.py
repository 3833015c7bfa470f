"""Batches on an OpenAI-compatible server (issue 9): requests go out together, errors stay apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from grading.llm.backends import openai_compat
from grading.llm.backends.base import BackendError
from grading.llm.schema import parse_answer
from grading.llm.types import Generation, GradingTask
from tests.engine.conftest import SMALL_LIMITS
from tests.engine.openai_server import TinyOpenAIServer
from tests.engine.test_openai_backend import RUBRIC, backend_for, request_for

pytestmark = pytest.mark.slow

TASK = GradingTask("Pets", "Argue for a pet.", "", RUBRIC, "Cats purr. Dogs bark at night.")
BATCH = 4


@pytest.fixture
def gathering(server: TinyOpenAIServer) -> Iterator[TinyOpenAIServer]:
    """The shared server, holding each request until BATCH are in flight (or its timeout)."""
    server.gather, server.peak_in_flight = BATCH, 0
    yield server
    server.gather, server.peak_in_flight = 0, 0


def test_a_batchs_requests_are_in_flight_together(gathering: TinyOpenAIServer) -> None:
    # Thinking off keeps the generations short; what matters is when the requests arrive.
    requests = [request_for(TASK, enable_thinking=False, seed=seed) for seed in range(BATCH)]

    results = backend_for(gathering.url).generate_batch(requests)

    # One by one, each request would wait for the others in vain and the peak would stay 1.
    assert gathering.peak_in_flight == BATCH
    assert [result.__class__ for result in results] == [Generation] * BATCH
    assert sorted(body["seed"] for body in gathering.requests) == list(range(BATCH))


def test_a_failing_request_does_not_fail_the_others(server: TinyOpenAIServer) -> None:
    requests = [
        request_for(TASK, enable_thinking=False, seed=1),
        request_for(TASK, thinking_budget=8000),  # beyond the server's context
        request_for(TASK, enable_thinking=False, seed=2),
    ]

    first, too_long, last = backend_for(server.url).generate_batch(requests)

    assert isinstance(too_long, BackendError) and too_long.input_too_long
    for result in (first, last):  # in the order of the requests
        assert isinstance(result, Generation)
        parse_answer(result.answer, RUBRIC, SMALL_LIMITS)


def test_each_trace_goes_to_its_own_callback_on_the_callers_thread(
    server: TinyOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_compat, "TRACE_FLUSH_SECONDS", 0)
    server.token_delay_seconds = 0.01  # several flushes per thought
    seen: dict[int, list[tuple[threading.Thread, str]]] = {0: [], 1: []}
    callbacks = [
        lambda trace: seen[0].append((threading.current_thread(), trace)),
        None,  # a request without a callback is fine beside ones with
        lambda trace: seen[1].append((threading.current_thread(), trace)),
    ]
    requests = [request_for(TASK, seed=seed) for seed in (3, 4, 5)]

    results = backend_for(server.url).generate_batch(requests, on_trace=callbacks)

    for index, result in ((0, results[0]), (1, results[2])):
        assert isinstance(result, Generation)
        assert seen[index], "every request with a callback streams its trace"
        # Database writes in a callback must use the caller's connection, so its thread.
        assert {thread for thread, _ in seen[index]} == {threading.current_thread()}
        assert result.trace.startswith(seen[index][-1][1].strip())


def test_a_batch_needs_one_callback_per_request(server: TinyOpenAIServer) -> None:
    with pytest.raises(ValueError, match="2 requests but 1 trace callbacks"):
        backend_for(server.url).generate_batch([request_for(TASK)] * 2, on_trace=[None])
