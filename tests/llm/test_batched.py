"""Batched grading gives what the plain path gives: the same logits, the same tokens.

The plain path (tests/llm/plain_generation.py) is one transformers `generate` call per phase and
request. The worker's path batches requests, shares their prompt prefix's keys and values, and
keeps that prefix for the next batch. On the tiny Qwen3 (float32) logits agree within
LOGITS_TOLERANCE, and sampled tokens, drawn from generators seeded alike, are identical.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from grading.llm.backends.base import BackendError
from grading.llm.backends.transformers_local import TransformersBackend
from grading.llm.batched import DecodeBatch, common_prefix_length, prefix_extend
from grading.llm.prompt import build_messages
from grading.llm.schema import AnswerLimits, answer_schema
from grading.llm.types import (
    Generation,
    GenerationRequest,
    GenerationSettings,
    GradingTask,
    ModelSpec,
)
from tests.llm.plain_generation import PlainResult, plain_generate

pytestmark = pytest.mark.slow

# float32 rounding differs between one long matmul and the split prefix/rows attention.
LOGITS_TOLERANCE = 1e-4
LIMITS = AnswerLimits(
    justification_max_chars=30, feedback_max_chars=40, evidence_max_items=1, evidence_max_chars=15
)
SUBMISSIONS = (
    "Cats are better than dogs because they purr.",
    "Dogs are loyal, and loyalty matters more than anything else in a pet.",
    "Fish.",
)


# Exactness is shown in float32: in bfloat16, which "auto" picks on CPUs that compute in it,
# the two paths' different roundings can flip a near tie between tokens.
@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> TransformersBackend:
    return TransformersBackend(
        ModelSpec(backend="transformers", model=str(tiny_model_dir), dtype="float32")
    )


@pytest.fixture(scope="module")
def closing_backend(thought_closing_qwen_dir: Path) -> TransformersBackend:
    return TransformersBackend(
        ModelSpec(backend="transformers", model=str(thought_closing_qwen_dir), dtype="float32")
    )


def requests_for(
    make_task: Callable[..., GradingTask], submissions=SUBMISSIONS, **settings: object
) -> list[GenerationRequest]:
    defaults: dict[str, object] = {"thinking_budget": 12, "max_answer_tokens": 256}
    requests = []
    for index, text in enumerate(submissions):
        task = make_task(text)
        requests.append(
            GenerationRequest(
                messages=tuple(build_messages(task)),
                json_schema=answer_schema(task.rubric, LIMITS),
                settings=GenerationSettings(**(defaults | {"seed": 7 + index} | settings)),
            )
        )
    return requests


def assert_same(backend: TransformersBackend, generation: Generation, plain: PlainResult) -> None:
    assert generation.thinking_tokens == plain.thinking_tokens
    assert generation.trace.startswith(backend._decode_text(plain.thought).strip())
    assert generation.answer_tokens == len(plain.answer)
    assert generation.answer == backend._decode_text(plain.answer)


def test_shared_prefix_attention_gives_the_logits_of_a_plain_forward_pass(
    backend: TransformersBackend,
) -> None:
    model = backend.model
    rng = random.Random(0)
    prefix = [rng.randrange(1000, 100_000) for _ in range(40)]
    rows = [[rng.randrange(1000, 100_000) for _ in range(length)] for length in (5, 13, 1)]

    def plain(ids: list[int]) -> torch.Tensor:
        return model(torch.tensor([ids])).logits[0, -1].float()

    with torch.inference_mode():
        # Built in two parts, as a kept prefix is extended by a later batch.
        shared = prefix_extend(model, prefix_extend(model, None, prefix[:25]), prefix[25:])
        assert shared.ids == tuple(prefix)
        batch = DecodeBatch(model, shared, rows, pad_token_id=0)
        logits = batch.prefill()
        for row, own in enumerate(rows):
            torch.testing.assert_close(
                logits[row], plain(prefix + own), atol=LOGITS_TOLERANCE, rtol=0
            )
        fed = [11, 12, 13]
        logits = batch.step(fed)
        for row, own in enumerate(rows):
            expected = plain(prefix + own + [fed[row]])
            torch.testing.assert_close(logits[row], expected, atol=LOGITS_TOLERANCE, rtol=0)
        batch.keep([0, 2])  # the middle row finished
        logits = batch.step([21, 22])
        for slot, row in enumerate((0, 2)):
            expected = plain(prefix + rows[row] + [fed[row], [21, 22][slot]])
            torch.testing.assert_close(logits[slot], expected, atol=LOGITS_TOLERANCE, rtol=0)
        alone = DecodeBatch(model, None, rows, pad_token_id=0).prefill()
        for row, own in enumerate(rows):
            torch.testing.assert_close(alone[row], plain(own), atol=LOGITS_TOLERANCE, rtol=0)


def test_a_truncated_prefix_is_the_prefix_of_fewer_tokens(backend: TransformersBackend) -> None:
    model = backend.model
    ids = list(range(1000, 1030))
    with torch.inference_mode():
        long = prefix_extend(model, None, ids)
        short = prefix_extend(model, None, ids[:10])
    cut = long.truncated(10)
    assert cut.ids == short.ids
    for mine, theirs in zip(cut.keys + cut.values, short.keys + short.values, strict=True):
        torch.testing.assert_close(mine, theirs, atol=LOGITS_TOLERANCE, rtol=0)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="thinking-sampled"),
        pytest.param({"enable_thinking": False, "temperature": 0.0}, id="no-thinking-greedy"),
        pytest.param(
            {"presence_penalty": 1.5, "repetition_penalty": 1.3, "top_k": 0, "min_p": 0.05},
            id="penalties",
        ),
    ],
)
def test_a_batch_gives_each_request_the_plain_paths_tokens(
    backend: TransformersBackend, make_task, overrides: dict
) -> None:
    requests = requests_for(make_task, **overrides)
    batched = backend.generate_batch(requests)
    for request, generation in zip(requests, batched, strict=True):
        assert isinstance(generation, Generation)
        assert_same(backend, generation, plain_generate(backend, request))


def test_thoughts_the_model_closes_itself_match_too(
    closing_backend: TransformersBackend, make_task
) -> None:
    requests = requests_for(make_task, thinking_budget=64)
    batched = closing_backend.generate_batch(requests)
    stops = {generation.extra["thinking_stop"] for generation in batched}
    assert "think_end" in stops  # the favoured "</think>" ends thoughts before the budget
    for request, generation in zip(requests, batched, strict=True):
        assert_same(closing_backend, generation, plain_generate(closing_backend, request))


def test_the_kept_prefix_serves_the_next_batch_of_the_assignment(
    backend: TransformersBackend, make_task
) -> None:
    first, second, third = requests_for(make_task)
    backend.generate_batch([first, second])
    kept = backend._prefix
    prompts = [backend._prompt_ids(r.messages, r.settings) for r in (first, second, third)]
    assert kept is not None
    assert len(kept) == min(common_prefix_length(prompts[:2]), len(prompts[0]) - 1)
    # The shared part of the prompt, everything before the submission, is in it.
    assert common_prefix_length([kept.ids, prompts[2]]) > 100

    (alone,) = backend.generate_batch([third])
    assert_same(backend, alone, plain_generate(backend, third))


def test_a_prompt_that_shares_little_with_the_kept_prefix_is_still_graded_right(
    backend: TransformersBackend, make_task, make_rubric
) -> None:
    backend.generate_batch(requests_for(make_task)[:2])
    other_task = replace(make_task("Birds sing."), assignment_title="Another assignment entirely")
    request = GenerationRequest(
        messages=tuple(build_messages(other_task)),
        json_schema=answer_schema(other_task.rubric, LIMITS),
        settings=GenerationSettings(thinking_budget=12, max_answer_tokens=256, seed=3),
    )
    (generation,) = backend.generate_batch([request])
    assert_same(backend, generation, plain_generate(backend, request))


def test_one_request_that_cannot_run_does_not_fail_the_others(
    backend: TransformersBackend, make_task
) -> None:
    requests = requests_for(make_task, submissions=(SUBMISSIONS[0], "word " * 3000))
    requests[1] = replace(requests[1], settings=replace(requests[1].settings, context_limit=2000))
    fine, too_long = backend.generate_batch(requests)
    assert isinstance(fine, Generation)
    assert isinstance(too_long, BackendError)
    assert too_long.input_too_long and too_long.permanent
    assert_same(backend, fine, plain_generate(backend, requests[0]))


def test_requests_with_different_settings_are_batched_apart(
    backend: TransformersBackend, make_task
) -> None:
    thinking, plain_answer = requests_for(make_task, submissions=SUBMISSIONS[:2])
    plain_answer = replace(
        plain_answer,
        settings=replace(plain_answer.settings, enable_thinking=False, temperature=0.7, top_p=0.8),
    )
    results = backend.generate_batch([thinking, plain_answer])
    assert results[0].thinking_tokens > 0
    assert results[1].thinking_tokens == 0
    for request, generation in zip((thinking, plain_answer), results, strict=True):
        assert_same(backend, generation, plain_generate(backend, request))
