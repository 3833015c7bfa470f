"""Grade with a model behind an OpenAI-compatible server: vLLM, SGLang, Ollama, a hosted endpoint.

Each grading is one streamed POST to {api_base}/v1/chat/completions, and a second one when the
thinking budget runs out:
- `chat_template_kwargs.enable_thinking` switches Qwen3's thinking (vLLM, SGLang);
- `response_format` asks for the rubric's JSON schema as structured output (vLLM >= 0.6, SGLang
  and Ollama all honour the json_schema form, so vLLM's older `guided_json` is not sent);
- the reasoning arrives in `reasoning_content` (vLLM's qwen3 parser, SGLang), `reasoning` (newer
  vLLM, Ollama), or as a `<think>` block inside `content` (a server without a reasoning parser).

The thinking budget. A server cannot stop a thought at a number of tokens, only the whole reply,
so the budget is kept in two requests, each with its own bound:
1. The first request's `max_tokens` is the thinking budget. A thought that ends early enough is
   answered in the same reply, and then one request was all it took.
2. If the budget ran out first, the second request continues the assistant turn from a closed
   thought and writes the answer alone, with `max_tokens` = max_answer_tokens. The thought is
   closed the way Qwen documents for a budget (thinking.EARLY_STOP_TEXT: the early-stop sentence,
   then `</think>`), or, when the model closed it itself and only the answer was cut, with the
   model's own `</think>`; the partial answer is dropped and written again whole.
So the reasoning never gets more than the budget and a long thought never eats into the answer's
tokens, as in the transformers backend (a single request of budget + answer tokens would allow
both). An answer written within the first reply is bounded by what the thought left of the budget,
so with a budget above max_answer_tokens it may run longer than that; the reply stays in budget.
The continuation uses vLLM's extra fields `continue_final_message: true` and
`add_generation_prompt: false`: the last message is the assistant's "<think>\n…\n</think>\n\n",
which Qwen3's chat template renders back verbatim, so the prompt ends right after the closed
thought. Recent vLLM sees the reasoning end in the prompt, so it applies the schema from the first
token and streams the answer as content (an older one may label it reasoning; either field is read
as the answer). A server that refuses these fields (HTTP 400 or 422) leaves the thought cut off, as
before: the Generation is `trace_truncated` and says why in `extra["continuation_error"]`.

The server checks the context itself (prompt plus max_tokens against its model length) and answers
HTTP 400 before generating; that answer becomes an input-too-long error (for a prompt that fits
with the budget but not with the answer after it, at the second request). Connection failures,
timeouts, 408, 429 and 5xx are retried a few times, then raised as transient; other 4xx are
permanent. The API key is read from the environment variable the profile names, sent only in the
Authorization header, and scrubbed from every error message.

A batch (generate_batch) sends its requests at once, one thread each: a server like vLLM batches
concurrent requests itself. Trace callbacks still run on the caller's thread.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import queue
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from grading.llm.backends.base import (
    TRACE_FLUSH_SECONDS,
    BackendError,
    GradingBackend,
    TraceCallback,
    check_settings,
)
from grading.llm.families import Family, family_from_name, has_reasoning_field, settings_for_family
from grading.llm.prompt import overflow_advice
from grading.llm.thinking import EARLY_STOP_SENTENCE, THINK_END, THINK_START, split_thinking
from grading.llm.types import Generation, GenerationRequest, GenerationSettings, ModelSpec

logger = logging.getLogger(__name__)

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
URL_SCHEMES = ("http", "https")
SCHEMA_NAME = "grade"

# Retries inside one grading call, for blips; the Celery task retries longer outages.
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0  # doubled after each failed attempt
MAX_RETRY_AFTER_SECONDS = 30.0  # a server's Retry-After is honoured up to this
TRANSIENT_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
# How a server says it does not take a request's fields: OpenAI's and vLLM's 400, FastAPI's 422.
REFUSED_STATUSES = frozenset({400, 422})
ERROR_DETAIL_CHARS = 500
REDACTED = "[redacted]"

FINISH_LENGTH = "length"
FINISH_STOP = "stop"
REASONING_FIELDS = ("reasoning_content", "reasoning")
# How servers word "the prompt and max_tokens do not fit the model's context".
CONTEXT_ERROR = re.compile(
    r"context length|context window|maximum context|max_model_len|too many tokens|"
    r"prompt is too long|input is too long",
    re.IGNORECASE,
)

# Why the thought ended, in Generation.extra["thinking_stop"] (as in the transformers backend).
STOP_THINK_END = "think_end"
STOP_BUDGET = "budget"  # the first request's max_tokens ran out inside the thought
STOP_THINKING_OFF = "off"

# How often a batch looks for trace updates from its requests' threads.
BATCH_POLL_SECONDS = 0.05


class _HTTPFailure(BackendError):
    """A BackendError for an HTTP error answer, which keeps the status the server sent."""

    def __init__(
        self, message: str, *, status: int, permanent: bool, input_too_long: bool = False
    ) -> None:
        super().__init__(message, permanent=permanent, input_too_long=input_too_long)
        self.status = status


class OpenAICompatBackend(GradingBackend):
    """Talks to one server; holds no connection between calls."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        url = urlsplit(spec.api_base)
        if url.scheme not in URL_SCHEMES or not url.netloc:
            raise BackendError(
                f"The OpenAI-compatible backend needs the server's address as an http(s) URL in "
                f"the profile's API base (got {spec.api_base!r}), e.g. http://vllm:8000.",
                permanent=True,
            )
        base = spec.api_base.rstrip("/")
        # Accept both "http://host:8000" and "http://host:8000/v1".
        base = base.removesuffix("/v1")
        self.url = base + CHAT_COMPLETIONS_PATH
        if spec.request_timeout_seconds <= 0:
            raise BackendError("The request timeout must be above 0 seconds.", permanent=True)

    @property
    def family(self) -> Family:
        return family_from_name(self.spec.model)

    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        """Grade one request.

        1. Apply the family's thinking rule and check the settings.
        2. First request: think within the budget (and answer, if the thought ends in time),
           passing the trace to `on_trace` as it streams.
        3. If the budget ran out before a whole answer, a second request closes the thought and
           writes the answer (see the module docstring).
        """
        settings = settings_for_family(request.settings, self.family)
        check_settings(settings)
        key = self._api_key()
        thinking_tokens = settings.thinking_budget if settings.enable_thinking else 0
        max_tokens = thinking_tokens or settings.max_answer_tokens
        body = self._body(request.messages, request.json_schema, settings, max_tokens)
        try:
            first = self._complete(body, key, on_trace, thinking=settings.enable_thinking)
            stop = first.split()[2]
            if first.finish_reason == FINISH_LENGTH and stop in (STOP_BUDGET, STOP_THINK_END):
                return self._answer_after_thought(request, settings, first, key)
        except _HTTPFailure as error:
            raise _with_overflow_advice(error, request) from error
        return self._generation(first, settings)

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_trace: Sequence[TraceCallback | None] | None = None,
    ) -> list[Generation | BackendError]:
        """Send all requests at once; item i is request i's Generation or its BackendError.

        One thread per request (the server batches what is in flight together). Each request's
        trace goes to its own callback, called on this thread, as `generate` does: a callback
        that writes to the database uses this thread's connection.
        """
        callbacks = list(on_trace) if on_trace is not None else [None] * len(requests)
        if len(callbacks) != len(requests):
            raise ValueError(f"{len(requests)} requests but {len(callbacks)} trace callbacks.")
        if not requests:
            return []
        traces: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            futures = [
                pool.submit(
                    self._generate_or_error,
                    request,
                    _forward_to(traces, index) if callbacks[index] else None,
                )
                for index, request in enumerate(requests)
            ]
            # A request puts its traces before it finishes, so when all are done and the queue
            # is empty, every trace has been handed on.
            while not all(future.done() for future in futures) or not traces.empty():
                try:
                    index, trace = traces.get(timeout=BATCH_POLL_SECONDS)
                except queue.Empty:
                    continue
                callback = callbacks[index]
                assert callback is not None  # only requests with a callback forward traces
                callback(trace)
        return [future.result() for future in futures]

    def _generate_or_error(
        self, request: GenerationRequest, on_trace: TraceCallback | None
    ) -> Generation | BackendError:
        try:
            return self.generate(request, on_trace=on_trace)
        except BackendError as error:
            return error

    def _api_key(self) -> str:
        name = self.spec.api_key_env
        if not name:
            return ""
        key = os.environ.get(name, "")
        if not key:
            raise BackendError(
                f"The environment variable {name} that should hold the server's API key is not "
                f"set or empty; set it for the worker processes.",
                permanent=True,
            )
        return key

    def _body(
        self,
        messages: Sequence[dict[str, str]],
        json_schema: dict[str, Any],
        settings: GenerationSettings,
        max_tokens: int,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "min_p": settings.min_p,
            "presence_penalty": settings.presence_penalty,
            "repetition_penalty": settings.repetition_penalty,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": json_schema, "strict": True},
            },
        }
        if not has_reasoning_field(self.family):
            body["chat_template_kwargs"] = {"enable_thinking": settings.enable_thinking}
        if settings.seed is not None:
            body["seed"] = settings.seed
        return body

    def _continuation_body(
        self, request: GenerationRequest, settings: GenerationSettings, trace: str
    ) -> dict[str, Any]:
        """The second request: the assistant turn so far is the closed thought; answer only."""
        closed_thought = {
            "role": "assistant",
            "content": f"{THINK_START}\n{trace}\n{THINK_END}\n\n",
        }
        messages = [*request.messages, closed_thought]
        body = self._body(messages, request.json_schema, settings, settings.max_answer_tokens)
        # vLLM's extra fields; it refuses continue_final_message with a generation prompt.
        body["continue_final_message"] = True
        body["add_generation_prompt"] = False
        return body

    def _answer_after_thought(
        self,
        request: GenerationRequest,
        settings: GenerationSettings,
        first: _Reply,
        key: str,
    ) -> Generation:
        """Close the first reply's thought and ask for the answer in a second request."""
        trace, _, stop = first.split()
        if stop == STOP_BUDGET:
            # Keep the sentence in the trace so a reader sees where the thought was cut.
            trace = "\n\n".join(part for part in (trace, EARLY_STOP_SENTENCE) if part)
        body = self._continuation_body(request, settings, trace)
        try:
            second = self._complete(body, key, None, thinking=False)
        except _HTTPFailure as error:
            if error.status not in REFUSED_STATUSES or error.input_too_long:
                raise
            return self._without_continuation(first, settings, error)
        thinking_tokens, split = _thinking_tokens(first)
        return Generation(
            trace=trace,
            # The thought was closed in the prompt, so all the reply is the answer, whichever
            # field a server's reasoning parser put it in.
            answer=(second.reasoning + second.content).strip(),
            prompt_tokens=_usage(first, "prompt_tokens"),
            thinking_tokens=thinking_tokens,
            answer_tokens=_usage(second, "completion_tokens"),
            thinking_budget_reached=stop == STOP_BUDGET,
            answer_complete=second.finish_reason == FINISH_STOP,
            model_revision=self._revision(second),
            extra=_extra(
                stop=stop, answered_by=second, thought_in=first, split=split, settings=settings
            ),
        )

    def _without_continuation(
        self, first: _Reply, settings: GenerationSettings, error: _HTTPFailure
    ) -> Generation:
        """The first reply alone, cut off, with why the thought could not be closed."""
        message = (
            f"Could not close the thought at the thinking budget: {error.message}. Closing it on "
            f"a server needs vLLM's continue_final_message and add_generation_prompt fields; "
            f"raise the profile's thinking budget or serve the model with vLLM."
        )
        logger.warning(message)
        generation = self._generation(first, settings)
        extra = {**generation.extra, "requests": 2, "continuation_error": message}
        return replace(generation, extra=extra)

    def _complete(
        self,
        body: dict[str, Any],
        key: str,
        on_trace: TraceCallback | None,
        *,
        thinking: bool,
    ) -> _Reply:
        """POST `body` and read the whole streamed reply."""
        started = time.monotonic()
        reply = _Reply(thinking=thinking)
        response = self._open(body, key)
        try:
            self._read_stream(response, reply, on_trace, started, key)
        finally:
            response.close()
        return reply

    def _open(self, body: dict[str, Any], key: str) -> http.client.HTTPResponse:
        """POST `body`; retry transient failures ATTEMPTS times, then raise BackendError."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        delay = BACKOFF_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            http_request = urllib.request.Request(self.url, data=data, headers=headers)
            try:
                return urllib.request.urlopen(  # noqa: S310 - the scheme is checked in __init__
                    http_request, timeout=self.spec.request_timeout_seconds
                )
            except urllib.error.HTTPError as error:
                failure = _http_failure(error, key)
                retry_after = _retry_after(error)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                failure = BackendError(
                    f"Could not reach the model server at {self.url}: {_describe(error, key)}",
                    permanent=False,
                )
                retry_after = None
            if failure.permanent or attempt == ATTEMPTS:
                raise failure
            wait = delay if retry_after is None else min(retry_after, MAX_RETRY_AFTER_SECONDS)
            logger.warning(
                "Model server attempt %s of %s failed (%s); retrying in %.1f s.",
                attempt,
                ATTEMPTS,
                failure.message,
                wait,
            )
            time.sleep(wait)
            delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def _read_stream(
        self,
        response: http.client.HTTPResponse,
        reply: _Reply,
        on_trace: TraceCallback | None,
        started: float,
        key: str,
    ) -> None:
        deadline = started + self.spec.request_timeout_seconds
        last_flush = time.monotonic()
        flushed = ""
        try:
            for raw_line in response:
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"The model server took longer than {self.spec.request_timeout_seconds:g} "
                        f"seconds; the request was abandoned.",
                        permanent=False,
                    )
                line = raw_line.decode("utf-8", errors="replace").strip()
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, event names
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    break
                reply.add(_load_chunk(payload, key))
                now = time.monotonic()
                trace = reply.live_trace()
                if on_trace and trace != flushed and now - last_flush >= TRACE_FLUSH_SECONDS:
                    on_trace(trace)
                    flushed, last_flush = trace, now
        except (OSError, http.client.HTTPException) as error:
            raise BackendError(
                f"The connection to the model server broke mid-reply: {_describe(error, key)}",
                permanent=False,
            ) from error

    def _generation(self, reply: _Reply, settings: GenerationSettings) -> Generation:
        """One reply as the whole Generation; a thought still open in it is a cut-off trace."""
        trace, answer, stop = reply.split()
        truncated = stop == STOP_BUDGET
        thinking_tokens, split = _thinking_tokens(reply)
        return Generation(
            trace=trace,
            answer=answer,
            prompt_tokens=_usage(reply, "prompt_tokens"),
            thinking_tokens=thinking_tokens,
            answer_tokens=max(_usage(reply, "completion_tokens") - thinking_tokens, 0),
            thinking_budget_reached=truncated,
            trace_truncated=truncated,
            answer_complete=not truncated and reply.finish_reason == FINISH_STOP,
            model_revision=self._revision(reply),
            extra=_extra(
                stop=stop, answered_by=reply, thought_in=reply, split=split, settings=settings
            ),
        )

    def _revision(self, reply: _Reply) -> str:
        served = reply.model or self.spec.model
        revision = self.spec.revision or reply.fingerprint
        return f"{served}@{revision}" if revision else served


@dataclass
class _Reply:
    """What the stream delivered so far."""

    thinking: bool
    reasoning: str = ""
    content: str = ""
    reasoning_field: str = ""  # which field carried the reasoning, if any
    finish_reason: str = ""
    model: str = ""
    fingerprint: str = ""
    usage: dict[str, Any] = field(default_factory=dict)

    def add(self, chunk: dict[str, Any]) -> None:
        self.model = str(chunk.get("model") or self.model)
        self.fingerprint = str(chunk.get("system_fingerprint") or self.fingerprint)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            for name in REASONING_FIELDS:
                if isinstance(delta.get(name), str) and delta[name]:
                    self.reasoning += delta[name]
                    self.reasoning_field = name
            if isinstance(delta.get("content"), str):
                self.content += delta["content"]
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def live_trace(self) -> str:
        if self.reasoning_field:
            return self.reasoning
        if self.thinking and THINK_END not in self.content:
            return _strip_think_start(self.content)
        return ""

    def split(self) -> tuple[str, str, str]:
        """(trace, answer, why the thought stopped)."""
        if self.reasoning_field:
            # A parser split the reply: reasoning with no content after a "length" stop means
            # the thought was still open when the tokens ran out.
            if self.finish_reason == FINISH_LENGTH and not self.content.strip():
                return self.reasoning.strip(), "", STOP_BUDGET
            return self.reasoning.strip(), self.content.strip(), STOP_THINK_END
        if not self.thinking:
            # An answer's strings may hold the text "</think>"; only a leading (empty) think
            # block, as some templates write with thinking off, is not part of the answer.
            if self.content.lstrip().startswith(THINK_START):
                return "", split_thinking(self.content)[1].strip(), STOP_THINKING_OFF
            return "", self.content.strip(), STOP_THINKING_OFF
        if THINK_END in self.content:
            trace, answer = split_thinking(self.content)
            return trace.strip(), answer.strip(), STOP_THINK_END
        opened = self.content.lstrip().startswith(THINK_START)
        looks_like_answer = self.content.lstrip().startswith("{")
        if self.finish_reason == FINISH_LENGTH and (opened or not looks_like_answer):
            return _strip_think_start(self.content).strip(), "", STOP_BUDGET
        # A thinking request that came back without a thought (a server or template that does
        # not think): all of it is the answer.
        return "", _strip_think_start(self.content).strip(), STOP_THINKING_OFF


def _thinking_tokens(reply: _Reply) -> tuple[int, str]:
    """The reply's reasoning tokens, and whether the server reported them or they are estimated."""
    details = reply.usage.get("completion_tokens_details") or {}
    reported = details.get("reasoning_tokens")
    if reported is not None:
        return int(reported), "reported"
    # Servers seldom report reasoning tokens: share the completion by characters.
    trace, answer, _ = reply.split()
    total_chars = len(trace) + len(answer)
    completion = _usage(reply, "completion_tokens")
    return (round(completion * len(trace) / total_chars) if total_chars else 0), "estimated"


