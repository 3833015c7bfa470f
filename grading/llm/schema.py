"""The answer format: a JSON schema built from a rubric, and the check of an answer against it.

The schema drives constrained decoding (the backend's grammar engine), so the model can only write
answers of this shape: each criterion is one of its levels, with points inside that level's band
(`level_bands`), so the points always agree with the chosen level. `parse_answer` checks the same
rules again in Python, because not every backend constrains its output and a stored answer should
never be trusted unchecked.

Note on strings: xgrammar 0.2.8 allows no escape sequences inside a string that has a maxLength,
so answer strings cannot hold double quotes or line breaks. The evidence check (evidence.py)
compares with whitespace normalised for that reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from grading.llm.types import Criterion, CriterionScore, GradedAnswer, Rubric


@dataclass(frozen=True)
class AnswerLimits:
    """Bounds on the free text of an answer: they keep answers readable and generation finite."""

    justification_max_chars: int = 600
    feedback_max_chars: int = 1200
    evidence_max_items: int = 3
    evidence_max_chars: int = 200
    reasoning_max_chars: int = 2000  # the reasoning field of models that cannot think


DEFAULT_LIMITS = AnswerLimits()
# The text bounds that limits_within_budget scales (the evidence count is not one of them).
TEXT_BOUNDS = tuple(limit.name for limit in fields(AnswerLimits) if limit.name.endswith("_chars"))

REASONING = "reasoning"
SCORES = "scores"
FEEDBACK = "feedback"
LEVEL = "level"
POINTS = "points"
EVIDENCE = "evidence"
JUSTIFICATION = "justification"

# Generation follows this order. Evidence and justification come before the level and the points,
# so the model quotes and argues first and then commits to a score that follows from what it
# wrote (a short chain of thought inside the answer, useful above all with thinking off); the
# level comes before the points so the points can follow the chosen level.
CRITERION_FIELDS = (EVIDENCE, JUSTIFICATION, LEVEL, POINTS)
ANSWER_FIELDS = (SCORES, FEEDBACK)
# For models without a thinking mode the reasoning comes first, before any score is written.
ANSWER_FIELDS_WITH_REASONING = (REASONING, SCORES, FEEDBACK)

MIN_POINTS = 0
# C0 control characters and DEL, except tab and newline, and U+FFFD. They never mean anything
# in a grade: PostgreSQL refuses NUL in text, xgrammar 0.2.8 lets control characters into strings
# that have a maxLength, and a byte sequence the grammar took for one character can decode to
# several U+FFFD (seen with random weights: a 1,200-character limit read as 1,202 characters).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")
ERROR_PREVIEW_CHARS = 80  # how much of an offending value an error message quotes


# Bounding an answer's length in tokens (answer_token_bound). Every token of a byte-level BPE
# vocabulary (Qwen's) is at least one byte, so the JSON around the text (keys, brackets, level
# labels, points) takes at most one token per byte, whatever the tokenizer and however the model
# splits it. Text is bounded per character: one token per character holds for every ASCII
# character and every character the vocabulary holds whole; only characters the model spells out
# byte by byte (emoji, rare CJK) can take more, and no grader writes mostly those.
TEXT_TOKENS_PER_CHAR = 1
# The separators the grammar engine writes between items and after keys (xgrammar's default
# without indentation; any_whitespace=False allows no others).
ITEM_SEPARATOR = ", "
KEY_SEPARATOR = ": "
END_OF_TURN_TOKENS = 1  # <|im_end|>, which ends every answer and counts against its budget


class AnswerError(ValueError):
    """The model's answer does not fit the rubric; the message says what is wrong, for people."""


class AnswerBudgetError(ValueError):
    """No answer to this rubric fits the answer-token budget; the message says what to raise."""


