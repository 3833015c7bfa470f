"""Grade with a model behind an OpenAI-compatible server: vLLM, SGLang, Ollama, a hosted endpoint.

One streamed POST to {api_base}/v1/chat/completions per grading:
- `chat_template_kwargs.enable_thinking` switches Qwen3's thinking (vLLM, SGLang);
- `response_format` asks for the rubric's JSON schema as structured output (vLLM >= 0.6, SGLang
  and Ollama all honour the json_schema form, so vLLM's older `guided_json` is not sent);
- `max_tokens` is the thinking budget plus the answer's tokens: a server cannot close a thought at
  a budget, so the budget bounds the whole reply, and a thought still open when it runs out
  (finish_reason "length", no `</think>`) comes back as a truncated trace with no answer;
- the reasoning arrives in `reasoning_content` (vLLM's qwen3 parser, SGLang), `reasoning` (newer
  vLLM, Ollama), or as a `<think>` block inside `content` (a server without a reasoning parser).

The server checks the context itself (prompt plus max_tokens against its model length) and answers
HTTP 400 before generating; that answer becomes an input-too-long error. Connection failures,
timeouts, 408, 429 and 5xx are retried a few times, then raised as transient; other 4xx are
permanent. The API key is read from the environment variable the profile names, sent only in the
Authorization header, and scrubbed from every error message.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
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
from grading.llm.thinking import THINK_END, THINK_START, split_thinking
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

# Why the generation ended, in Generation.extra["thinking_stop"] (as in the transformers backend).
STOP_THINK_END = "think_end"
STOP_TRUNCATED = "truncated"
STOP_THINKING_OFF = "off"


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
        2. POST the streamed request, retrying transient failures before the reply starts.
        3. Collect reasoning and content from the stream, passing the trace to `on_trace`.
        4. Split trace and answer and tell a truncated trace from a cut-off answer.
        """
        settings = settings_for_family(request.settings, self.family)
        check_settings(settings)
        key = self._api_key()
        body = self._body(request, settings)
        started = time.monotonic()
        reply = _Reply(thinking=settings.enable_thinking)
        response = self._open(body, key)
        try:
            self._read_stream(response, reply, on_trace, started, key)
        finally:
            response.close()
        return self._generation(reply, settings)

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

    def _body(self, request: GenerationRequest, settings: GenerationSettings) -> dict[str, Any]:
        thinking_tokens = settings.thinking_budget if settings.enable_thinking else 0
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": list(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": thinking_tokens + settings.max_answer_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "min_p": settings.min_p,
            "presence_penalty": settings.presence_penalty,
            "repetition_penalty": settings.repetition_penalty,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": request.json_schema, "strict": True},
            },
        }
        if not has_reasoning_field(self.family):
            body["chat_template_kwargs"] = {"enable_thinking": settings.enable_thinking}
        if settings.seed is not None:
            body["seed"] = settings.seed
        return body

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
        trace, answer, stop = reply.split()
        truncated = stop == STOP_TRUNCATED
        usage = reply.usage
        completion = int(usage.get("completion_tokens") or 0)
        details = usage.get("completion_tokens_details") or {}
        reported = details.get("reasoning_tokens")
        if reported is not None:
            thinking_tokens, split = int(reported), "reported"
        else:
            # Servers seldom report reasoning tokens: share the completion by characters.
            total_chars = len(trace) + len(answer)
            thinking_tokens = round(completion * len(trace) / total_chars) if total_chars else 0
            split = "estimated"
        return Generation(
            trace=trace,
            answer=answer,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            thinking_tokens=thinking_tokens,
            answer_tokens=max(completion - thinking_tokens, 0),
            thinking_budget_reached=truncated,
            trace_truncated=truncated,
            answer_complete=not truncated and reply.finish_reason == FINISH_STOP,
            model_revision=self._revision(reply),
            extra={
                "thinking_stop": stop,
                "finish_reason": reply.finish_reason,
                "reasoning_from": reply.reasoning_field or "content",
                "token_split": split,
                "thinking": settings.enable_thinking,
            },
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
                return self.reasoning.strip(), "", STOP_TRUNCATED
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
            return _strip_think_start(self.content).strip(), "", STOP_TRUNCATED
        # A thinking request that came back without a thought (a server or template that does
        # not think): all of it is the answer.
        return "", _strip_think_start(self.content).strip(), STOP_THINKING_OFF


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


def _http_failure(error: urllib.error.HTTPError, key: str) -> BackendError:
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
        return BackendError(
            f"The model server refused the request (HTTP {status}): check the API key in the "
            f"environment variable the profile names. ({detail})",
            permanent=True,
        )
    if status == 400 and CONTEXT_ERROR.search(message):
        return BackendError(
            f"Submission too long for the model's context (the server said: {detail}). Shorten "
            f"the submission, lower the thinking budget or the answer tokens, or use a model with "
            f"a larger context.",
            permanent=True,
            input_too_long=True,
        )
    return BackendError(
        f"The model server answered HTTP {status}: {detail}",
        permanent=status not in TRANSIENT_STATUSES,
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