def _extra(
    *, stop: str, answered_by: _Reply, thought_in: _Reply, split: str, settings: GenerationSettings
) -> dict[str, object]:
    """Generation.extra: how the thought ended, how the answer ended, where each came from, and
    how many requests it took (two when the thought was closed by a continuation)."""
    return {
        "thinking_stop": stop,
        "finish_reason": answered_by.finish_reason,
        "reasoning_from": thought_in.reasoning_field or "content",
        "token_split": split,
        "thinking": settings.enable_thinking,
        "requests": 1 if answered_by is thought_in else 2,
    }


def _usage(reply: _Reply, name: str) -> int:
    return int(reply.usage.get(name) or 0)


def _forward_to(traces: queue.SimpleQueue[tuple[int, str]], index: int) -> TraceCallback:
    """A trace callback that hands request `index`'s trace to the batch's thread."""

    def forward(trace: str) -> None:
        traces.put((index, trace))

    return forward


def _strip_think_start(text: str) -> str:
    stripped = text.lstrip()
    return stripped[len(THINK_START) :].lstrip("\n") if stripped.startswith(THINK_START) else text


def _load_chunk(payload: str, key: str) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except json.JSONDecodeError as error:
        raise BackendError(
            f"The model server sent a malformed stream chunk: {_redact(payload, key)[:200]!r}",
            permanent=False,
        ) from error
    if not isinstance(chunk, dict):
        raise BackendError(
            "The model server sent a stream chunk that is not an object.", permanent=False
        )
    if "error" in chunk:
        # vLLM reports failures after the stream started as an error chunk.
        message, code = _error_message(chunk), _error_code(chunk)
        raise BackendError(
            f"The model server failed mid-reply: {_redact(message, key)}",
            permanent=code is not None and code < 500 and code not in TRANSIENT_STATUSES,
        )
    return chunk


