"""A tiny, seeded Qwen3 with the real Qwen3 tokenizer: the real code path, no downloaded weights."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, GenerationConfig, Qwen3Config, Qwen3ForCausalLM

# The real Qwen3 tokenizer and chat template, vendored (see its NOTICE).
TOKENIZER_DIR = Path(__file__).parent / "fixtures" / "qwen3-tokenizer"

# Qwen3's embedding matrix has more rows than the tokenizer has tokens; keep the real size so the
# grammar engine sees the same vocabulary as with a real model.
VOCAB_SIZE = 151936
EOS_TOKEN_ID = 151645  # <|im_end|>
PAD_TOKEN_ID = 151643  # <|endoftext|>

# Small enough to build and run in a second on a CPU, large enough to be a real Qwen3 stack.
HIDDEN_SIZE = 64
INTERMEDIATE_SIZE = 128
NUM_LAYERS = 2
NUM_ATTENTION_HEADS = 4
NUM_KEY_VALUE_HEADS = 2
HEAD_DIM = 16
MAX_POSITION_EMBEDDINGS = 8192

# How build_tiny_qwen3 makes one token likely (see _favour): a hidden dimension held at
# FAVOUR_BASE for every token, and the favoured token's weight on it raised to FAVOUR_WEIGHT.
# These values make the favoured token likely but not certain at each step (measured: "</think>"
# after 1 to about 40 thinking tokens, depending on the seed).
FAVOUR_DIMENSION = 0
FAVOUR_BASE = 0.1
FAVOUR_WEIGHT = 0.5


def tiny_qwen3_config(**overrides: object) -> Qwen3Config:
    """The tiny Qwen3's config; `overrides` change or add fields (rope scaling, say)."""
    fields: dict[str, object] = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_ATTENTION_HEADS,
        num_key_value_heads=NUM_KEY_VALUE_HEADS,
        head_dim=HEAD_DIM,
        max_position_embeddings=MAX_POSITION_EMBEDDINGS,
        tie_word_embeddings=True,  # as in Qwen3-0.6B; _favour relies on it
        eos_token_id=EOS_TOKEN_ID,
        pad_token_id=PAD_TOKEN_ID,
        bos_token_id=None,
    )
    return Qwen3Config(**(fields | overrides))


def build_tiny_qwen3(
    path: Path, *, seed: int = 0, favoured_token_id: int | None = None, **config: object
) -> Path:
    """Save a randomly initialised (seeded) Qwen3 and the Qwen3 tokenizer into `path`.

    The folder loads like a downloaded model: config.json, safetensors weights, tokenizer files
    and a generation config. With `favoured_token_id` the model writes that token often (e.g.
    "</think>", which random weights otherwise never pick).
    """
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(tiny_qwen3_config(**config))
    if favoured_token_id is not None:
        _favour(model, favoured_token_id)
    model.generation_config = GenerationConfig(
        eos_token_id=EOS_TOKEN_ID, pad_token_id=PAD_TOKEN_ID, bos_token_id=None
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(path)
    return path


@torch.no_grad()
def _favour(model: Qwen3ForCausalLM, token_id: int) -> None:
    """Raise one token's logit at every position, keeping the model a plain Qwen3 checkpoint.

    Every token's embedding gets the same value on one dimension, and no layer writes to that
    dimension, so it reaches the final norm unchanged and positive. With tied embeddings each
    logit is the normed hidden state times the token's embedding, so the favoured token, whose
    embedding is larger on that dimension, gains the same margin at every step.
    """
    embeddings = model.model.embed_tokens.weight
    embeddings[:, FAVOUR_DIMENSION] = FAVOUR_BASE
    embeddings[token_id, FAVOUR_DIMENSION] = FAVOUR_WEIGHT
    for layer in model.model.layers:
        layer.self_attn.o_proj.weight[FAVOUR_DIMENSION, :] = 0
        layer.mlp.down_proj.weight[FAVOUR_DIMENSION, :] = 0
