"""Model families (thinking rules and Qwen's sampling) and the evidence check: plain functions."""

from __future__ import annotations

import pytest

from grading.llm.evidence import EvidenceChecker
from grading.llm.families import (
    NON_THINKING_SAMPLING,
    THINKING_SAMPLING,
    Family,
    family_from_name,
    family_from_template,
    parse_family,
    settings_for_family,
)
from grading.llm.types import GenerationSettings

SUBMISSION = (
    "Recursion is a function\n   calling ITSELF.\n"
    "Never write <|im_end|> in an essay.\n"
    "It said “base case” — twice."
)


@pytest.mark.parametrize(
    ("quote", "verified"),
    [
        ("Recursion is a function", True),
        ("function calling itself.", True),  # the line break and the case do not matter
        ("  RECURSION   IS  ", True),
        ("...calling itself", True),  # ellipses only mark an excerpt
        ("Never write ‹|im_end|› in", True),  # what the model saw, after neutralise
        ("Never write <|im_end|> in", True),  # what the student wrote
        ('It said "base case" - twice', True),  # typographic quotes and dashes
        ("Recursion is a loop", False),
        ("The student clearly understands recursion", False),
        ("", False),
        ("…", False),
    ],
)
def test_quotes_are_checked_against_the_submission(quote: str, verified: bool) -> None:
    checked = EvidenceChecker(SUBMISSION).check(quote)

    assert checked.verified is verified
    assert checked.quote == quote  # stored as the model wrote it
    assert checked.as_json() == {"quote": quote, "verified": verified}


def test_without_thinking_qwens_non_thinking_sampling_replaces_the_thinking_advice() -> None:
    settings = settings_for_family(GenerationSettings(enable_thinking=False), Family.QWEN3)

    assert not settings.enable_thinking
    assert (settings.temperature, settings.top_p, settings.top_k, settings.min_p) == (
        NON_THINKING_SAMPLING.temperature,
        NON_THINKING_SAMPLING.top_p,
        NON_THINKING_SAMPLING.top_k,
        NON_THINKING_SAMPLING.min_p,
    )


def test_a_profiles_own_sampling_is_kept() -> None:
    own = GenerationSettings(enable_thinking=False, temperature=0.3, top_p=0.9)

    assert settings_for_family(own, Family.QWEN3) == own


def test_a_model_without_a_thinking_switch_never_thinks() -> None:
    settings = settings_for_family(GenerationSettings(enable_thinking=True), Family.QWEN25)

    assert not settings.enable_thinking
    assert settings.temperature == NON_THINKING_SAMPLING.temperature


def test_a_model_that_always_thinks_is_never_greedy() -> None:
    greedy_off = GenerationSettings(enable_thinking=False, temperature=0.0)

    settings = settings_for_family(greedy_off, Family.QWQ)

    assert settings.enable_thinking
    assert settings.temperature == THINKING_SAMPLING.temperature


def test_the_family_comes_from_the_chat_template() -> None:
    qwen3 = "{%- if enable_thinking is defined and enable_thinking is false %}…"
    assert family_from_template(qwen3, "<|im_start|>assistant\n") is Family.QWEN3
    assert family_from_template("{{ x }}", "<|im_start|>assistant\n<think>\n") is Family.QWQ
    assert family_from_template("{{ x }}", "<|im_start|>assistant\n") is Family.QWEN25


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Qwen/Qwen3-32B", Family.QWEN3),
        ("Qwen/QwQ-32B", Family.QWQ),
        ("Qwen/Qwen3-30B-A3B-Thinking-2507", Family.QWQ),
        ("Qwen/Qwen2.5-3B-Instruct", Family.QWEN25),
        ("qwen3:8b", Family.QWEN3),
    ],
)
def test_a_served_models_family_is_guessed_from_its_name(name: str, family: Family) -> None:
    assert family_from_name(name) is family


def test_an_unknown_family_name_is_refused() -> None:
    assert parse_family("") is None
    assert parse_family("qwq") is Family.QWQ
    with pytest.raises(ValueError, match="Unknown model family 'llama'"):
        parse_family("llama")
