"""Grade with a Qwen3 model run in-process by Hugging Face transformers.

Generation has two phases per request (grading.llm.decoding): the model thinks, sampled the way
Qwen advises, until it closes the thought or spends the thinking budget (then the thought is
closed the way Qwen documents); then it writes the answer under an xgrammar grammar built from
the answer's JSON schema, so the answer always parses and fits the rubric, whatever the model's
size.

Requests are graded in batches (grading.llm.batched): the prompt prefix they share (system
prompt, task, rubric) is computed once and kept for the next batch of the same assignment, and
one forward pass per step advances every request. `generate` is a batch of one.

The model's family (grading.llm.families) comes from its chat template: Qwen3's template takes
`enable_thinking`; a QwQ-style template opens "<think>" itself; a Qwen2.5-style template has no
thinking at all, so such a model skips the thinking phase.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import xgrammar as xgr
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from grading.llm.backends.base import (
    TRACE_FLUSH_SECONDS,
    BackendError,
    GradingBackend,
    TraceCallback,
    check_settings,
)
from grading.llm.batched import (
    DecodeBatch,
    PrefixKV,
    common_prefix_length,
    prefix_extend,
    use_shared_prefix_attention,
)
from grading.llm.decoding import STOP_BUDGET, Closings, Row, decode_rows
from grading.llm.families import Family, family_from_template, settings_for_family
from grading.llm.prompt import overflow_advice
from grading.llm.thinking import EARLY_STOP_TEXT, THINK_END, THINK_START
from grading.llm.types import Generation, GenerationRequest, GenerationSettings, ModelSpec

DTYPES: dict[str, torch.dtype | str] = {
    # On a GPU, whatever the checkpoint was saved in (bfloat16 for Qwen3); on a CPU, bfloat16
    # where the CPU computes in it, else float32 (see _resolve_dtype).
    "auto": "auto",
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
DEVICES = ("cpu", "cuda", "auto")
# ModelSpec.quantization -> bitsandbytes settings; needs a CUDA GPU, bitsandbytes and accelerate.
QUANTIZATIONS: dict[str, dict[str, bool]] = {
    "8bit": {"load_in_8bit": True},
    "4bit": {"load_in_4bit": True},
}
QUANTIZATION_PACKAGES = ("bitsandbytes", "accelerate")
# Rendered through the chat template once, to see whether the template opens "<think>" itself.
FAMILY_PROBE = ({"role": "user", "content": "Hello"},)

# What follows a closed thought in Qwen3's chat template, before the answer.
AFTER_THINK_END = "\n\n"
# Closes a thought the model ended with <|im_end|> instead of </think>.
THOUGHT_CLOSING = f"\n{THINK_END}\n\n"

WEIGHT_SUFFIXES = (".safetensors", ".bin")
REVISION_CHARS = 16  # enough of the sha256 to tell two checkpoints apart
HASH_CHUNK_BYTES = 1 << 20
ERROR_DETAIL_CHARS = 500  # how much of a library's error text our messages carry


class TransformersBackend(GradingBackend):
    """Loads the tokenizer and the model once; one batch at a time per instance."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        device = _resolve_device(spec.device)
        self.tokenizer, self.model = _load(spec, _resolve_dtype(spec.dtype, device), device)
        use_shared_prefix_attention(self.model)
        self.model_revision = _model_revision(spec.model, self.model)
        self._family = self._detect_family()
        self._vocab_size = self.model.config.vocab_size
        tokenizer_info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self._vocab_size
        )
        # The compiler caches compiled grammars, so each rubric's schema is compiled once.
        self._grammar_compiler = xgr.GrammarCompiler(tokenizer_info)
        self._think_start_ids = self._encode(f"{THINK_START}\n")
        self._closings = Closings(
            after_think_end=tuple(self._encode(AFTER_THINK_END)),
            thought_closing=tuple(self._encode(THOUGHT_CLOSING)),
            early_stop=tuple(self._encode(EARLY_STOP_TEXT)),
        )
        # The last shared prefix, kept for the next batch of the same assignment.
        self._prefix: PrefixKV | None = None
        # One batch at a time: the model and the kept prefix are shared state.
        self._lock = threading.Lock()

    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        """Grade one request (a batch of one); raises BackendError."""
        (result,) = self.generate_batch([request], on_trace=[on_trace])
        if isinstance(result, BackendError):
            raise result
        return result

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_trace: Sequence[TraceCallback | None] | None = None,
    ) -> list[Generation | BackendError]:
        """Grade `requests` together. Steps:

        1. Settle each request's settings for the model's family; render its prompt ids.
        2. Refuse, per request, settings that cannot run and input that cannot fit the context
           (never cutting it); the others go on.
        3. Group the rest by sampling settings (the seed aside): each group is one batch.
        4. Per batch: reuse or compute the shared prefix, then decode every row to its answer.
        """
        callbacks = list(on_trace) if on_trace is not None else [None] * len(requests)
        results: list[Generation | BackendError | None] = [None] * len(requests)
        groups: dict[GenerationSettings, list[int]] = {}
        rows: dict[int, Row] = {}
        with self._lock, torch.inference_mode():
            for index, request in enumerate(requests):
                try:
                    rows[index] = self._row(request, callbacks[index])
                except BackendError as error:
                    results[index] = error
                    continue
                groups.setdefault(replace(rows[index].settings, seed=None), []).append(index)
            for indices in groups.values():
                group = [rows[index] for index in indices]
                try:
                    self._run_batch(group)
                except BackendError as error:
                    for index in indices:
                        results[index] = error
                    continue
                for index, row in zip(indices, group, strict=True):
                    results[index] = self._generation(row)
        return results

    @property
    def family(self) -> Family:
        return self._family

    def _row(self, request: GenerationRequest, on_trace: TraceCallback | None) -> Row:
        # The family decides whether the model thinks, whatever the request asked.
        settings = settings_for_family(request.settings, self.family)
        check_settings(settings)
        prompt = self._prompt_ids(request.messages, settings)
        self._check_context(len(prompt), settings, request.prompt_parts)
        try:
            # any_whitespace=False: a weak model could otherwise fill its budget with whitespace.
            grammar = self._grammar_compiler.compile_json_schema(
                json.dumps(request.json_schema), any_whitespace=False
            )
        except (RuntimeError, ValueError) as error:
            raise BackendError(
                f"The answer's JSON schema cannot be compiled: {_bounded(error)}", permanent=True
            ) from error
        return Row(prompt=prompt, settings=settings, grammar=grammar, on_trace=on_trace)

    def _run_batch(self, rows: list[Row]) -> None:
        """Decode `rows` (same settings but the seed) as one batch; raises BackendError."""
        try:
            prefix = self._shared_prefix([row.prompt for row in rows])
            shared = len(prefix) if prefix else 0
            batch = DecodeBatch(
                self.model,
                prefix,
                [row.prompt[shared:] for row in rows],
                pad_token_id=self.tokenizer.pad_token_id or 0,
            )
            decode_rows(
                batch,
                rows,
                closings=self._closings,
                vocab_size=self._vocab_size,
                decode=self._decode_text,
                trace_flush_seconds=TRACE_FLUSH_SECONDS,
            )
        except torch.OutOfMemoryError as error:
            self._prefix = None
            raise BackendError(
                f"The model ran out of memory while grading; retrying may help once other "
                f"work has finished, or lower the profile's batch size. ({_bounded(error)})",
                permanent=False,
            ) from error
        except (RuntimeError, ValueError) as error:
            # Bad settings or a library failure: the same request would fail again.
            raise BackendError(f"Generation failed: {_bounded(error)}", permanent=True) from error

    def _shared_prefix(self, prompts: list[list[int]]) -> PrefixKV | None:
        """The keys and values of the prompts' shared prefix, from the kept one where it fits.

        A batch shares the tokens its prompts have in common, but every row keeps at least one
        token of its own (its logits start the decoding). A batch of one shares only what the
        kept prefix has in common with it: its own prompt is of no use to the next batch.
        """
        own = min(len(prompt) for prompt in prompts) - 1
        kept = self._prefix
        if kept is not None:
            usable = min(own, *(common_prefix_length([kept.ids, p]) for p in prompts))
            kept = kept.truncated(usable) if usable > 0 else None
        if len(prompts) == 1:
            return kept
        shared = min(own, common_prefix_length(prompts))
        start = len(kept) if kept else 0
        if shared > start:
            kept = prefix_extend(self.model, kept, prompts[0][start:shared])
        if kept is not None:
            self._prefix = kept
        return kept

    def _generation(self, row: Row) -> Generation:
        return Generation(
            trace=row.trace(self._decode_text),
            answer=self._decode_text(row.answer),
            prompt_tokens=len(row.prompt),
            thinking_tokens=row.thinking_tokens,
            answer_tokens=len(row.answer),
            thinking_budget_reached=row.thinking_stop == STOP_BUDGET,
            answer_complete=row.answer_complete,
            model_revision=self.model_revision,
            extra={"thinking_stop": row.thinking_stop},
        )

    def _detect_family(self) -> Family:
        template = self.tokenizer.chat_template
        if not isinstance(template, str):
            return Family.QWEN25  # no template or several named ones: no thinking switch known
        generation_prompt = self.tokenizer.apply_chat_template(
            list(FAMILY_PROBE), add_generation_prompt=True, tokenize=False
        )
        return family_from_template(template, generation_prompt)

    def _prompt_ids(
        self, messages: tuple[dict[str, str], ...], settings: GenerationSettings
    ) -> list[int]:
        encoded = self.tokenizer.apply_chat_template(
            list(messages),
            add_generation_prompt=True,
            enable_thinking=settings.enable_thinking,
            tokenize=True,
            return_dict=True,
        )
        ids = list(encoded["input_ids"])
        # Qwen3's template leaves "<think>\n" for the model to write (later templates put it in
        # the prompt). Writing it ourselves makes every thinking token count against the budget
        # as reasoning, and the model would have written exactly this anyway.
        if settings.enable_thinking and ids[-len(self._think_start_ids) :] != self._think_start_ids:
            ids += self._think_start_ids
        return ids

    def _check_context(
        self,
        prompt_tokens: int,
        settings: GenerationSettings,
        parts: tuple[tuple[str, str], ...],
    ) -> None:
        thinking = (
            settings.thinking_budget + len(self._closings.early_stop)
            if settings.enable_thinking
            else 0
        )
        needed = prompt_tokens + thinking + settings.max_answer_tokens
        limit = min(settings.context_limit, _model_context(self.model.config, settings))
        if needed > limit:
            # Counted only now, part by part: what is large decides what to shorten.
            sizes = [(name, len(self._encode(text))) for name, text in parts]
            raise BackendError(
                f"Too long for the model's context: the prompt is {prompt_tokens:,} tokens, plus "
                f"up to {thinking:,} for thinking and {settings.max_answer_tokens:,} for the "
                f"answer makes {needed:,} tokens; the limit is {limit:,} tokens. "
                f"{overflow_advice(sizes, 'tokens')}; or lower the thinking budget or the "
                f"profile's maximum answer tokens, or use a model with a larger context.",
                permanent=True,
                input_too_long=True,
            )

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _decode_text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def _model_context(config: Any, settings: GenerationSettings) -> int:
    """The longest sequence the model was made for: its position limit, or with YaRN rope
    scaling in its config.json (as Qwen documents for long inputs) the original limit times the
    scaling factor."""
    positions = getattr(config, "max_position_embeddings", None) or settings.context_limit
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type") == "yarn":
        original = rope.get("original_max_position_embeddings") or positions
        return max(positions, int(original * rope.get("factor", 1.0)))
    return positions


