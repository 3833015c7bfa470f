"""The grading decode loop: think, close the thought, answer under the grammar — for many rows.

Each row is one grading request. A row goes through two phases, as Qwen3 does in thinking mode:

1. Thinking (if on): sample until "</think>", the end of the turn, or the thinking budget. The
   thought is then closed the way Qwen documents: after "</think>" comes "\\n\\n"; a turn ended
   inside the thought is closed with "\\n</think>\\n\\n"; at the budget Qwen's early-stop sentence
   and "</think>" are written for the model (EARLY_STOP_TEXT).
2. Answering: sample under the xgrammar grammar of the answer's JSON schema until "<|im_end|>",
   which the grammar allows only once the JSON is complete, or the answer budget.

Rows advance together through a DecodeBatch, one token each per step: a sampled token, or one of
the closing tokens written for the model. Sampling follows transformers' order (repetition
penalty, grammar, presence penalty, then temperature, top-k, top-p, min-p) and draws from a
generator per row seeded with the row's seed, so a row samples what a plain `generate` call
seeded the same way would.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import torch
import xgrammar as xgr
from transformers import (
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from grading.llm.batched import DecodeBatch
from grading.llm.thinking import EARLY_STOP_SENTENCE, IM_END_TOKEN_ID, THINK_END_TOKEN_ID
from grading.llm.types import GenerationSettings

# Why the thinking phase ended (Generation.extra["thinking_stop"]).
STOP_THINK_END = "think_end"  # the model wrote </think>
STOP_IM_END = "im_end"  # the model ended its turn inside the thought
STOP_BUDGET = "budget"  # the thinking budget ran out
STOP_THINKING_OFF = "off"  # thinking disabled; no thinking phase


class Phase(Enum):
    THINKING = "thinking"
    ANSWERING = "answering"
    DONE = "done"


@dataclass(frozen=True)
class Closings:
    """Token ids written for the model when a thought ends (see the module docstring)."""

    after_think_end: tuple[int, ...]  # "\n\n" after a "</think>" the model wrote
    thought_closing: tuple[int, ...]  # "\n</think>\n\n" for a turn ended inside the thought
    early_stop: tuple[int, ...]  # EARLY_STOP_TEXT, at the thinking budget


@dataclass
class Row:
    """One request's progress through the loop; its results are read once it is DONE."""

    prompt: list[int]
    settings: GenerationSettings
    grammar: xgr.CompiledGrammar
    on_trace: Callable[[str, int], None] | None = None  # the trace so far and its token count
    phase: Phase = Phase.THINKING
    thought: list[int] = field(default_factory=list)
    thinking_tokens: int = 0  # sampled while thinking, the token that ended the thought included
    thinking_stop: str = STOP_THINKING_OFF
    answer: list[int] = field(default_factory=list)
    # Tokens to feed before the next sample: the last sampled token, or a thought's closing.
    feed: deque[int] = field(default_factory=deque)
    matcher: xgr.GrammarMatcher | None = None
    last_trace_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.settings.enable_thinking:
            self._start_answer()

    @property
    def answer_complete(self) -> bool:
        return bool(self.answer) and self.answer[-1] == IM_END_TOKEN_ID

    def _start_answer(self) -> None:
        self.phase = Phase.ANSWERING
        self.matcher = xgr.GrammarMatcher(self.grammar)

    def take(self, token: int, closings: Closings) -> None:
        """Record the token sampled for this row and queue what to feed next."""
        if self.phase is Phase.THINKING:
            self._take_thinking(token, closings)
        else:
            self._take_answer(token)

    def _take_thinking(self, token: int, closings: Closings) -> None:
        self.thinking_tokens += 1
        if token == THINK_END_TOKEN_ID:
            self.thinking_stop = STOP_THINK_END
            self.feed.extend((token, *closings.after_think_end))
        elif token == IM_END_TOKEN_ID:
            # Not fed: the turn goes on with the thought closed for the model.
            self.thinking_stop = STOP_IM_END
            self.feed.extend(closings.thought_closing)
        else:
            self.thought.append(token)
            self.feed.append(token)
            if self.thinking_tokens < self.settings.thinking_budget:
                return
            self.thinking_stop = STOP_BUDGET
            self.feed.extend(closings.early_stop)
        self._start_answer()

    def _take_answer(self, token: int) -> None:
        self.answer.append(token)
        self.matcher.accept_token(token)
        if token == IM_END_TOKEN_ID or len(self.answer) >= self.settings.max_answer_tokens:
            self.phase = Phase.DONE
        else:
            self.feed.append(token)

    def trace(self, decode: Callable[[list[int]], str]) -> str:
        trace = decode(self.thought).strip()
        if self.thinking_stop == STOP_BUDGET:
            # Keep the sentence in the trace so a reader sees where the thought was cut.
            trace = f"{trace}\n\n{EARLY_STOP_SENTENCE}"
        return trace