def level_bands(criterion: Criterion) -> dict[str, tuple[int, int]]:
    """The points each level allows, as (lowest, highest), both inclusive.

    A level's band runs from just above the next lower level's points up to its own points; the
    lowest level's band starts at 0. So with levels 4, 2 and 0, "4" allows 3 to 4 and "2" allows
    1 to 2. Levels with equal points share their points exactly. Bands stay within 0 to the
    criterion's maximum.
    """
    bands = {}
    for level in criterion.levels:
        highest = min(level.points, criterion.max_points)
        lower = [other.points for other in criterion.levels if other.points < level.points]
        lowest = max(lower) + 1 if lower else MIN_POINTS
        bands[level.label] = (min(lowest, highest), highest)
    return bands


def answer_fields(*, reasoning: bool) -> tuple[str, ...]:
    return ANSWER_FIELDS_WITH_REASONING if reasoning else ANSWER_FIELDS


def answer_schema(
    rubric: Rubric, limits: AnswerLimits = DEFAULT_LIMITS, *, reasoning: bool = False
) -> dict[str, Any]:
    """The JSON schema of a valid answer for `rubric`, strict everywhere.

    `reasoning` adds a bounded "reasoning" field first, for models that cannot think.
    """
    properties: dict[str, Any] = {}
    if reasoning:
        properties[REASONING] = {"type": "string", "maxLength": limits.reasoning_max_chars}
    return {
        "type": "object",
        "properties": properties
        | {
            SCORES: {
                "type": "object",
                "properties": {
                    criterion.key: _criterion_schema(criterion, limits)
                    for criterion in rubric.criteria
                },
                "required": [criterion.key for criterion in rubric.criteria],
                "additionalProperties": False,
            },
            FEEDBACK: {"type": "string", "maxLength": limits.feedback_max_chars},
        },
        "required": list(answer_fields(reasoning=reasoning)),
        "additionalProperties": False,
    }


def answer_token_bound(schema: dict[str, Any]) -> int | None:
    """The most tokens an answer valid for `schema` can take, the end of turn included.

    Counts the schema subset that answer_schema writes (objects with every property required,
    arrays with maxItems, strings with maxLength or a const, integers with both bounds, anyOf);
    None where something is unbounded. See TEXT_TOKENS_PER_CHAR for how bytes and characters
    become tokens.
    """
    bound = _node_bound(schema)
    return None if bound is None else bound + END_OF_TURN_TOKENS


def _node_bound(node: dict[str, Any]) -> int | None:
    if "anyOf" in node:
        branches = [_node_bound(branch) for branch in node["anyOf"]]
        return None if None in branches else max(branches)
    if "const" in node:
        return _bytes(json.dumps(node["const"], ensure_ascii=False))
    kind = node.get("type")
    if kind == "string" and "maxLength" in node:
        return _bytes('""') + node["maxLength"] * TEXT_TOKENS_PER_CHAR
    if kind == "integer" and "minimum" in node and "maximum" in node:
        return max(len(str(node["minimum"])), len(str(node["maximum"])))
    if kind == "array" and "maxItems" in node and "items" in node:
        item = _node_bound(node["items"])
        return None if item is None else _bytes("[]") + _joined(item, node["maxItems"])
    if kind == "object" and node.get("additionalProperties") is False:
        properties = node.get("properties", {})
        parts = [_node_bound(value) for value in properties.values()]
        if None in parts or set(node.get("required", ())) != set(properties):
            return None  # an optional property would need its own count; answers have none
        keys = sum(
            _bytes(json.dumps(key, ensure_ascii=False) + KEY_SEPARATOR) for key in properties
        )
        return _bytes("{}") + keys + sum(parts) + _bytes(ITEM_SEPARATOR) * max(len(parts) - 1, 0)
    return None


def _joined(item: int, count: int) -> int:
    return item * count + _bytes(ITEM_SEPARATOR) * max(count - 1, 0)


def _bytes(text: str) -> int:
    return len(text.encode())


