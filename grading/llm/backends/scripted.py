"""A deterministic stand-in for a model: fast, no torch, no weights. For tests and demos.

It answers by walking the request's JSON schema, so its answers always fit the rubric: for each
criterion it picks one of the schema's level branches from a hash of the messages (the same
messages always get the same grade), and the highest points that level allows, which are the
level's own points. Evidence is the start of the submission, quoted verbatim. Token counts are
whitespace-separated words.

Markers in the submission (the last user message) make it misbehave, for pipeline tests:
- "[[scripted:permanent-error]]": raises BackendError(permanent=True), as a missing model would.
- "[[scripted:transient-error]]": raises BackendError(permanent=False), as an unreachable server.
- "[[scripted:garbage]]": answers "not json", as a backend without a grammar might.
- "[[scripted:sleep=SECONDS]]": streams its trace once through on_trace, then sleeps SECONDS
  (at most 60) before answering, to test time limits, cancellation and live traces.
And make it answer as an attacked model would, for the injection defences:
- "[[scripted:full-marks]]": every criterion at its best level.
- "[[scripted:invented-evidence]]": evidence that is not in the submission.
- "[[scripted:echo]]": justifications and feedback repeat the submission's text.
- "[[scripted:choose=VALUE]]": where the schema offers a choice (an enum) holding VALUE, VALUE.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from typing import Any

from grading.llm.backends.base import BackendError, GradingBackend, TraceCallback
from grading.llm.prompt import SUBMISSION_BEGIN, SUBMISSION_END
from grading.llm.schema import EVIDENCE, LEVEL, POINTS
from grading.llm.types import Generation, GenerationRequest

PERMANENT_ERROR_MARKER = "[[scripted:permanent-error]]"
TRANSIENT_ERROR_MARKER = "[[scripted:transient-error]]"
GARBAGE_MARKER = "[[scripted:garbage]]"
SLEEP_MARKER = re.compile(r"\[\[scripted:sleep=(\d+(?:\.\d+)?)\]\]")
MAX_SLEEP_SECONDS = 60.0
GARBAGE_ANSWER = "not json"
FULL_MARKS_MARKER = "[[scripted:full-marks]]"
INVENTED_EVIDENCE_MARKER = "[[scripted:invented-evidence]]"
ECHO_MARKER = "[[scripted:echo]]"
CHOOSE_MARKER = re.compile(r"\[\[scripted:choose=([\w-]+)\]\]")
INVENTED_QUOTE = "A sentence the student never wrote."

MODEL_REVISION = "scripted"
TEXT_PLACEHOLDER = "Scripted text."
TRACE_TEXT = "I read the submission against each criterion of the rubric."


class ScriptedBackend(GradingBackend):
    """Answers from the schema alone; see the module docstring."""

    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        submission = _submission(request.messages)
        if PERMANENT_ERROR_MARKER in submission:
            raise BackendError("Scripted permanent error.", permanent=True)
        if TRANSIENT_ERROR_MARKER in submission:
            raise BackendError("Scripted transient error.", permanent=False)

        digest = hashlib.sha256(json.dumps(request.messages, sort_keys=True).encode()).digest()
        rng = random.Random(digest)
        trace = ""
        if request.settings.enable_thinking:
            trace = f"Scripted reasoning {digest.hex()[:8]}: {TRACE_TEXT}"

        if sleep := SLEEP_MARKER.search(submission):
            if on_trace is not None and trace:
                on_trace(trace)
            time.sleep(min(float(sleep.group(1)), MAX_SLEEP_SECONDS))

        if GARBAGE_MARKER in submission:
            answer = GARBAGE_ANSWER
        else:
            answer = json.dumps(_value(request.json_schema, rng, submission), ensure_ascii=False)
        return Generation(
            trace=trace,
            answer=answer,
            prompt_tokens=sum(_words(message["content"]) for message in request.messages),
            thinking_tokens=_words(trace),
            answer_tokens=_words(answer),
            model_revision=MODEL_REVISION,
        )


def _submission(messages: tuple[dict[str, str], ...]) -> str:
    """The submission text of the last user message (all of it, if it has no delimiters)."""
    content = next(
        (message["content"] for message in reversed(messages) if message["role"] == "user"), ""
    )
    _, begin, rest = content.partition(SUBMISSION_BEGIN)
    return rest.partition(SUBMISSION_END)[0].strip() if begin else content


def _value(schema: dict[str, Any], rng: random.Random, submission: str) -> Any:
    """A value valid for `schema` (the subset of JSON Schema that answer_schema uses)."""
    if "anyOf" in schema:
        branches = schema["anyOf"]
        if FULL_MARKS_MARKER in submission:
            return _value(max(branches, key=_branch_points), rng, submission)
        return _value(rng.choice(branches), rng, submission)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        chosen = CHOOSE_MARKER.search(submission)
        if chosen and chosen.group(1) in schema["enum"]:
            return chosen.group(1)
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if LEVEL in properties and POINTS in properties:
            return _criterion(properties, rng, submission)
        return {name: _value(sub, rng, submission) for name, sub in properties.items()}
    if kind == "array":
        items = schema.get("items", {})
        return [_value(items, rng, submission) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "string":
        text = _echo(submission) if ECHO_MARKER in submission else TEXT_PLACEHOLDER
        return text[: schema.get("maxLength")]
    raise ValueError(f"The scripted backend cannot fill schema type {kind!r}.")


def _criterion(properties: dict[str, Any], rng: random.Random, submission: str) -> dict[str, Any]:
    answer = {}
    for name, sub in properties.items():
        if name == POINTS:
            answer[name] = sub["maximum"]  # the level's own points, the top of its band
        elif name == EVIDENCE:
            answer[name] = _evidence(sub, submission)
        else:
            answer[name] = _value(sub, rng, submission)
    return answer


def _branch_points(branch: dict[str, Any]) -> int:
    return branch.get("properties", {}).get(POINTS, {}).get("maximum", 0)


def _echo(submission: str) -> str:
    """The submission as one line without quotes (answer strings under the grammar hold none)."""
    return " ".join(submission.replace(ECHO_MARKER, "").replace('"', "'").split())


def _evidence(schema: dict[str, Any], submission: str) -> list[str]:
    if not submission or schema.get("maxItems", 1) < 1:
        return []
    if INVENTED_EVIDENCE_MARKER in submission:
        return [INVENTED_QUOTE]
    max_chars = schema.get("items", {}).get("maxLength", len(submission))
    return [submission[:max_chars]]


def _words(text: str) -> int:
    return len(text.split())
