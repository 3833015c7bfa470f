"""A small OpenAI-compatible chat server that serves a tiny Qwen model through transformers.

Why not `transformers serve`: in transformers 5.23 it refuses `response_format` and
`presence_penalty` (both are in its UNUSED_CHAT_COMPLETION_FIELDS, answered with an error), so it
cannot serve structured output, and it needs fastapi, uvicorn, openai and accelerate besides. This
server follows the parts of the protocol vLLM implements for Qwen3 (`--reasoning-parser qwen3`):

- POST /v1/chat/completions, `stream` true (server-sent events ending in `data: [DONE]`) or false;
- the chat template renders the messages with `chat_template_kwargs` (enable_thinking) and vLLM's
  `add_generation_prompt` (default true) and `continue_final_message` (default false; both true is
  a 400, as in vLLM): with continue_final_message the reply continues the last (assistant) message
  as rendered by the real template. A prompt that ends in an open thought goes on thinking; one
  whose thought is closed goes straight to the answer, under the schema and as `content`, as
  vLLM does when its reasoning parser finds the reasoning end in the prompt;
- sampling: temperature (0 = greedy), top_p, top_k, min_p, repetition_penalty, seed;
  `max_tokens` bounds the whole completion, thinking included;
- the reasoning goes to `reasoning_content` (vLLM <= 0.10), `reasoning` (newer vLLM, Ollama), or
  stays in `content` as a `<think>` block (no reasoning parser), as the server is configured;
- `response_format` json_schema constrains the answer after the thought (xgrammar), as vLLM does
  with a reasoning parser;
- finish_reason "length" when max_tokens runs out, "stop" otherwise; usage in a last chunk when
  `stream_options.include_usage` is set;
- errors in OpenAI's shape: 400 for a prompt plus max_tokens beyond the context (vLLM's wording),
  401 for a wrong key, 404 for an unknown model, and any status queued with `fail_next`;
  `refuses_continuation` makes it answer continue_final_message with a 400, as servers without
  the field do.

For assertions it keeps every request body, its headers and its rendered prompt, and counts the
requests in flight (`peak_in_flight`); `gather = n` holds each request until n are in flight (or
GATHER_TIMEOUT_SECONDS pass), so a test can see whether a client sends requests together. Requests
are received concurrently but generated one at a time, like one GPU.

A tiny random model never writes "<think>" by itself, so with thinking on the server writes it for
the model (counted as generated text), as a real Qwen3 would.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import torch
import xgrammar as xgr
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.streamers import BaseStreamer
from xgrammar.contrib.hf import LogitsProcessor as GrammarLogitsProcessor

THINK_START = "<think>\n"
THINK_END_TEXT = "</think>\n\n"
THINK_END_ID = 151668
IM_END_ID = 151645
MAX_MODEL_LEN = 4096  # the context this server claims, like vLLM's --max-model-len
ASSISTANT_TURN = "<|im_start|>assistant\n"
GATHER_TIMEOUT_SECONDS = 10.0


@dataclass
class Failure:
    status: int
    message: str
    retry_after: str | None = None


class TinyOpenAIServer:
    """Start with `start()`, stop with `stop()`; `url` is the API base to configure."""

    def __init__(
        self,
        model_dir: Path,
        *,
        served_name: str = "tiny-qwen3",
        reasoning_field: str | None = "reasoning_content",
        api_key: str | None = None,
    ) -> None:
        self.served_name = served_name
        self.reasoning_field = reasoning_field
        self.api_key = api_key
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.model.config.vocab_size
        )
        self.compiler = xgr.GrammarCompiler(info)
        self.requests: list[dict[str, Any]] = []  # every body received, for assertions
        self.headers: list[dict[str, str]] = []
        self.prompts: list[str] = []  # every prompt the chat template rendered
        self.failures: deque[Failure] = deque()
        self.token_delay_seconds = 0.0  # slows generation down, to watch a trace stream
        self.refuses_continuation = False
        self.gather = 0
        self.peak_in_flight = 0
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._lock = threading.Lock()  # one generation at a time, like one GPU
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, message: str, *, times: int = 1, retry_after=None) -> None:
        for _ in range(times):
            self.failures.append(Failure(status, message, retry_after))

    def enter(self) -> None:
        """Count a request in; with `gather` set, wait until that many are in flight."""
        with self._in_flight_changed:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._in_flight_changed.notify_all()
            self._in_flight_changed.wait_for(
                lambda: self._in_flight >= self.gather, timeout=GATHER_TIMEOUT_SECONDS
            )

    def leave(self) -> None:
        with self._in_flight_changed:
            self._in_flight -= 1

    def start(self) -> TinyOpenAIServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: TinyOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        self.owner.enter()
        try:
            self._answer()
        finally:
            self.owner.leave()

    def _answer(self) -> None:
        server = self.owner
        length = int(self.headers.get("Content-Length", 0))
        try:
            body = json.loads(self.rfile.read(length))
        except json.JSONDecodeError:
            self._error(400, "Request body is not valid JSON.")
            return
        server.requests.append(body)
        server.headers.append(dict(self.headers))
        if self.path != "/v1/chat/completions":
            self._error(404, f"Not found: {self.path}")
            return
        if server.failures:
            failure = server.failures.popleft()
            extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            self._error(failure.status, failure.message, extra)
            return
        if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
            self._error(401, "Invalid API key.")
            return
        if body.get("model") != server.served_name:
            self._error(404, f"The model `{body.get('model')}` does not exist.")
            return
        if server.refuses_continuation and "continue_final_message" in body:
            self._error(400, "Unrecognized request argument supplied: continue_final_message")
            return
        with server._lock:
            self._complete(body)

    def _complete(self, body: dict[str, Any]) -> None:
        server = self.owner
        tokenizer = server.tokenizer
        kwargs = body.get("chat_template_kwargs") or {}
        continuing = bool(body.get("continue_final_message", False))
        add_generation_prompt = bool(body.get("add_generation_prompt", True))
        if continuing and add_generation_prompt:
            self._error(
                400, "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
            )
            return
        try:
            prompt = tokenizer.apply_chat_template(
                body["messages"],
                add_generation_prompt=add_generation_prompt,
                continue_final_message=continuing,
                tokenize=False,
                **kwargs,
            )
        except ValueError as error:  # e.g. a final message the template does not render back
            self._error(400, str(error))
            return
        server.prompts.append(prompt)
        prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
        max_tokens = int(body.get("max_tokens") or 256)
        if len(prompt_ids) + max_tokens > MAX_MODEL_LEN:
            self._error(
                400,
                f"This model's maximum context length is {MAX_MODEL_LEN} tokens. However, you "
                f"requested {len(prompt_ids) + max_tokens} tokens ({len(prompt_ids)} in the "
                f"messages, {max_tokens} in the completion). Please reduce the length of the "
                f"messages or completion.",
            )
            return
        stream = bool(body.get("stream"))
        sink = _Sink(self, body, stream)
        if continuing:
            # Go on from the assistant's own text: in an open thought, or after a closed one.
            turn = prompt.rpartition(ASSISTANT_TURN)[2]
            template_opens = THINK_START.strip() in turn and THINK_END_TEXT.strip() not in turn
            thinking = template_opens
        else:
            template_opens = prompt.rstrip().endswith("<think>")
            thinking = template_opens or (
                "enable_thinking" in (tokenizer.chat_template or "")
                and kwargs.get("enable_thinking", True)
            )
        if body.get("seed") is not None:
            torch.manual_seed(int(body["seed"]))
        ids = list(prompt_ids)
        used = 0
        finish = "stop"
        if thinking:
            if not template_opens:
                ids += tokenizer.encode(THINK_START, add_special_tokens=False)
                sink.reasoning(THINK_START, raw=True)
            thought = self._generate(
                ids, body, max_tokens, [THINK_END_ID, IM_END_ID], sink.reasoning
            )
            used += len(thought)
            ids += thought
            if not thought or thought[-1] not in (THINK_END_ID, IM_END_ID):
                finish = "length"
            elif thought[-1] == THINK_END_ID:
                after = tokenizer.encode("\n\n", add_special_tokens=False)
                ids += after
                sink.reasoning(THINK_END_TEXT, raw=True)
        if finish != "length" and (not thinking or ids[-1] != IM_END_ID):
            processors = []
            schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
            if schema is not None:
                grammar = server.compiler.compile_json_schema(
                    json.dumps(schema), any_whitespace=False
                )
                processors.append(GrammarLogitsProcessor(grammar))
            answer = self._generate(
                ids, body, max_tokens - used, [IM_END_ID], sink.content, processors
            )
            used += len(answer)
            if not answer or answer[-1] != IM_END_ID:
                finish = "length"
        sink.finish(finish, prompt_tokens=len(prompt_ids), completion_tokens=used)

    def _generate(self, ids, body, max_new, stop_ids, emit, processors=()) -> list[int]:
        if max_new < 1:
            return []
        server = self.owner
        inputs = torch.tensor([ids])
        temperature = float(body.get("temperature", 1.0))
        # As vLLM: temperature 0 is greedy decoding.
        sampling = (
            {
                "do_sample": True,
                "temperature": temperature,
                "top_p": float(body.get("top_p", 1.0)),
                "top_k": int(body.get("top_k", 0)) or None,
                "min_p": float(body.get("min_p", 0.0)) or None,
            }
            if temperature > 0
            else {"do_sample": False}
        )
        output = server.model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            **sampling,
            repetition_penalty=float(body.get("repetition_penalty", 1.0)),
            max_new_tokens=max_new,
            eos_token_id=list(stop_ids),
            pad_token_id=server.tokenizer.pad_token_id,
            logits_processor=list(processors),
            streamer=_TokenStreamer(server, emit, set(stop_ids)),
        )
        return output[0, len(ids) :].tolist()

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(
            {
                "error": {
                    "message": message,
                    "type": "BadRequestError",
                    "param": None,
                    "code": status,
                }
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _TokenStreamer(BaseStreamer):
    """Hands the text of each sampled token to `emit` as it comes, whole characters only."""

    def __init__(self, server: TinyOpenAIServer, emit, stop_ids: set[int]) -> None:
        self._server = server
        self._emit = emit
        self._stop_ids = stop_ids
        self._prompt_seen = False
        self._ids: list[int] = []
        self._sent = 0

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._ids.extend(token for token in value.flatten().tolist() if token not in self._stop_ids)
        text = self._server.tokenizer.decode(self._ids, skip_special_tokens=True)
        if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
            self._send(text)
        if self._server.token_delay_seconds:
            time.sleep(self._server.token_delay_seconds)

    def end(self) -> None:
        self._send(self._server.tokenizer.decode(self._ids, skip_special_tokens=True))

    def _send(self, text: str) -> None:
        if len(text) > self._sent:
            self._emit(text[self._sent :])
            self._sent = len(text)


class _Sink:
    """Writes a completion as SSE chunks while it is generated, or as one JSON at the end."""

    def __init__(self, handler: _Handler, body: dict[str, Any], stream: bool) -> None:
        self._handler = handler
        self._stream = stream
        self._include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._field = handler.owner.reasoning_field
        self._id = f"chatcmpl-{uuid.uuid4().hex}"
        self._model = handler.owner.served_name
        self._reasoning = ""
        self._content = ""
        if stream:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("Connection", "close")
            handler.end_headers()
            self._chunk({"role": "assistant", "content": ""})

    def reasoning(self, text: str, *, raw: bool = False) -> None:
        # With a reasoning parser the tags are the parser's business and never reach the client.
        if self._field is None:
            self._add_content(text)
        elif not raw:
            self._reasoning += text
            self._chunk({self._field: text})

    def content(self, text: str) -> None:
        self._add_content(text)

    def _add_content(self, text: str) -> None:
        self._content += text
        self._chunk({"content": text})

    def finish(self, reason: str, *, prompt_tokens: int, completion_tokens: int) -> None:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not self._stream:
            message: dict[str, Any] = {"role": "assistant", "content": self._content}
            if self._field is not None:
                message[self._field] = self._reasoning or None
            self._write_json(
                {
                    "id": self._id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": self._model,
                    "choices": [{"index": 0, "message": message, "finish_reason": reason}],
                    "usage": usage,
                }
            )
            return
        self._chunk({}, finish_reason=reason)
        if self._include_usage:
            self._event({**self._envelope(), "choices": [], "usage": usage})
        self._handler.wfile.write(b"data: [DONE]\n\n")
        self._handler.wfile.flush()

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> None:
        if not self._stream:
            return
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        self._event({**self._envelope(), "choices": [choice]})

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self._model,
        }

    def _event(self, data: dict[str, Any]) -> None:
        self._handler.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self._handler.wfile.flush()

    def _write_json(self, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self._handler.send_response(200)
        self._handler.send_header("Content-Type", "application/json")
        self._handler.send_header("Content-Length", str(len(payload)))
        self._handler.end_headers()
        self._handler.wfile.write(payload)