class Sampler:
    """Turns a batch's logits into one token per row, with the rows' shared sampling settings."""

    def __init__(
        self, settings: GenerationSettings, rows: Sequence[Row], vocab_size: int, device
    ) -> None:
        self.settings = settings
        self.vocab_size = vocab_size
        seeds = [row.settings.seed for row in rows]
        self.generators = [
            torch.Generator(device=device).manual_seed(seed if seed is not None else index)
            for index, seed in enumerate(seeds)
        ]
        # Tokens each row has seen: all (repetition penalty) and generated (presence penalty).
        self.seen = torch.zeros((len(rows), vocab_size), dtype=torch.bool, device=device)
        self.generated = torch.zeros_like(self.seen)
        for index, row in enumerate(rows):
            self.seen[index, torch.tensor(row.prompt, device=device)] = True
        self.bitmask = xgr.allocate_token_bitmask(len(rows), vocab_size)
        self.greedy = settings.temperature <= 0
        temperature = [] if self.greedy else [TemperatureLogitsWarper(settings.temperature)]
        top_k = [TopKLogitsWarper(top_k=settings.top_k)] if settings.top_k else []
        # Top-p of 1 and min-p of 0 remove nothing: skipped, not run over the whole vocabulary.
        rest = [TopPLogitsWarper(top_p=settings.top_p)] if settings.top_p < 1.0 else []
        rest += [MinPLogitsWarper(min_p=settings.min_p)] if settings.min_p > 0 else []
        self.warpers = [*temperature, *top_k, *rest]
        # What is left to do once the top-k candidates are picked (see _warp).
        self.candidate_warpers = [*temperature, *rest]

    def fed(self, slots: Sequence[int], tokens: Sequence[int]) -> None:
        """Note the tokens just fed to the model, one per row slot."""
        rows = torch.tensor(slots, device=self.seen.device)
        columns = torch.tensor(tokens, device=self.seen.device)
        self.seen[rows, columns] = True
        self.generated[rows, columns] = True

    def sample(self, logits: torch.Tensor, slots: Sequence[int], rows: Sequence[Row]) -> list[int]:
        """One token for each of `rows` (their logits in `logits`, their state in `slots`)."""
        index = torch.tensor(slots, device=logits.device)
        # Changed in place: decode_rows passes a copy (logits[rows] copies).
        scores = logits[:, : self.vocab_size]
        settings = self.settings
        if settings.repetition_penalty != 1.0:
            seen = self.seen[index]
            penalised = torch.where(
                scores < 0,
                scores * settings.repetition_penalty,
                scores / settings.repetition_penalty,
            )
            scores = torch.where(seen, penalised, scores)
        answering = [i for i, row in enumerate(rows) if row.matcher is not None]
        if answering:
            for i in answering:
                rows[i].matcher.fill_next_token_bitmask(self.bitmask, i)
            # The matchers fill the mask on the CPU; xgrammar wants it beside the logits.
            mask = self.bitmask[: len(rows)].to(scores.device)
            xgr.apply_token_bitmask_inplace(scores, mask, indices=answering)
        if settings.presence_penalty:
            scores = scores - settings.presence_penalty * self.generated[index].to(scores.dtype)
        if self.greedy:
            return scores.argmax(dim=-1).tolist()
        probabilities = torch.softmax(self._warp(scores), dim=-1)
        return [
            int(torch.multinomial(probabilities[i : i + 1], 1, generator=self.generators[slot]))
            for i, slot in enumerate(slots)
        ]

    def _warp(self, scores: torch.Tensor) -> torch.Tensor:
        """Temperature, top-k, top-p and min-p, as transformers' warpers apply them in turn.

        Measured (BENCHMARKS.md), the warpers over the whole vocabulary (a sort, several masks
        of 152k entries per step) cost more than a small model's forward pass. With top-k on,
        every token outside the k best ends at -inf whatever follows, so the later warpers run
        on the k candidates only and the result is scattered back into a row of -inf: the same
        logits, so the same token from the same generator. Where ties could make the two ways
        differ, the whole vocabulary is warped as before.
        """
        candidates = self._top_k_candidates(scores)
        if candidates is not None:
            values, ids = candidates
            warped = _apply(self.candidate_warpers, values)
            if not self._cut_between_ties(values, warped):
                return torch.full_like(scores, float("-inf")).scatter_(1, ids, warped)
        return _apply(self.warpers, scores)

    def _cut_between_ties(self, values: torch.Tensor, warped: torch.Tensor) -> bool:
        """Whether top-p kept one of two equal candidates and dropped the other: which one goes
        depends on the order a sort gives equal values, which differs between the candidates and
        the whole vocabulary (frequent with bfloat16 logits, rare with float32)."""
        scaled = values / self.settings.temperature
        kept = torch.isfinite(warped)
        dropped = torch.isfinite(scaled) & ~kept
        lowest_kept = torch.where(kept, scaled, float("inf")).amin(dim=-1)
        highest_dropped = torch.where(dropped, scaled, float("-inf")).amax(dim=-1)
        return bool((lowest_kept == highest_dropped).any())

    def _top_k_candidates(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The k best raw scores and their token ids per row; None where top-k is off, or where
        the k-th best ties with the next one after the temperature (TopKLogitsWarper then keeps
        every tied token, so the whole vocabulary must be warped)."""
        k = self.settings.top_k
        if not k or k >= scores.shape[-1]:
            return None
        values, ids = scores.topk(k + 1, dim=-1)
        temperature = self.settings.temperature
        kth, after = values[:, k - 1] / temperature, values[:, k] / temperature
        if bool((torch.isfinite(kth) & (kth == after)).any()):
            return None
        return values[:, :k], ids[:, :k]


def _apply(warpers: Sequence, scores: torch.Tensor) -> torch.Tensor:
    for warper in warpers:
        scores = warper(None, scores)
    return scores


def decode_rows(
    batch: DecodeBatch,
    rows: list[Row],
    *,
    closings: Closings,
    vocab_size: int,
    decode: Callable[[list[int]], str],
    trace_flush_seconds: float,
) -> None:
    """Run every row to DONE. All rows share sampling settings (the seed aside)."""
    sampler = Sampler(rows[0].settings, rows, vocab_size, batch.device)
    active = list(range(len(rows)))  # slots of the rows still in the batch, in batch order
    logits = batch.prefill()
    while True:
        needs_sample = [i for i, slot in enumerate(active) if not rows[slot].feed]
        if needs_sample:
            picked = [active[i] for i in needs_sample]
            tokens = sampler.sample(logits[needs_sample], picked, [rows[slot] for slot in picked])
            for slot, token in zip(picked, tokens, strict=True):
                rows[slot].take(token, closings)
        _stream_traces(rows, active, decode, trace_flush_seconds)
        still = [i for i, slot in enumerate(active) if rows[slot].phase is not Phase.DONE]
        if not still:
            return
        if len(still) < len(active):
            batch.keep(still)
            active = [active[i] for i in still]
        fed = [rows[slot].feed.popleft() for slot in active]
        sampler.fed(active, fed)
        logits = batch.step(fed)


def _stream_traces(
    rows: list[Row], active: list[int], decode: Callable[[list[int]], str], every: float
) -> None:
    now = time.monotonic()
    for slot in active:
        row = rows[slot]
        if row.on_trace is None or row.phase is not Phase.THINKING:
            continue
        if now - row.last_trace_at >= every:
            row.last_trace_at = now
            row.on_trace(decode(row.thought), row.thinking_tokens)
