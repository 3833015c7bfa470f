"""The plain path, for comparison: one transformers `generate` call per phase and request.

This is how the backend graded before batching: phase one samples the thought with
`model.generate` (stopping at "</think>", "<|im_end|>" or the budget), phase two re-reads the
whole prompt and the closed thought and samples the answer under xgrammar's transformers
processor. The batched loop (grading.llm.decoding) must produce the same tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch
from transformers import LogitsProcessor
from xgrammar.contrib.hf import LogitsProcessor as GrammarLogitsProcessor

from grading.llm.backends.transformers_local import TransformersBackend
from grading.llm.families import settings_for_family
from grading.llm.thinking import IM_END_TOKEN_ID, THINK_END_TOKEN_ID
from grading.llm.types import GenerationRequest, GenerationSettings


@dataclass(frozen=True)
class PlainResult:
    thought: list[int]  # the thought's own tokens (no stop token, no closing)
    thinking_tokens: int
    answer: list[int]


def plain_generate(backend: TransformersBackend, request: GenerationRequest) -> PlainResult:
    settings = settings_for_family(request.settings, backend.family)
    prompt = backend._prompt_ids(request.messages, settings)
    closings = backend._closings
    if settings.seed is not None:
        torch.manual_seed(settings.seed)
    thought: list[int] = []
    thinking_tokens = 0
    closing: list[int] = []
    if settings.enable_thinking:
        generated = _sample(
            backend,
            prompt,
            settings,
            max_new_tokens=settings.thinking_budget,
            eos_token_id=[THINK_END_TOKEN_ID, IM_END_TOKEN_ID],
        )
        thinking_tokens = len(generated)
        last = generated[-1] if generated else None
        if last == THINK_END_TOKEN_ID:
            thought, closing = generated[:-1], [THINK_END_TOKEN_ID, *closings.after_think_end]
        elif last == IM_END_TOKEN_ID:
            thought, closing = generated[:-1], list(closings.thought_closing)
        else:
            thought, closing = generated, list(closings.early_stop)
    grammar = backend._grammar_compiler.compile_json_schema(
        json.dumps(request.json_schema), any_whitespace=False
    )
    answer = _sample(
        backend,
        prompt + thought + closing,
        settings,
        max_new_tokens=settings.max_answer_tokens,
        eos_token_id=IM_END_TOKEN_ID,
        extra_processors=[GrammarLogitsProcessor(grammar)],
        penalised_from=len(prompt),
    )
    return PlainResult(thought=thought, thinking_tokens=thinking_tokens, answer=answer)


def _sample(
    backend: TransformersBackend,
    input_ids: list[int],
    settings: GenerationSettings,
    *,
    extra_processors: list[LogitsProcessor] | None = None,
    penalised_from: int | None = None,
    **generate_kwargs: Any,
) -> list[int]:
    inputs = torch.tensor([input_ids], device=backend.model.device)
    processors = list(extra_processors or [])
    if settings.presence_penalty:
        start = len(input_ids) if penalised_from is None else penalised_from
        processors.append(_PresencePenalty(settings.presence_penalty, start))
    sampling: dict[str, Any] = (
        {
            "do_sample": True,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "min_p": settings.min_p,
        }
        if settings.temperature > 0
        else {"do_sample": False}
    )
    with torch.inference_mode():
        output = backend.model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            repetition_penalty=settings.repetition_penalty,
            logits_processor=processors,
            pad_token_id=backend.tokenizer.pad_token_id,
            **sampling,
            **generate_kwargs,
        )
    return output[0, len(input_ids) :].tolist()


class _PresencePenalty(LogitsProcessor):
    """OpenAI's presence penalty: every token generated from `start` on loses `penalty`, once."""

    def __init__(self, penalty: float, start: int) -> None:
        self._penalty = penalty
        self._start = start

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self._start :]
        if generated.shape[1] == 0:
            return scores
        seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, generated, True)
        return scores - self._penalty * seen.to(scores.dtype)
