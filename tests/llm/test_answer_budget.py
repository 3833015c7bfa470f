"""The answer's token budget: the bound of an answer schema, text bounds that shrink to fit a
budget, and the context-limit advice that names what is large."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from transformers import PreTrainedTokenizerBase

from grading.llm.prompt import overflow_advice, prompt_parts
from grading.llm.schema import (
    DEFAULT_LIMITS,
    TEXT_BOUNDS,
    AnswerBudgetError,
    AnswerLimits,
    answer_schema,
    answer_token_bound,
    limits_within_budget,
)
from grading.llm.types import Criterion, GradingTask, Level, Rubric

DEFAULT_ANSWER_TOKENS = 1536  # GenerationSettings' and the profile's default


def longest_answer(rubric: Rubric, limits: AnswerLimits, *, reasoning: bool = False) -> str:
    """The longest answer the schema allows, in ASCII: every string at its limit, every list
    full, the longest level label and the widest number of points."""
    scores = {}
    for criterion in rubric.criteria:
        level = max(criterion.levels, key=lambda level: len(level.label))
        scores[criterion.key] = {
            "evidence": ["e" * limits.evidence_max_chars] * limits.evidence_max_items,
            "justification": "j" * limits.justification_max_chars,
            "level": level.label,
            "points": level.points,
        }
    answer = {"scores": scores, "feedback": "f" * limits.feedback_max_chars}
    if reasoning:
        answer = {"reasoning": "r" * limits.reasoning_max_chars} | answer
    # As the grammar engine writes it: these separators, labels unescaped (a const allows only
    # its literal text).
    return json.dumps(answer, separators=(", ", ": "), ensure_ascii=False)


@pytest.mark.parametrize("reasoning", [False, True])
@pytest.mark.parametrize("criteria", [1, 8])
def test_the_bound_is_the_longest_answer_in_bytes_plus_the_end_of_turn(
    make_rubric: Callable[[int], Rubric], criteria: int, reasoning: bool
) -> None:
    rubric = make_rubric(criteria)
    schema = answer_schema(rubric, DEFAULT_LIMITS, reasoning=reasoning)

    longest = longest_answer(rubric, DEFAULT_LIMITS, reasoning=reasoning)
    # Exact, not merely above: a loose bound would shrink the text for nothing.
    assert answer_token_bound(schema) == len(longest.encode()) + 1


def test_the_real_tokenizer_needs_no_more_than_the_bound(
    make_rubric: Callable[[int], Rubric], qwen_tokenizer: PreTrainedTokenizerBase
) -> None:
    rubric = make_rubric(8)
    limits = limits_within_budget(rubric, DEFAULT_ANSWER_TOKENS)
    # Text that tokenizes worst in ASCII: characters that never merge with their neighbours.
    answer = longest_answer(rubric, limits).replace("j", "|~").replace("|~", "~", 1)
    tokens = len(qwen_tokenizer.encode(answer, add_special_tokens=False)) + 1

    assert tokens <= answer_token_bound(answer_schema(rubric, limits)) <= DEFAULT_ANSWER_TOKENS


def test_non_ascii_labels_count_in_bytes() -> None:
    levels = (Level("Très bien", 2), Level("Échec", 0))
    rubric = Rubric("r", (Criterion("C1", "Idée", "", 2, levels),))
    limits = AnswerLimits(justification_max_chars=3, feedback_max_chars=3, evidence_max_items=0)

    assert answer_token_bound(answer_schema(rubric, limits)) == (
        len(longest_answer(rubric, limits).encode()) + 1
    )


def test_a_schema_with_unbounded_text_has_no_bound() -> None:
    assert answer_token_bound({"type": "string"}) is None
    unbounded_list = {"type": "array", "items": {"type": "string", "maxLength": 3}}
    assert answer_token_bound(unbounded_list) is None
    optional = {
        "type": "object",
        "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 9}},
        "required": [],
        "additionalProperties": False,
    }
    assert answer_token_bound(optional) is None


def test_a_rubric_whose_answer_fits_keeps_the_full_text_bounds(
    make_rubric: Callable[[int], Rubric],
) -> None:
    rubric = make_rubric(1)
    roomy = answer_token_bound(answer_schema(rubric, DEFAULT_LIMITS))

    assert limits_within_budget(rubric, roomy) == DEFAULT_LIMITS


@pytest.mark.parametrize("criteria", [2, 8, 12])
def test_an_answer_to_a_long_rubric_shrinks_to_fit_the_default_budget(
    make_rubric: Callable[[int], Rubric], criteria: int
) -> None:
    rubric = make_rubric(criteria)
    assert answer_token_bound(answer_schema(rubric)) > DEFAULT_ANSWER_TOKENS  # did not fit

    limits = limits_within_budget(rubric, DEFAULT_ANSWER_TOKENS)

    bound = answer_token_bound(answer_schema(rubric, limits))
    assert bound <= DEFAULT_ANSWER_TOKENS
    # Rounding down loses at most one character per text field, not more of the budget.
    fields = criteria * (DEFAULT_LIMITS.evidence_max_items + 1) + 1
    assert bound > DEFAULT_ANSWER_TOKENS - fields
    # Every bound shrank by about the same factor; the number of quotes stayed.
    factors = [getattr(limits, name) / getattr(DEFAULT_LIMITS, name) for name in TEXT_BOUNDS]
    assert max(factors) - min(factors) < 0.05
    assert limits.evidence_max_items == DEFAULT_LIMITS.evidence_max_items


def test_the_reasoning_field_shrinks_with_the_rest(make_rubric: Callable[[int], Rubric]) -> None:
    rubric = make_rubric(8)

    limits = limits_within_budget(rubric, DEFAULT_ANSWER_TOKENS, reasoning=True)

    assert answer_token_bound(answer_schema(rubric, limits, reasoning=True)) <= 1536
    assert limits.reasoning_max_chars < DEFAULT_LIMITS.reasoning_max_chars


def test_a_budget_too_small_for_any_answer_says_what_it_needs(
    make_rubric: Callable[[int], Rubric],
) -> None:
    rubric = make_rubric(8)
    least = AnswerLimits(**dict.fromkeys(TEXT_BOUNDS, 1))
    needed = answer_token_bound(answer_schema(rubric, least))

    with pytest.raises(AnswerBudgetError) as caught:
        limits_within_budget(rubric, 300)

    message = str(caught.value)
    assert "budget of 300" in message and f"up to {needed} tokens" in message
    assert "8 criteria" in message and "maximum answer tokens" in message
    # At exactly that many tokens it fits, with one character per field.
    assert limits_within_budget(rubric, needed) == least


def test_prompt_parts_name_what_the_educator_and_the_student_wrote(
    make_task: Callable[..., GradingTask],
) -> None:
    task = make_task("My essay.", criteria=3)

    parts = dict(prompt_parts(task))

    assert list(parts) == ["rubric", "task", "reference notes", "submission"]
    assert "### C3: Criterion 3" in parts["rubric"]
    assert task.task in parts["task"]
    assert parts["reference notes"] == task.reference
    assert parts["submission"] == "My essay."


def test_the_advice_names_the_largest_part_first_with_its_size() -> None:
    sizes = [("rubric", 6020), ("task", 40), ("reference notes", 0), ("submission", 950)]

    advice = overflow_advice(sizes, "tokens")

    assert advice.startswith(
        "The rubric takes 6,020 tokens of the prompt, the submission 950 and the task 40: "
    )
    assert "shorten the rubric's descriptions" in advice
    assert "reference notes" not in advice  # empty, so not worth naming
    assert overflow_advice([("submission", 9000), ("rubric", 300)], "characters") == (
        "The submission takes 9,000 characters of the prompt and the rubric 300: "
        "shorten the submission"
    )
