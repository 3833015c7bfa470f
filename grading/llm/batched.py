"""Decode many sequences at once when they start with the same prompt prefix.

The submissions of one assignment share a long prompt prefix (system prompt, task, rubric, answer
format; see grading.llm.prompt) and differ only in the submission. This module runs such a batch
through a Hugging Face decoder model with three savings over one `generate` call per submission:

- The prefix's keys and values are computed once and kept for later batches of the same prefix
  (`PrefixKV`, `prefix_extend`).
- They are stored once, not once per sequence: while decoding, attention reads them through one
  matmul shared by every sequence of the batch (`shared_prefix_attention`, the idea of Hydragen,
  Juravsky et al. 2024), so a batch of 8 holds and reads one copy of a 1,000-token prefix instead
  of eight. (A prefill pass, many tokens per row, uses PyTorch's fused attention over the prefix
  copied for that pass only.)
- One forward pass per step decodes every sequence of the batch, and each sequence's own keys and
  values live in a buffer that grows in chunks instead of being copied on every step.

It is exact attention: the two parts of the softmax are combined with a shared maximum, so the
logits match a plain forward pass up to floating-point rounding (tests/llm/test_batched.py).

Layout of one sequence in the batch: [prefix | padding | own prompt tokens | generated tokens].
The padding aligns the rows' prompt ends, is masked out, and takes no position: position ids
continue from the prefix to the row's own tokens without a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ATTENTION = "aaie_shared_prefix"
# A sequence's own buffer grows by this many positions at a time (a copy per chunk, not per step).
GROWTH_TOKENS = 256


@dataclass(frozen=True)
class _KV:
    """What the cache hands to attention for one layer: the shared prefix and the rows' own part."""

    prefix: torch.Tensor | None  # [1, kv_heads, prefix_len, head_dim]
    rows: torch.Tensor  # [batch, kv_heads, length, head_dim]


