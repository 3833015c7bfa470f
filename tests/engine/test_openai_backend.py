"""The OpenAI-compatible backend over real HTTP on loopback, against a server serving a tiny Qwen3.

The server (tests/engine/openai_server.py) follows vLLM's protocol; see its docstring for why it
is not `transformers serve`. The thinking budget (a second request that closes the thought) and
batches have their own files: test_openai_thinking_budget.py and test_openai_batch.py.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grading.llm.backends import get_backend, openai_compat
from grading.llm.backends.base import BackendError
from grading.llm.backends.openai_compat import OpenAICompatBackend
from grading.llm.families import Family
from grading.llm.prompt import build_messages, prompt_parts
from grading.llm.schema import answer_schema, parse_answer
from grading.llm.types import (
    Criterion,
    GenerationRequest,
    GenerationSettings,
    GradingTask,
    Level,
    ModelSpec,
    Rubric,
)
from tests.engine.conftest import SMALL_LIMITS
from tests.engine.openai_server import TinyOpenAIServer

pytestmark = pytest.mark.slow

SERVED = "tiny-qwen3"
KEY_VARIABLE = "AAIE_TEST_MODEL_KEY"
SECRET = "sk-test-very-secret-0123456789"


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_compat, "BACKOFF_SECONDS", 0.0)


LEVELS = (Level("Good", 2, "Clear."), Level("Poor", 0, "Unclear."))
RUBRIC = Rubric(
    title="Short essay",
    criteria=tuple(Criterion(f"C{n}", f"Criterion {n}", "", 2, LEVELS) for n in (1, 2)),
)


@pytest.fixture
def task() -> GradingTask:
    return GradingTask("Pets", "Argue for a pet.", "", RUBRIC, "Cats purr. Dogs bark at night.")


def backend_for(url: str, **spec: object) -> OpenAICompatBackend:
    backend = get_backend(ModelSpec(backend="openai", model=SERVED, api_base=url, **spec))
    assert isinstance(backend, OpenAICompatBackend)
    return backend


def request_for(task: GradingTask, **settings: object) -> GenerationRequest:
    values: dict[str, object] = {"thinking_budget": 200, "max_answer_tokens": 400, "seed": 3}
    return GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric, SMALL_LIMITS),
        settings=GenerationSettings(**(values | settings)),
    )


def test_it_asks_for_thinking_and_the_rubrics_schema_and_splits_the_reasoning(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    generation = backend_for(server.url).generate(request_for(task))

    body = server.requests[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == answer_schema(
        task.rubric, SMALL_LIMITS
    )
    assert body["max_tokens"] == 200  # the budget bounds the first request's reply
    assert "continue_final_message" not in body
    assert (body["temperature"], body["top_p"], body["top_k"], body["min_p"]) == (
        0.6,
        0.95,
        20,
        0.0,
    )
    assert body["seed"] == 3 and body["stream"] is True
    # This thought and its answer fit in the budget: one request was enough.
    assert len(server.requests) == 1 and generation.extra["requests"] == 1
    assert generation.extra["reasoning_from"] == "reasoning_content"
    assert generation.extra["thinking_stop"] == "think_end"
    assert generation.trace and "</think>" not in generation.trace
    assert not generation.trace_truncated and generation.answer_complete
    parse_answer(generation.answer, task.rubric, SMALL_LIMITS)
    assert generation.prompt_tokens > 0 and generation.thinking_tokens > 0
    assert generation.model_revision == SERVED


def test_thinking_off_is_passed_to_the_chat_template_with_non_thinking_sampling(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    generation = backend_for(server.url).generate(request_for(task, enable_thinking=False))

    body = server.requests[-1]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["max_tokens"] == 400
    assert (body["temperature"], body["top_p"]) == (0.7, 0.8)
    assert generation.trace == "", generation.extra
    assert generation.thinking_tokens == 0
    parse_answer(generation.answer, task.rubric, SMALL_LIMITS)


@pytest.mark.parametrize("reasoning_field", ["reasoning", None])
def test_reasoning_is_read_from_reasoning_or_a_think_block(
    closing_model_dir: Path, task: GradingTask, reasoning_field: str | None
) -> None:
    other = TinyOpenAIServer(closing_model_dir, reasoning_field=reasoning_field).start()
    try:
        generation = backend_for(other.url).generate(request_for(task))
    finally:
        other.stop()

    assert generation.extra["reasoning_from"] == (reasoning_field or "content")
    assert generation.trace and "<think>" not in generation.trace
    parse_answer(generation.answer, task.rubric, SMALL_LIMITS)


def test_the_trace_streams_while_the_server_generates(
    server: TinyOpenAIServer, task: GradingTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_compat, "TRACE_FLUSH_SECONDS", 0)
    traces: list[str] = []

    generation = backend_for(server.url).generate(request_for(task), on_trace=traces.append)

    assert len(traces) > 1
    assert all(
        later.startswith(earlier) for earlier, later in zip(traces, traces[1:], strict=False)
    )
    assert generation.trace.startswith(traces[-1].strip())


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_http_errors_are_retried(
    server: TinyOpenAIServer, task: GradingTask, status: int
) -> None:
    server.fail_next(status, "Busy, try again.", times=openai_compat.ATTEMPTS - 1)

    generation = backend_for(server.url).generate(request_for(task, enable_thinking=False))

    assert len(server.requests) == openai_compat.ATTEMPTS
    parse_answer(generation.answer, task.rubric, SMALL_LIMITS)


def test_a_server_that_stays_busy_is_a_transient_error(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    server.fail_next(429, "Rate limited.", times=openai_compat.ATTEMPTS, retry_after="0")

    with pytest.raises(BackendError) as caught:
        backend_for(server.url).generate(request_for(task))

    assert not caught.value.permanent
    assert "HTTP 429" in str(caught.value) and "Rate limited." in str(caught.value)
    assert len(server.requests) == openai_compat.ATTEMPTS


def test_a_bad_request_is_permanent_and_not_retried(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    server.fail_next(400, "response_format is not supported.")

    with pytest.raises(BackendError) as caught:
        backend_for(server.url).generate(request_for(task))

    assert caught.value.permanent and not caught.value.input_too_long
    assert "HTTP 400: response_format is not supported." in str(caught.value)
    assert len(server.requests) == 1


def test_an_unknown_served_model_is_permanent(server: TinyOpenAIServer, task: GradingTask) -> None:
    backend = get_backend(ModelSpec(backend="openai", model="no-such-model", api_base=server.url))

    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task))

    assert caught.value.permanent
    assert "HTTP 404" in str(caught.value) and "no-such-model" in str(caught.value)


def test_input_beyond_the_servers_context_is_input_too_long(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    with pytest.raises(BackendError) as caught:
        backend_for(server.url).generate(request_for(task, thinking_budget=8000))

    error = caught.value
    assert error.permanent and error.input_too_long
    assert str(error).startswith("Too long for the model's context")
    assert "maximum context length is 4096 tokens" in str(error)


def test_a_prompt_beyond_the_servers_context_names_its_largest_part(
    server: TinyOpenAIServer, task: GradingTask
) -> None:
    essay = "Cats purr. " * 2000  # about 6,000 tokens; the server's context is 4,096
    long_task = replace(task, submission_text=essay)
    request = replace(request_for(long_task), prompt_parts=prompt_parts(long_task))

    with pytest.raises(BackendError) as caught:
        backend_for(server.url).generate(request)

    message = str(caught.value)
    assert caught.value.input_too_long
    # Without the server's tokenizer, the parts are measured in characters.
    submission = len(essay.strip())
    assert f"The submission takes {submission:,} characters of the prompt" in message
    assert "shorten the submission" in message
    assert "lower the thinking budget" in message


def test_the_api_key_is_sent_but_never_shown(
    server: TinyOpenAIServer,
    task: GradingTask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, SECRET)
    server.api_key = SECRET
    backend = backend_for(server.url, api_key_env=KEY_VARIABLE)

    backend.generate(request_for(task, enable_thinking=False))
    assert server.headers[-1]["Authorization"] == f"Bearer {SECRET}"

    # A server that echoes the key in its errors: retried, logged, raised, and never shown.
    server.fail_next(500, f"upstream rejected key {SECRET}", times=openai_compat.ATTEMPTS)
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as caught:
        backend.generate(request_for(task))
    assert SECRET not in str(caught.value)
    assert "[redacted]" in str(caught.value)
    assert caplog.records and SECRET not in caplog.text

    server.api_key = "another-key"
    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task))
    assert caught.value.permanent and "HTTP 401" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_missing_key_variable_is_a_permanent_error(task: GradingTask) -> None:
    backend = backend_for("http://127.0.0.1:9", api_key_env="AAIE_TEST_UNSET_KEY_VARIABLE")

    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task))

    assert caught.value.permanent
    assert "AAIE_TEST_UNSET_KEY_VARIABLE" in str(caught.value)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket closes


def test_an_unreachable_server_is_a_transient_error(task: GradingTask, closed_port: int) -> None:
    with pytest.raises(BackendError) as caught:
        backend_for(f"http://127.0.0.1:{closed_port}").generate(request_for(task))

    assert not caught.value.permanent
    assert "Could not reach the model server" in str(caught.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_server_that_never_answers_times_out_as_transient(
    task: GradingTask, silent_server: str
) -> None:
    backend = backend_for(silent_server, request_timeout_seconds=0.2)

    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task))

    assert not caught.value.permanent
    assert "timed out" in str(caught.value)


def test_a_bad_api_base_is_refused_at_once() -> None:
    with pytest.raises(BackendError) as caught:
        get_backend(ModelSpec(backend="openai", model=SERVED, api_base="vllm:8000"))

    assert caught.value.permanent and "http(s) URL" in str(caught.value)


def test_the_family_is_guessed_from_the_served_name() -> None:
    spec = ModelSpec(backend="openai", model="Qwen/Qwen2.5-7B-Instruct", api_base="http://x")

    assert get_backend(spec).family is Family.QWEN25