def limits_within_budget(
    rubric: Rubric,
    max_answer_tokens: int,
    ceiling: AnswerLimits = DEFAULT_LIMITS,
    *,
    reasoning: bool = False,
) -> AnswerLimits:
    """The largest text bounds, at most `ceiling`, whose answer fits `max_answer_tokens`.

    Every text bound of `ceiling` shrinks by about the same factor (the evidence count stays),
    so an answer to a long rubric keeps the proportions of a short one. Raises AnswerBudgetError
    when even one character per text field would not fit.
    """
    full = answer_token_bound(answer_schema(rubric, ceiling, reasoning=reasoning))
    if full <= max_answer_tokens:
        return ceiling
    least = replace(ceiling, **dict.fromkeys(TEXT_BOUNDS, 1))
    smallest = answer_token_bound(answer_schema(rubric, least, reasoning=reasoning))
    if smallest > max_answer_tokens:
        raise AnswerBudgetError(
            f"The answer-token budget of {max_answer_tokens} is too small for this rubric: an "
            f"answer to its {len(rubric.criteria)} criteria takes up to {smallest} tokens with "
            f"one character per justification, quote and feedback. Raise the profile's maximum "
            f"answer tokens."
        )
    # The bound grows linearly with the text bounds, so the characters above one per field
    # shrink by the share of the budget left for them; rounding down keeps within the budget.
    share = (max_answer_tokens - smallest) / (full - smallest)
    return replace(
        ceiling,
        **{name: 1 + math.floor((getattr(ceiling, name) - 1) * share) for name in TEXT_BOUNDS},
    )


def _criterion_schema(criterion: Criterion, limits: AnswerLimits) -> dict[str, Any]:
    """One branch per level: the level's label, and points within its band."""
    return {
        "anyOf": [
            _level_schema(label, band, limits) for label, band in level_bands(criterion).items()
        ]
    }


def _level_schema(label: str, band: tuple[int, int], limits: AnswerLimits) -> dict[str, Any]:
    lowest, highest = band
    properties = {
        EVIDENCE: {
            "type": "array",
            "items": {"type": "string", "maxLength": limits.evidence_max_chars},
            "maxItems": limits.evidence_max_items,
        },
        JUSTIFICATION: {"type": "string", "maxLength": limits.justification_max_chars},
        LEVEL: {"type": "string", "const": label},
        POINTS: {"type": "integer", "minimum": lowest, "maximum": highest},
    }
    return {
        "type": "object",
        "properties": {name: properties[name] for name in CRITERION_FIELDS},
        "required": list(CRITERION_FIELDS),
        "additionalProperties": False,
    }


def parse_answer(
    text: str, rubric: Rubric, limits: AnswerLimits = DEFAULT_LIMITS, *, reasoning: bool = False
) -> GradedAnswer:
    """Check an answer against `rubric` and return it with scores in rubric order.

    Over-long text is rejected, not cut: an answer that breaks the limits did not follow the
    schema, and a silently shortened justification could change its meaning. Control characters
    (other than tab and newline) are dropped from the text.
    Raises AnswerError naming the first problem found.
    """
    data = _load_json_object(text)
    _reject_unknown(data, answer_fields(reasoning=reasoning), "The answer")
    reasoning_text = ""
    if reasoning:
        if REASONING not in data:
            raise AnswerError('The answer has no "reasoning".')
        reasoning_text = _bounded_string(data[REASONING], limits.reasoning_max_chars, '"reasoning"')

    if SCORES not in data:
        raise AnswerError('The answer has no "scores".')
    scores = data[SCORES]
    if not isinstance(scores, dict):
        raise AnswerError(f'"scores" must be an object, got {_json_type(scores)}.')
    known_keys = tuple(criterion.key for criterion in rubric.criteria)
    unknown = [key for key in scores if key not in known_keys]
    if unknown:
        raise AnswerError(
            f"The answer scores criterion {unknown[0]!r}, which the rubric does not have "
            f"(criteria: {', '.join(known_keys)})."
        )
    for key in known_keys:
        if key not in scores:
            raise AnswerError(f"Criterion {key} is missing from the answer.")

    if FEEDBACK not in data:
        raise AnswerError('The answer has no "feedback".')
    feedback = _bounded_string(data[FEEDBACK], limits.feedback_max_chars, '"feedback"')

    return GradedAnswer(
        scores=tuple(
            _parse_score(scores[criterion.key], criterion, limits) for criterion in rubric.criteria
        ),
        feedback=feedback,
        reasoning=reasoning_text,
    )