def _http_failure(error: urllib.error.HTTPError, key: str) -> _HTTPFailure:
    try:
        raw = error.read().decode("utf-8", errors="replace")
    except OSError:
        raw = ""
    try:
        message = _error_message(json.loads(raw))
    except (json.JSONDecodeError, AttributeError):
        message = raw
    detail = _redact(message.strip() or str(error.reason), key)[:ERROR_DETAIL_CHARS]
    status = error.code
    if status in (401, 403):
        return _HTTPFailure(
            f"The model server refused the request (HTTP {status}): check the API key in the "
            f"environment variable the profile names. ({detail})",
            status=status,
            permanent=True,
        )
    if status == 400 and CONTEXT_ERROR.search(message):
        return _HTTPFailure(
            f"Too long for the model's context (the server said: {detail}).",
            status=status,
            permanent=True,
            input_too_long=True,
        )
    return _HTTPFailure(
        f"The model server answered HTTP {status}: {detail}",
        status=status,
        permanent=status not in TRANSIENT_STATUSES,
    )


def _with_overflow_advice(error: _HTTPFailure, request: GenerationRequest) -> _HTTPFailure:
    """An input-too-long failure that says which part of the prompt is large and what to do;
    any other failure as it was. Without the server's tokenizer, parts are sized in characters."""
    if not error.input_too_long:
        return error
    sizes = [(name, len(text)) for name, text in request.prompt_parts]
    return _HTTPFailure(
        f"{error.message} {overflow_advice(sizes, 'characters')}; or lower the thinking budget "
        f"or the profile's maximum answer tokens, or use a model with a larger context.",
        status=error.status,
        permanent=error.permanent,
        input_too_long=True,
    )


def _error_message(data: Any) -> str:
    """The message of the error shapes servers use: OpenAI's, FastAPI's, and a bare one."""
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("detail") or inner)
        if "detail" in data:
            return str(data["detail"])
        return str(inner)
    return str(data)


def _error_code(chunk: dict[str, Any]) -> int | None:
    inner = chunk.get("error")
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, int) else None


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _describe(error: BaseException, key: str) -> str:
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason if isinstance(error.reason, BaseException) else error
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    return _redact(f"{type(error).__name__}: {error}", key)[:ERROR_DETAIL_CHARS]


def _redact(text: str, key: str) -> str:
    return text.replace(key, REDACTED) if key else text
