"""Grade with a Qwen3 model run in-process by Hugging Face transformers.

Generation runs in two phases. Phase one lets the model think, sampled the way Qwen advises, until
it closes the thought or spends the thinking budget; at the budget the thought is closed the way
Qwen documents (EARLY_STOP_TEXT). Phase two continues from there and writes the answer under an
xgrammar grammar built from the answer's JSON schema, so the answer always parses and fits the
rubric, whatever the model's size.

The model's family (grading.llm.families) comes from its chat template: Qwen3's template takes
`enable_thinking`; a QwQ-style template opens "<think>" itself; a Qwen2.5-style template has no
thinking at all, so such a model skips phase one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import xgrammar as xgr
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    LogitsProcessor,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.generation.streamers import BaseStreamer
from xgrammar.contrib.hf import LogitsProcessor as GrammarLogitsProcessor

from grading.llm.backends.base import (
    TRACE_FLUSH_SECONDS,
    BackendError,
    GradingBackend,
    TraceCallback,
    check_settings,
)
from grading.llm.families import Family, family_from_template, settings_for_family
from grading.llm.thinking import (
    EARLY_STOP_SENTENCE,
    EARLY_STOP_TEXT,
    IM_END_TOKEN_ID,
    THINK_END,
    THINK_END_TOKEN_ID,
    THINK_START,
)
from grading.llm.types import Generation, GenerationRequest, GenerationSettings, ModelSpec

DTYPES: dict[str, torch.dtype | str] = {
    "auto": "auto",  # whatever the checkpoint was saved in (bfloat16 for Qwen3)
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

# Phase one stops at the first of these: the end of the thought, or the end of the turn.
THINKING_STOP_IDS = (THINK_END_TOKEN_ID, IM_END_TOKEN_ID)

# Why phase one stopped, recorded in Generation.extra["thinking_stop"].
STOP_THINK_END = "think_end"  # the model wrote </think>
STOP_IM_END = "im_end"  # the model ended its turn inside the thought
STOP_BUDGET = "budget"  # the thinking budget ran out
STOP_THINKING_OFF = "off"  # thinking disabled; no phase one


@dataclass(frozen=True)
class _Thought:
    ids: list[int]  # what phase two continues from: the generated thought and its closing
    trace: str
    generated_tokens: int
    stop: str


@dataclass(frozen=True)
class _Answer:
    text: str
    generated_tokens: int
    complete: bool


class TransformersBackend(GradingBackend):
    """Loads the tokenizer and the model once; one generation at a time per instance."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        device = _resolve_device(spec.device)
        self.tokenizer, self.model = _load(spec, _resolve_dtype(spec.dtype), device)
        self.model_revision = _model_revision(spec.model, self.model)
        self._family = self._detect_family()
        tokenizer_info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.model.config.vocab_size
        )
        # The compiler caches compiled grammars, so each rubric's schema is compiled once.
        self._grammar_compiler = xgr.GrammarCompiler(tokenizer_info)
        self._think_start_ids = self._encode(f"{THINK_START}\n")
        self._after_think_end_ids = self._encode(AFTER_THINK_END)
        self._thought_closing_ids = self._encode(THOUGHT_CLOSING)
        self._early_stop_ids = self._encode(EARLY_STOP_TEXT)
        # Generation seeds torch's global generator and keeps a KV cache: one call at a time.
        self._lock = threading.Lock()

    def generate(
        self, request: GenerationRequest, *, on_trace: TraceCallback | None = None
    ) -> Generation:
        """Grade one request.

        1. Render the chat template into prompt ids.
        2. Refuse input that cannot fit the context, never cutting it.
        3. Phase one (thinking on): reason until </think> or the thinking budget.
        4. Phase two: write the answer under the JSON-schema grammar.
        """
        # The family decides whether the model thinks, whatever the request asked.
        settings = settings_for_family(request.settings, self.family)
        check_settings(settings)
        with self._lock, torch.inference_mode():
            try:
                prompt_ids = self._prompt_ids(request.messages, settings)
                self._check_context(len(prompt_ids), settings)
                if settings.seed is not None:
                    torch.manual_seed(settings.seed)
                thought = (
                    self._think(prompt_ids, settings, on_trace)
                    if settings.enable_thinking
                    else _Thought(ids=[], trace="", generated_tokens=0, stop=STOP_THINKING_OFF)
                )
                answer = self._answer(
                    prompt_ids + thought.ids,
                    request.json_schema,
                    settings,
                    # The presence penalty covers everything generated: the thought and the answer.
                    penalised_from=len(prompt_ids),
                )
            except torch.OutOfMemoryError as error:
                raise BackendError(
                    f"The model ran out of memory while grading; retrying may help once other "
                    f"work has finished. ({_bounded(error)})",
                    permanent=False,
                ) from error
            except (RuntimeError, ValueError) as error:
                # Bad settings or a library failure: the same request would fail again.
                raise BackendError(
                    f"Generation failed: {_bounded(error)}", permanent=True
                ) from error
        return Generation(
            trace=thought.trace,
            answer=answer.text,
            prompt_tokens=len(prompt_ids),
            thinking_tokens=thought.generated_tokens,
            answer_tokens=answer.generated_tokens,
            thinking_budget_reached=thought.stop == STOP_BUDGET,
            answer_complete=answer.complete,
            model_revision=self.model_revision,
            extra={"thinking_stop": thought.stop},
        )

    @property
    def family(self) -> Family:
        return self._family

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

    def _check_context(self, prompt_tokens: int, settings: GenerationSettings) -> None:
        thinking = (
            settings.thinking_budget + len(self._early_stop_ids) if settings.enable_thinking else 0
        )
        needed = prompt_tokens + thinking + settings.max_answer_tokens
        model_limit = getattr(self.model.config, "max_position_embeddings", settings.context_limit)
        limit = min(settings.context_limit, model_limit)
        if needed > limit:
            raise BackendError(
                f"Submission too long for the model's context: the prompt is {prompt_tokens} "
                f"tokens, plus up to {thinking} for thinking and {settings.max_answer_tokens} for "
                f"the answer makes {needed} tokens; the limit is {limit} tokens. Shorten the "
                f"submission, lower the thinking budget, or use a model with a larger context.",
                permanent=True,
                input_too_long=True,
            )

    def _think(
        self, prompt_ids: list[int], settings: GenerationSettings, on_trace: TraceCallback | None
    ) -> _Thought:
        streamer = _TraceStreamer(self.tokenizer, on_trace, TRACE_FLUSH_SECONDS)
        generated = self._sample(
            prompt_ids,
            settings,
            max_new_tokens=settings.thinking_budget,
            eos_token_id=list(THINKING_STOP_IDS),
            streamer=streamer,
        )
        last = generated[-1] if generated else None
        if last == THINK_END_TOKEN_ID:
            stop = STOP_THINK_END
            thought_ids = generated[:-1]
            closing = [THINK_END_TOKEN_ID, *self._after_think_end_ids]
        elif last == IM_END_TOKEN_ID:
            stop = STOP_IM_END
            thought_ids = generated[:-1]
            closing = self._thought_closing_ids
        else:
            stop = STOP_BUDGET
            thought_ids = generated
            closing = self._early_stop_ids
        trace = self._decode(thought_ids).strip()
        if stop == STOP_BUDGET:
            # Keep the sentence in the trace so a reader sees where the thought was cut.
            trace = f"{trace}\n\n{EARLY_STOP_SENTENCE}"
        return _Thought(
            ids=thought_ids + closing, trace=trace, generated_tokens=len(generated), stop=stop
        )

    def _answer(
        self,
        input_ids: list[int],
        json_schema: dict[str, Any],
        settings: GenerationSettings,
        *,
        penalised_from: int,
    ) -> _Answer:
        # any_whitespace=False: a weak model could otherwise fill its budget with whitespace.
        grammar = self._grammar_compiler.compile_json_schema(
            json.dumps(json_schema), any_whitespace=False
        )
        generated = self._sample(
            input_ids,
            settings,
            max_new_tokens=settings.max_answer_tokens,
            eos_token_id=IM_END_TOKEN_ID,
            # One processor per call: it keeps the grammar's state for a single generation.
            extra_processors=[GrammarLogitsProcessor(grammar)],
            penalised_from=penalised_from,
        )
        # The grammar allows <|im_end|> only once the JSON is complete.
        complete = bool(generated) and generated[-1] == IM_END_TOKEN_ID
        return _Answer(
            text=self._decode(generated), generated_tokens=len(generated), complete=complete
        )

    def _sample(
        self,
        input_ids: list[int],
        settings: GenerationSettings,
        *,
        extra_processors: list[LogitsProcessor] | None = None,
        penalised_from: int | None = None,
        **generate_kwargs: Any,
    ) -> list[int]:
        """Sample a continuation of `input_ids` with the profile's settings; return the new ids.

        Temperature 0 (allowed only without thinking, see check_settings) decodes greedily.
        """
        inputs = torch.tensor([input_ids], device=self.model.device)
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
        output = self.model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            repetition_penalty=settings.repetition_penalty,
            logits_processor=processors,
            pad_token_id=self.tokenizer.pad_token_id,
            **sampling,
            **generate_kwargs,
        )
        return output[0, len(input_ids) :].tolist()

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