def _parse_score(value: Any, criterion: Criterion, limits: AnswerLimits) -> CriterionScore:
    key = criterion.key
    if not isinstance(value, dict):
        raise AnswerError(f"Criterion {key} must be an object, got {_json_type(value)}.")
    _reject_unknown(value, CRITERION_FIELDS, f"Criterion {key}")
    for name in CRITERION_FIELDS:
        if name not in value:
            raise AnswerError(f'Criterion {key} has no "{name}".')

    labels = [level.label for level in criterion.levels]
    level = value[LEVEL]
    if level not in labels:
        raise AnswerError(
            f"Criterion {key}: level {_preview(level)} is not one of the rubric's levels "
            f"({', '.join(repr(label) for label in labels)})."
        )

    points = value[POINTS]
    # bool is a subclass of int in Python, but `true` is not a number of points.
    if isinstance(points, bool) or not isinstance(points, int):
        raise AnswerError(
            f"Criterion {key}: points must be a whole number, got {_preview(points)}."
        )
    if points < MIN_POINTS:
        raise AnswerError(f"Criterion {key}: points {points} are below {MIN_POINTS}.")
    if points > criterion.max_points:
        raise AnswerError(
            f"Criterion {key}: points {points} are above the maximum of {criterion.max_points}."
        )
    lowest, highest = level_bands(criterion)[level]
    if not lowest <= points <= highest:
        raise AnswerError(
            f"Criterion {key}: {points} points do not agree with level {level!r}, which allows "
            f"{lowest} to {highest}."
        )

    justification = _bounded_string(
        value[JUSTIFICATION], limits.justification_max_chars, f"Criterion {key}: justification"
    )

    evidence = value[EVIDENCE]
    if not isinstance(evidence, list):
        raise AnswerError(
            f"Criterion {key}: evidence must be a list of quotes, got {_json_type(evidence)}."
        )
    if len(evidence) > limits.evidence_max_items:
        raise AnswerError(
            f"Criterion {key}: {len(evidence)} evidence quotes; the limit is "
            f"{limits.evidence_max_items}."
        )
    quotes = tuple(
        _bounded_string(
            quote, limits.evidence_max_chars, f"Criterion {key}: evidence quote {number}"
        )
        for number, quote in enumerate(evidence, start=1)
    )

    return CriterionScore(
        key=key, level=level, points=points, justification=justification, evidence=quotes
    )


def _load_json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise AnswerError(
            "The model wrote no answer at all (it may have ended its turn while reasoning); "
            "grading again may help."
        )
    try:
        # strict=False accepts raw control characters inside strings; _bounded_string drops them.
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys, strict=False)
    except json.JSONDecodeError as error:
        raise AnswerError(f"The answer is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        raise AnswerError(f"The answer must be a JSON object, got {_json_type(data)}.")
    return data


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would keep the last of two equal keys; an answer that scores C1 twice is
    # ambiguous, so refuse it.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise AnswerError(f"The answer gives {key!r} twice.")
        result[key] = value
    return result


def _reject_unknown(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for name in data:
        if name not in allowed:
            raise AnswerError(
                f"{where} has an unexpected field {name!r} (expected: {', '.join(allowed)})."
            )


def _bounded_string(value: Any, max_chars: int, what: str) -> str:
    if not isinstance(value, str):
        raise AnswerError(f"{what} must be text, got {_json_type(value)}.")
    value = CONTROL_CHARACTERS.sub("", value)
    if len(value) > max_chars:
        raise AnswerError(f"{what} is {len(value)} characters long; the limit is {max_chars}.")
    return value


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a whole number",
        float: "a decimal number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _preview(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > ERROR_PREVIEW_CHARS:
        shown = shown[:ERROR_PREVIEW_CHARS] + "…"
    return shown
