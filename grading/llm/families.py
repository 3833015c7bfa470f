"""Model families: how a model thinks, and which sampling Qwen advises for it.

- `qwen3` (hybrid): Qwen3 dense and MoE. The chat template takes `enable_thinking`; with it off the
  template writes an empty think block and the model answers at once.
- `qwen2.5` (no thinking): Qwen2.5-Instruct and other models without a thinking switch. They never
  write a think block, so the answer schema gets a bounded `reasoning` field, placed first, where
  the model reasons before it scores.
- `qwq` (always thinks): QwQ and Qwen3 "Thinking-2507" models. The template opens `<think>` in the
  prompt itself and the model always reasons; `enable_thinking` is ignored.

A profile names its family, or leaves it to be detected: from the chat template for a local model
(`family_from_template`), from the model's name for a server (`family_from_name`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from grading.llm.thinking import THINK_START
from grading.llm.types import GenerationSettings

# What a profile stores to mean "detect the family from the model".
AUTO = ""
# The chat-template variable of Qwen3's thinking switch.
THINKING_SWITCH = "enable_thinking"


class Family(StrEnum):
    QWEN3 = "qwen3"
    QWEN25 = "qwen2.5"
    QWQ = "qwq"


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    top_k: int
    min_p: float


# Qwen's advice (Qwen3 model cards, "Best Practices"): thinking 0.6 / 0.95 / 20 / 0, never greedy;
# non-thinking 0.7 / 0.8 / 20 / 0 (also Qwen2.5-Instruct's generation_config).
THINKING_SAMPLING = Sampling(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
NON_THINKING_SAMPLING = Sampling(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0)


def thinks(family: Family, enable_thinking: bool) -> bool:
    """Whether a model of `family` reasons before it answers, given the profile's switch."""
    if family is Family.QWQ:
        return True
    if family is Family.QWEN25:
        return False
    return enable_thinking


def has_reasoning_field(family: Family) -> bool:
    """A model that cannot think in a think block reasons in the answer's `reasoning` field."""
    return family is Family.QWEN25


def parse_family(value: str) -> Family | None:
    """The family a profile names, or None for AUTO. Raises ValueError for an unknown name."""
    if value == AUTO:
        return None
    try:
        return Family(value)
    except ValueError:
        known = ", ".join(family.value for family in Family)
        raise ValueError(f"Unknown model family {value!r}; use one of: {known}.") from None


def family_from_template(chat_template: str, generation_prompt: str) -> Family:
    """The family of a local model, from its chat template.

    `generation_prompt` is the template rendered for one user message with the generation prompt
    added: a template that ends it with "<think>" always thinks.
    """
    if generation_prompt.rstrip().endswith(THINK_START):
        return Family.QWQ
    if THINKING_SWITCH in chat_template:
        return Family.QWEN3
    return Family.QWEN25


def family_from_name(model: str) -> Family:
    """The family of a served model, guessed from its name; a profile can name it instead."""
    name = model.lower()
    if "qwq" in name or "thinking" in name:
        return Family.QWQ
    if "qwen3" in name:
        return Family.QWEN3
    if "qwen2" in name or "instruct" in name:
        return Family.QWEN25
    return Family.QWEN3


def settings_for_family(settings: GenerationSettings, family: Family) -> GenerationSettings:
    """`settings` with thinking set as the family allows, and Qwen's sampling for that mode.

    Without thinking, settings that still hold the thinking advice (the profile never chose its
    own sampling) get the non-thinking advice. A model that thinks although the profile switched
    thinking off gets the thinking advice in place of the non-thinking advice or greedy decoding,
    which Qwen warns makes thinking models repeat themselves endlessly.
    """
    thinking = thinks(family, settings.enable_thinking)
    adjusted = replace(settings, enable_thinking=thinking)
    sampling = _sampling(settings)
    if not thinking and sampling == THINKING_SAMPLING:
        return with_sampling(adjusted, NON_THINKING_SAMPLING)
    forced_on = thinking and not settings.enable_thinking
    if forced_on and (sampling == NON_THINKING_SAMPLING or settings.temperature <= 0):
        return with_sampling(adjusted, THINKING_SAMPLING)
    return adjusted


def with_sampling(settings: GenerationSettings, sampling: Sampling) -> GenerationSettings:
    return replace(
        settings,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
    )


def _sampling(settings: GenerationSettings) -> Sampling:
    return Sampling(
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        min_p=settings.min_p,
    )