def _resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise BackendError(
            f"Unknown device {device!r}; use one of: {', '.join(DEVICES)}.", permanent=True
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendError(
            "Device 'cuda' was asked for, but torch sees no CUDA GPU. Use device 'cpu' or "
            "'auto', or install a CUDA build of torch.",
            permanent=True,
        )
    return device


def _resolve_dtype(dtype: str, device: str) -> torch.dtype | str:
    if dtype not in DTYPES:
        raise BackendError(
            f"Unknown dtype {dtype!r}; use one of: {', '.join(DTYPES)}.", permanent=True
        )
    if dtype == "auto" and device == "cpu":
        # Measured with the Qwen3-0.6B architecture (BENCHMARKS.md): a CPU with bfloat16
        # instructions prefilled 2.6 times faster and decoded 1.5 times faster in bfloat16 than
        # in float32; one without them, where PyTorch emulates bfloat16, 3.7 times slower.
        return torch.bfloat16 if cpu_computes_in_bfloat16() else torch.float32
    return DTYPES[dtype]


# CPU features (Linux /proc/cpuinfo flags) with bfloat16 arithmetic: AVX-512 BF16, Intel AMX.
BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_computes_in_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has bfloat16 instructions; False where the flags cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return any(
        BFLOAT16_CPU_FLAGS & set(line.partition(":")[2].split())
        for line in text.splitlines()
        if line.startswith("flags")
    )


def _load(
    spec: ModelSpec, dtype: torch.dtype | str, device: str
) -> tuple[PreTrainedTokenizerBase, Any]:
    model = spec.model
    # A local folder is what it is; a revision pins the files of a hub id.
    revision = {"revision": spec.revision} if spec.revision else {}
    quantization = _quantization(spec, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, **revision)
        if quantization:
            # bitsandbytes places the weights itself, through accelerate's device map.
            loaded = AutoModelForCausalLM.from_pretrained(
                model, dtype=dtype, quantization_config=quantization, device_map=device, **revision
            )
        else:
            # Loaded on the CPU, then moved: a device_map would need the accelerate package.
            loaded = AutoModelForCausalLM.from_pretrained(model, dtype=dtype, **revision).to(device)
    except torch.OutOfMemoryError as error:
        raise BackendError(
            f"Not enough memory to load model {model!r} on {device}: {_bounded(error)}",
            permanent=False,
        ) from error
    except Exception as error:  # any other failure means this model cannot be used as configured
        raise BackendError(_load_failure(model, error), permanent=True) from error
    loaded.eval()
    return tokenizer, loaded


def _quantization(spec: ModelSpec, device: str) -> BitsAndBytesConfig | None:
    if not spec.quantization:
        return None
    if spec.quantization not in QUANTIZATIONS:
        raise BackendError(
            f"Unknown quantization {spec.quantization!r}; use one of: "
            f"{', '.join(QUANTIZATIONS)}, or none.",
            permanent=True,
        )
    missing = [name for name in QUANTIZATION_PACKAGES if importlib.util.find_spec(name) is None]
    if device != "cuda" or missing:
        needs = f"install {' and '.join(missing)}" if missing else "use device 'cuda' or 'auto'"
        raise BackendError(
            f"{spec.quantization} quantization runs only on a CUDA GPU with the bitsandbytes and "
            f"accelerate packages ({needs}), or turn quantization off.",
            permanent=True,
        )
    return BitsAndBytesConfig(**QUANTIZATIONS[spec.quantization])


def _load_failure(model: str, error: Exception) -> str:
    if Path(model).is_dir():
        advice = (
            f"Could not load model from folder {model!r}. The folder must hold config.json, the "
            f"weights (*.safetensors) and the tokenizer files; if any is missing or damaged, "
            f"download them again with `huggingface-cli download <hub id> --local-dir {model}`."
        )
    else:
        advice = (
            f"Could not load model {model!r}: no local folder of that name and it could not be "
            f"downloaded (offline?). Download it once with `huggingface-cli download {model}` "
            f"or set AAIE_MODEL to a local folder holding config.json, the weights and the "
            f"tokenizer."
        )
    return f"{advice} ({type(error).__name__}: {_bounded(error)})"


def _model_revision(model: str, loaded: PreTrainedModel) -> str:
    """A short fingerprint of the weights, stored with each grade so it can be reproduced."""
    folder = Path(model)
    if folder.is_dir():
        digest = hashlib.sha256()
        for path in sorted(folder.iterdir()):
            if path.suffix in WEIGHT_SUFFIXES:
                digest.update(path.name.encode())
                with path.open("rb") as weights:
                    while chunk := weights.read(HASH_CHUNK_BYTES):
                        digest.update(chunk)
        return f"sha256:{digest.hexdigest()[:REVISION_CHARS]}"
    # From the hub cache: the commit the files came from names them exactly.
    commit = getattr(loaded.config, "_commit_hash", None)
    return f"{model}@{commit}" if commit else model


def _bounded(error: BaseException) -> str:
    text = str(error).strip()
    return text if len(text) <= ERROR_DETAIL_CHARS else text[:ERROR_DETAIL_CHARS] + "…"