@dataclass(frozen=True)
class PrefixKV:
    """The keys and values of a token prefix, per layer, for every batch that starts with it."""

    ids: tuple[int, ...]
    keys: tuple[torch.Tensor, ...]  # per layer [1, kv_heads, len(ids), head_dim]
    values: tuple[torch.Tensor, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def truncated(self, length: int) -> PrefixKV:
        """The first `length` tokens of this prefix (views: attention is causal, so the keys
        and values of a prefix do not depend on what follows it)."""
        if length >= len(self.ids):
            return self
        return PrefixKV(
            ids=self.ids[:length],
            keys=tuple(key[:, :, :length] for key in self.keys),
            values=tuple(value[:, :, :length] for value in self.values),
        )


def use_shared_prefix_attention(model: PreTrainedModel) -> None:
    """Switch `model` to shared-prefix attention.

    Calls that do not come through a DecodeBatch (a plain `generate`, say) get PyTorch's SDPA
    attention, as before.
    """
    AttentionInterface.register(ATTENTION, shared_prefix_attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    model.set_attn_implementation(ATTENTION)


def shared_prefix_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor | _KV,
    value: torch.Tensor | _KV,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Attention over [shared prefix | each row's own keys], exact, without copying the prefix.

    `query` is [batch, heads, q_len, head_dim]; `attention_mask` is additive,
    [batch, 1, q_len, row_len], and covers the rows' own part only (the prefix is visible to all).
    Returns [batch, q_len, heads, head_dim], as the model expects.
    """
    if not isinstance(key, _KV):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    batch, heads, q_len, head_dim = query.shape
    scale = scaling if scaling is not None else head_dim**-0.5
    if key.prefix is None or q_len > 1:
        # No prefix, or a prefill: PyTorch's fused kernel is the fastest for long queries. A
        # prefill copies the prefix for each row, for this pass only.
        keys, values, mask = key.rows, value.rows, attention_mask
        if key.prefix is not None:
            keys = torch.cat([key.prefix.expand(batch, -1, -1, -1), keys], dim=2)
            values = torch.cat([value.prefix.expand(batch, -1, -1, -1), values], dim=2)
            if mask is not None:
                mask = F.pad(mask, (key.prefix.shape[2], 0), value=0.0)
        output = F.scaled_dot_product_attention(
            query, keys, values, attn_mask=mask, scale=scale, enable_gqa=True
        )
        return output.transpose(1, 2).contiguous(), None
    return _decode_attention(query, key, value, attention_mask, scale), None


def _decode_attention(
    query: torch.Tensor, key: _KV, value: _KV, attention_mask: torch.Tensor | None, scale: float
) -> torch.Tensor:
    """One new token per row: every row's query reads the one copy of the prefix in one matmul,
    and its own keys in another; one softmax spans both."""
    batch, heads, q_len, head_dim = query.shape
    kv_heads, row_len = key.rows.shape[1], key.rows.shape[2]
    prefix_len = key.prefix.shape[2]
    groups = heads // kv_heads
    # Query heads that share a key head are stacked along the query axis (grouped-query
    # attention without repeating keys): [batch, kv_heads, groups * q_len, head_dim].
    grouped = query.reshape(batch, kv_heads, groups * q_len, head_dim)
    row_scores = torch.matmul(grouped, key.rows.transpose(-1, -2)).float() * scale
    if attention_mask is not None:
        row_scores = (
            row_scores.view(batch, kv_heads, groups, q_len, row_len)
            + attention_mask.view(batch, 1, 1, q_len, row_len)
        ).view(batch, kv_heads, groups * q_len, row_len)
    # Every row's queries against the prefix: [kv_heads, batch * groups * q_len, prefix_len].
    shared_queries = grouped.transpose(0, 1).reshape(kv_heads, batch * groups * q_len, head_dim)
    prefix_scores = (
        torch.matmul(shared_queries, key.prefix[0].transpose(-1, -2)).float() * scale
    ).view(kv_heads, batch, groups * q_len, prefix_len)
    row_scores = row_scores.transpose(0, 1)  # [kv_heads, batch, groups * q_len, row_len]
    top = torch.maximum(
        prefix_scores.amax(dim=-1, keepdim=True), row_scores.amax(dim=-1, keepdim=True)
    )
    prefix_weights = torch.exp(prefix_scores - top)
    row_weights = torch.exp(row_scores - top)
    total = prefix_weights.sum(dim=-1, keepdim=True) + row_weights.sum(dim=-1, keepdim=True)
    dtype = value.rows.dtype
    prefix_part = torch.matmul(
        prefix_weights.to(dtype).reshape(kv_heads, batch * groups * q_len, prefix_len),
        value.prefix[0],
    ).view(kv_heads, batch, groups * q_len, head_dim)
    row_part = torch.matmul(row_weights.to(dtype).transpose(0, 1), value.rows).transpose(0, 1)
    output = ((prefix_part + row_part) / total.to(dtype)).transpose(0, 1)
    return output.reshape(batch, heads, q_len, head_dim).transpose(1, 2).contiguous()


class _Cache:
    """The model's `past_key_values` during a DecodeBatch: the prefix, and a buffer per layer for
    the rows' own keys and values that grows in chunks."""

    def __init__(self, prefix: PrefixKV | None, num_layers: int) -> None:
        self.prefix = prefix
        self.keys: list[torch.Tensor | None] = [None] * num_layers
        self.values: list[torch.Tensor | None] = [None] * num_layers
        self.length = 0  # positions filled, the same in every layer after a forward pass
        self._writing_at = [0] * num_layers

    def begin(self) -> None:
        self._writing_at = [self.length] * len(self.keys)

    def update(
        self, key: torch.Tensor, value: torch.Tensor, layer_idx: int, *args, **kwargs
    ) -> tuple[_KV, _KV]:
        start = self._writing_at[layer_idx]
        end = start + key.shape[2]
        self.keys[layer_idx] = _write(self.keys[layer_idx], key, start)
        self.values[layer_idx] = _write(self.values[layer_idx], value, start)
        self._writing_at[layer_idx] = end
        prefix_keys = self.prefix.keys[layer_idx] if self.prefix else None
        prefix_values = self.prefix.values[layer_idx] if self.prefix else None
        return (
            _KV(prefix_keys, self.keys[layer_idx][:, :, :end]),
            _KV(prefix_values, self.values[layer_idx][:, :, :end]),
        )

    def end(self, added: int) -> None:
        self.length += added

    def keep(self, rows: torch.Tensor) -> None:
        self.keys = [None if t is None else t.index_select(0, rows) for t in self.keys]
        self.values = [None if t is None else t.index_select(0, rows) for t in self.values]


def _write(buffer: torch.Tensor | None, new: torch.Tensor, start: int) -> torch.Tensor:
    """Write `new` ([batch, heads, n, dim]) at `start` on the sequence axis, growing as needed."""
    end = start + new.shape[2]
    if buffer is None or buffer.shape[2] < end:
        capacity = end + GROWTH_TOKENS
        grown = new.new_empty(new.shape[0], new.shape[1], capacity, new.shape[3])
        if buffer is not None:
            grown[:, :, :start] = buffer[:, :, :start]
        buffer = grown
    buffer[:, :, start:end] = new
    return buffer


class DecodeBatch:
    """Sequences that share `prefix`, each with its own prompt tokens, decoded step by step.

    `prefill()` runs every row's own prompt in one forward pass and returns the logits of each
    row's next token; `step(tokens)` feeds one token per row and returns the next logits;
    `keep(rows)` drops finished rows so that they cost nothing more.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        prefix: PrefixKV | None,
        prompts: Sequence[Sequence[int]],
        *,
        pad_token_id: int = 0,
    ) -> None:
        if not prompts or any(len(prompt) == 0 for prompt in prompts):
            raise ValueError("Every row needs at least one prompt token after the prefix.")
        self.model = model
        self.device = model.device
        self._cache = _Cache(prefix, model.config.num_hidden_layers)
        self._prompts = [list(prompt) for prompt in prompts]
        self._pad_token_id = pad_token_id
        prefix_len = len(prefix) if prefix else 0
        longest = max(len(prompt) for prompt in self._prompts)
        self._padding = torch.tensor(
            [longest - len(prompt) for prompt in self._prompts], device=self.device
        )
        # Which buffer positions hold real tokens, per row; padding never becomes visible.
        self._visible = torch.arange(longest, device=self.device)[None, :] >= self._padding[:, None]
        self._next_position = torch.tensor(
            [prefix_len + len(prompt) for prompt in self._prompts], device=self.device
        )
        self._prefix_len = prefix_len

    @property
    def size(self) -> int:
        return self._next_position.shape[0]

    def prefill(self) -> torch.Tensor:
        """Run the rows' own prompt tokens; the logits of each row's next token, [rows, vocab]."""
        longest = self._visible.shape[1]
        ids = torch.full((self.size, longest), self._pad_token_id, device=self.device)
        for row, prompt in enumerate(self._prompts):
            ids[row, longest - len(prompt) :] = torch.tensor(prompt, device=self.device)
        offsets = torch.arange(longest, device=self.device)[None, :] - self._padding[:, None]
        positions = self._prefix_len + offsets.clamp(min=0)
        return self._forward(ids, positions)

    def step(self, tokens: Sequence[int]) -> torch.Tensor:
        """Feed one token per row; the logits of each row's next token, [rows, vocab]."""
        ids = torch.tensor(tokens, device=self.device)[:, None]
        visible = torch.ones((self.size, 1), dtype=torch.bool, device=self.device)
        self._visible = torch.cat([self._visible, visible], dim=1)
        positions = self._next_position[:, None]
        self._next_position = self._next_position + 1
        return self._forward(ids, positions)

    def keep(self, rows: Sequence[int]) -> None:
        """Go on with these rows only (indices into the current rows, in order)."""
        index = torch.tensor(rows, dtype=torch.long, device=self.device)
        self._cache.keep(index)
        self._visible = self._visible.index_select(0, index)
        self._next_position = self._next_position.index_select(0, index)

    def rows_kv(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per layer, the rows' own keys and values so far (for building a longer prefix)."""
        length = self._cache.length
        return (
            [t[:, :, :length] for t in self._cache.keys],
            [t[:, :, :length] for t in self._cache.values],
        )

    def _forward(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        added = ids.shape[1]
        mask = self._mask(added)
        self._cache.begin()
        output = self.model(
            input_ids=ids,
            position_ids=positions,
            attention_mask={"full_attention": mask, "sliding_attention": mask},
            past_key_values=self._cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self._cache.end(added)
        return output.logits[:, -1, :].float()

    def _mask(self, added: int) -> torch.Tensor:
        """Additive mask [rows, 1, added, length]: a query sees the visible keys up to itself."""
        length = self._cache.length + added
        keys = torch.arange(length, device=self.device)
        queries = self._cache.length + torch.arange(added, device=self.device)
        causal = keys[None, :] <= queries[:, None]  # [added, length]
        allowed = self._visible[:, None, :length] & causal[None]
        # A padding query sees itself, so that its softmax is defined; nothing ever reads it.
        allowed |= keys[None, None, :] == queries[None, :, None]
        mask = torch.zeros(allowed.shape, dtype=self.model.dtype, device=self.device)
        return mask.masked_fill_(~allowed, float("-inf"))[:, None]


def prefix_extend(model: PreTrainedModel, prefix: PrefixKV | None, ids: Sequence[int]) -> PrefixKV:
    """`prefix` followed by `ids`, with their keys and values (computed for `ids` only)."""
    if not ids:
        if prefix is None:
            raise ValueError("An empty prefix has no keys and values.")
        return prefix
    batch = DecodeBatch(model, prefix, [ids])
    batch.prefill()
    keys, values = batch.rows_kv()
    if prefix is not None:
        keys = [torch.cat([old, new], dim=2) for old, new in zip(prefix.keys, keys, strict=True)]
        values = [
            torch.cat([old, new], dim=2) for old, new in zip(prefix.values, values, strict=True)
        ]
    else:
        keys = [key.clone() for key in keys]  # not views of the batch's larger buffers
        values = [value.clone() for value in values]
    return PrefixKV(
        ids=(*(prefix.ids if prefix else ()), *ids), keys=tuple(keys), values=tuple(values)
    )


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """How many leading tokens all `sequences` share."""
    shortest = min(len(sequence) for sequence in sequences)
    for index in range(shortest):
        token = sequences[0][index]
        if any(sequence[index] != token for sequence in sequences[1:]):
            return index
    return shortest