class _PresencePenalty(LogitsProcessor):
    """OpenAI's presence penalty, which transformers lacks: every token already generated (from
    `start` on) loses `penalty` from its logit, once, however often it appeared."""

    def __init__(self, penalty: float, start: int) -> None:
        self._penalty = penalty
        self._start = start

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self._start :]
        if generated.shape[1] == 0:
            return scores
        seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, generated, True)
        return scores - self._penalty * seen.to(scores.dtype)


class _TraceStreamer(BaseStreamer):
    """Collects the thinking tokens and hands the text so far to `on_trace` now and then."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        on_trace: TraceCallback | None,
        flush_seconds: float,
    ) -> None:
        self._tokenizer = tokenizer
        self._on_trace = on_trace
        self._flush_seconds = flush_seconds
        self._ids: list[int] = []
        self._prompt_seen = False
        self._last_flush = time.monotonic()

    def put(self, value: torch.Tensor) -> None:
        # generate() first pushes the whole prompt, then one tensor per new token.
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        # The token that ends the thought is not part of it.
        self._ids.extend(
            token for token in value.flatten().tolist() if token not in THINKING_STOP_IDS
        )
        now = time.monotonic()
        if self._on_trace is not None and now - self._last_flush >= self._flush_seconds:
            self._last_flush = now
            self._on_trace(self._tokenizer.decode(self._ids, skip_special_tokens=True))

    def end(self) -> None:
        # The caller stores the final trace from the Generation; nothing to flush here.
        return


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


def _resolve_dtype(dtype: str) -> torch.dtype | str:
    if dtype not in DTYPES:
        raise BackendError(
            f"Unknown dtype {dtype!r}; use one of: {', '.join(DTYPES)}.", permanent=True
        )
    return DTYPES[dtype]


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
