"""The Sampler warps only the top-k candidates: the same logits, so the same tokens, as
transformers' warpers over the whole vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from grading.llm import decoding
from grading.llm.backends.transformers_local import TransformersBackend
from grading.llm.decoding import Row, Sampler, _apply
from grading.llm.prompt import build_messages
from grading.llm.schema import AnswerLimits, answer_schema
from grading.llm.types import GenerationRequest, GenerationSettings, GradingTask, ModelSpec

VOCAB = 151936
ROWS = 3


def sampler_for(**settings: object) -> Sampler:
    generation = GenerationSettings(**settings)
    rows = [Row(prompt=[1, 2, 3], settings=generation, grammar=None) for _ in range(ROWS)]
    for row in rows:
        row.matcher = None  # no grammar needed to warp
    return Sampler(generation, rows, VOCAB, "cpu")


def random_scores(seed: int, *, allowed: int | None = None) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn((ROWS, VOCAB), generator=generator) * 4
    if allowed is not None:
        # As under the grammar: only a few tokens are allowed, the rest are -inf.
        keep = torch.randperm(VOCAB, generator=generator)[:allowed]
        masked = torch.full_like(scores, float("-inf"))
        masked[:, keep] = scores[:, keep]
        scores = masked
    return scores


@pytest.mark.parametrize(
    "sampling",
    [
        {},  # Qwen's thinking advice: temperature 0.6, top-k 20, top-p 0.95
        {"temperature": 0.7, "top_k": 20, "top_p": 0.8},  # its non-thinking advice
        {"top_p": 0.5, "min_p": 0.05},
        {"top_k": 1},
    ],
)
@pytest.mark.parametrize("allowed", [None, 3, 20, 500])
def test_warping_the_candidates_gives_the_whole_vocabularys_logits(
    sampling: dict[str, object], allowed: int | None
) -> None:
    sampler = sampler_for(**sampling)
    for seed in range(5):
        scores = random_scores(seed, allowed=allowed)

        assert sampler._top_k_candidates(scores) is not None  # the fast path ran
        assert torch.equal(sampler._warp(scores.clone()), _apply(sampler.warpers, scores))


def test_a_tie_at_the_kth_score_warps_the_whole_vocabulary() -> None:
    sampler = sampler_for(top_k=20)
    scores = random_scores(0)
    ranked = scores[0].argsort(descending=True)
    scores[0, ranked[20]] = scores[0, ranked[19]]  # the 21st best equals the 20th

    # transformers' TopK keeps every token tied with the k-th, so candidates would lose one.
    assert sampler._top_k_candidates(scores) is None
    assert torch.equal(sampler._warp(scores.clone()), _apply(sampler.warpers, scores))


def test_equal_candidates_on_either_side_of_the_top_p_cut_warp_the_whole_vocabulary() -> None:
    sampler = sampler_for(temperature=1.0, top_k=20, top_p=0.9)
    scores = torch.full((ROWS, VOCAB), -30.0)
    # One likely token, then 19 equal ones: top-p keeps some of the equal ones and drops others,
    # and which ones depends on how a sort orders equal values.
    scores[:, 100] = 5.0
    scores[:, 200:219] = 1.0
    values, ids = sampler._top_k_candidates(scores)

    assert sampler._cut_between_ties(values, _apply(sampler.candidate_warpers, values))
    assert torch.equal(sampler._warp(scores.clone()), _apply(sampler.warpers, scores))


def test_without_top_k_the_whole_vocabulary_is_warped() -> None:
    sampler = sampler_for(top_k=0)
    scores = random_scores(1)

    assert sampler._top_k_candidates(scores) is None
    assert torch.equal(sampler._warp(scores.clone()), _apply(sampler.warpers, scores))


@pytest.mark.slow
def test_a_grading_writes_the_same_tokens_either_way(
    tiny_model_dir: Path, make_task: Callable[..., GradingTask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # dtype "auto": bfloat16 on a CPU with bfloat16 instructions, whose coarse logits tie often.
    backend = TransformersBackend(ModelSpec(backend="transformers", model=str(tiny_model_dir)))
    task = make_task("Cats purr and they are independent.")
    limits = AnswerLimits(justification_max_chars=40, feedback_max_chars=60, evidence_max_items=1)
    requests = [
        GenerationRequest(
            messages=tuple(build_messages(task)),
            json_schema=answer_schema(task.rubric, limits),
            settings=GenerationSettings(thinking_budget=48, max_answer_tokens=400, seed=seed),
        )
        for seed in (1, 2)
    ]
    candidates_only = backend.generate_batch(requests)

    monkeypatch.setattr(decoding.Sampler, "_top_k_candidates", lambda self, scores: None)
    whole_vocabulary = backend.generate_batch(requests)

    assert candidates_only == whole_vocabulary
    assert all(generation.answer_complete for generation in candidates_only)
