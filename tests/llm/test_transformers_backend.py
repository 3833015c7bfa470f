"""The transformers backend on a tiny random Qwen3 with the real tokenizer: the real code path.

Random weights never write "</think>" by themselves, so they exercise the thinking budget; a
second tiny model that favours "</think>" exercises a thought the model ends itself. Whatever
the weights, the grammar makes the answer parse.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from transformers import PreTrainedTokenizerBase

from grading.llm.backends import get_backend, transformers_local
from grading.llm.backends.base import BackendError
from grading.llm.backends.transformers_local import TransformersBackend
from grading.llm.prompt import build_messages, prompt_parts
from grading.llm.schema import (
    AnswerLimits,
    answer_schema,
    answer_token_bound,
    limits_within_budget,
    parse_answer,
)
from grading.llm.thinking import EARLY_STOP_SENTENCE, THINK_END
from grading.llm.types import (
    Generation,
    GenerationRequest,
    GenerationSettings,
    GradingTask,
    Level,
    ModelSpec,
)

pytestmark = pytest.mark.slow

THINKING_BUDGET = 24
# Random weights fill every string to its maxLength, so small limits keep answers short.
LIMITS = AnswerLimits(
    justification_max_chars=40, feedback_max_chars=60, evidence_max_items=1, evidence_max_chars=20
)
MAX_ANSWER_TOKENS = 512  # measured: 2 criteria take 100 to 160 tokens under LIMITS


@pytest.fixture(scope="session")
def backend(tiny_model_dir: Path) -> TransformersBackend:
    backend = get_backend(ModelSpec(backend="transformers", model=str(tiny_model_dir)))
    assert isinstance(backend, TransformersBackend)
    return backend


@pytest.fixture(scope="session")
def closing_backend(thought_closing_qwen_dir: Path) -> TransformersBackend:
    return TransformersBackend(
        ModelSpec(backend="transformers", model=str(thought_closing_qwen_dir))
    )


@pytest.fixture
def task(make_task: Callable[..., GradingTask]) -> GradingTask:
    return make_task("Cats are better than dogs because they purr and they are independent.")


def request_for(task: GradingTask, **settings: object) -> GenerationRequest:
    defaults: dict[str, object] = {
        "thinking_budget": THINKING_BUDGET,
        "max_answer_tokens": MAX_ANSWER_TOKENS,
        "seed": 7,
    }
    return GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric, LIMITS),
        settings=GenerationSettings(**(defaults | settings)),
        prompt_parts=prompt_parts(task),
    )


def assert_answer_fits(generation: Generation, task: GradingTask) -> None:
    assert generation.answer_complete
    answer = parse_answer(generation.answer, task.rubric, LIMITS)
    assert [score.key for score in answer.scores] == ["C1", "C2"]


def collect(traces: list[str]):
    """A trace callback that keeps the traces (the backend also passes their token counts)."""
    return lambda trace, tokens=None: traces.append(trace)


def test_a_thought_that_runs_out_of_budget_is_closed_and_answered(
    backend: TransformersBackend, task: GradingTask
) -> None:
    traces: list[str] = []
    started = time.monotonic()

    generation = backend.generate(request_for(task), on_trace=collect(traces))

    elapsed = time.monotonic() - started
    assert generation.thinking_budget_reached
    assert generation.extra["thinking_stop"] == "budget"
    assert generation.thinking_tokens == THINKING_BUDGET
    # The trace shows the reasoning, then where Qwen's closing sentence cut it.
    assert generation.trace.endswith(f"\n\n{EARLY_STOP_SENTENCE}")
    assert len(generation.trace) > len(EARLY_STOP_SENTENCE)
    assert THINK_END not in generation.trace
    assert generation.prompt_tokens > 0
    assert generation.answer_tokens > 0
    assert_answer_fits(generation, task)
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", generation.model_revision)
    # At most one trace update per TRACE_FLUSH_SECONDS.
    assert len(traces) <= elapsed / transformers_local.TRACE_FLUSH_SECONDS


def test_a_thought_the_model_closes_is_split_at_think_end(
    closing_backend: TransformersBackend,
    task: GradingTask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transformers_local, "TRACE_FLUSH_SECONDS", 0)
    traces: list[str] = []
    budget = 200  # far more than this model needs to write "</think>"

    # Seed 3: measured to think for about ten tokens before "</think>" (other seeds: 1 to 40).
    generation = closing_backend.generate(
        request_for(task, thinking_budget=budget, seed=3), on_trace=collect(traces)
    )

    assert not generation.thinking_budget_reached
    assert generation.extra["thinking_stop"] == "think_end"
    assert 1 < generation.thinking_tokens < budget
    assert EARLY_STOP_SENTENCE not in generation.trace
    # The trace is exactly what streamed before "</think>": the split happened there.
    assert generation.trace
    assert generation.trace == traces[-1].strip()
    assert_answer_fits(generation, task)


def test_without_thinking_it_answers_directly(
    backend: TransformersBackend, task: GradingTask
) -> None:
    traces: list[str] = []

    generation = backend.generate(
        request_for(task, enable_thinking=False), on_trace=collect(traces)
    )

    assert generation.trace == ""
    assert generation.thinking_tokens == 0
    assert not generation.thinking_budget_reached
    assert generation.extra["thinking_stop"] == "off"
    assert traces == []
    assert_answer_fits(generation, task)


def test_the_trace_streams_while_the_model_thinks(
    backend: TransformersBackend, task: GradingTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transformers_local, "TRACE_FLUSH_SECONDS", 0)
    traces: list[str] = []

    generation = backend.generate(request_for(task), on_trace=collect(traces))

    assert len(traces) > 1
    # Each update holds the whole trace so far, so it grows.
    assert all(
        later.startswith(earlier) for earlier, later in zip(traces, traces[1:], strict=False)
    )
    assert len(traces[-1]) > len(traces[0])
    assert generation.trace.startswith(traces[-1].strip())


def test_the_token_count_streams_with_the_trace(
    backend: TransformersBackend, task: GradingTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transformers_local, "TRACE_FLUSH_SECONDS", 0)
    counts: list[int] = []

    generation = backend.generate(
        request_for(task), on_trace=lambda trace, tokens=None: counts.append(tokens)
    )

    # While thinking, every update says how many tokens the thought has: the page's count.
    assert counts and all(isinstance(count, int) for count in counts)
    assert counts == sorted(counts) and counts[0] > 0
    assert counts[-1] <= generation.thinking_tokens


def test_the_same_seed_gives_the_same_generation(
    backend: TransformersBackend, task: GradingTask
) -> None:
    first = backend.generate(request_for(task, seed=11))

    assert backend.generate(request_for(task, seed=11)) == first
    assert backend.generate(request_for(task, seed=12)) != first


def test_an_answer_cut_off_by_its_token_limit_is_marked_incomplete(
    backend: TransformersBackend, task: GradingTask
) -> None:
    generation = backend.generate(request_for(task, enable_thinking=False, max_answer_tokens=8))

    assert generation.answer_tokens == 8
    assert not generation.answer_complete


def test_input_too_long_for_the_context_is_refused_not_cut(
    backend: TransformersBackend, task: GradingTask
) -> None:
    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task, context_limit=600))

    error = caught.value
    assert error.permanent
    assert error.input_too_long
    message = str(error)
    assert message.startswith("Too long for the model's context")
    assert re.search(r"the prompt is \d+ tokens", message)
    # The thinking reserve covers the budget and the sentence that closes a thought cut short.
    reserve = re.search(r"plus up to (\d+) for thinking", message)
    assert reserve and int(reserve.group(1)) > THINKING_BUDGET
    assert "the limit is 600 tokens" in message


def test_a_prompt_too_long_names_its_largest_part_with_token_counts(
    backend: TransformersBackend,
    task: GradingTask,
    qwen_tokenizer: PreTrainedTokenizerBase,
) -> None:
    wordy = Level("Excellent", 4, "An argument that is complete and clearly reasoned. " * 40)
    criteria = tuple(replace(c, levels=(wordy, *c.levels[1:])) for c in task.rubric.criteria)
    task = replace(task, rubric=replace(task.rubric, criteria=criteria))
    parts = dict(prompt_parts(task))
    rubric_tokens = len(qwen_tokenizer.encode(parts["rubric"], add_special_tokens=False))
    submission_tokens = len(qwen_tokenizer.encode(parts["submission"], add_special_tokens=False))

    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task, context_limit=1200))

    message = str(caught.value)
    assert caught.value.input_too_long
    # The rubric, not the short submission, is what to shorten.
    assert f"The rubric takes {rubric_tokens:,} tokens of the prompt" in message
    assert f"the submission {submission_tokens:,}" in message
    assert "shorten the rubric's descriptions" in message
    assert "shorten the submission" not in message


def test_an_eight_criterion_rubric_is_answered_within_the_default_answer_budget(
    backend: TransformersBackend, make_task: Callable[..., GradingTask]
) -> None:
    task = make_task("Cats purr, and they are independent.", criteria=8)
    budget = GenerationSettings().max_answer_tokens
    limits = limits_within_budget(task.rubric, budget)  # the product's limits, shrunk to fit
    schema = answer_schema(task.rubric, limits)
    request = GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=schema,
        settings=GenerationSettings(thinking_budget=THINKING_BUDGET, seed=5),
        prompt_parts=prompt_parts(task),
    )

    generation = backend.generate(request)

    assert generation.answer_complete, generation.answer[-200:]
    assert generation.answer_tokens <= answer_token_bound(schema) <= budget
    answer = parse_answer(generation.answer, task.rubric, limits)
    assert [score.key for score in answer.scores] == [f"C{n}" for n in range(1, 9)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"temperature": 0.0}, "must not be decoded greedily"),
        ({"thinking_budget": 0}, "thinking budget must be at least 1 token"),
        ({"max_answer_tokens": 0}, "answer needs at least 1 token"),
    ],
)
def test_unusable_settings_are_refused(
    backend: TransformersBackend, task: GradingTask, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(BackendError) as caught:
        backend.generate(request_for(task, **overrides))

    assert caught.value.permanent
    assert message in str(caught.value)


def test_a_missing_model_folder_is_a_permanent_error_saying_how_to_fix_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-model"

    with pytest.raises(BackendError) as caught:
        TransformersBackend(ModelSpec(backend="transformers", model=str(missing)))

    error = caught.value
    assert error.permanent
    assert str(missing) in str(error)
    assert "huggingface-cli download" in str(error)
    assert "AAIE_MODEL" in str(error)


def test_a_folder_without_weights_is_a_permanent_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as caught:
        TransformersBackend(ModelSpec(backend="transformers", model=str(tmp_path)))

    assert caught.value.permanent
    assert f"Could not load model from folder {str(tmp_path)!r}" in str(caught.value)


@pytest.mark.parametrize(("device", "dtype"), [("tpu", "auto"), ("cpu", "float8")])
def test_unknown_device_or_dtype_is_a_permanent_error(
    tiny_model_dir: Path, device: str, dtype: str
) -> None:
    spec = ModelSpec(backend="transformers", model=str(tiny_model_dir), device=device, dtype=dtype)

    with pytest.raises(BackendError) as caught:
        TransformersBackend(spec)

    assert caught.value.permanent
    assert "Unknown" in str(caught.value)


CPUINFO_FLAGS = "fpu sse2 avx2 avx512f avx512_vnni"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (CPUINFO_FLAGS, False),
        (f"{CPUINFO_FLAGS} avx512_bf16", True),
        (f"{CPUINFO_FLAGS} amx_bf16 amx_tile", True),
    ],
)
def test_the_cpu_computes_in_bfloat16_only_with_its_instructions(
    tmp_path: Path, flags: str, expected: bool
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n")

    assert transformers_local.cpu_computes_in_bfloat16(cpuinfo) is expected
    assert transformers_local.cpu_computes_in_bfloat16(tmp_path / "missing") is False


@pytest.mark.parametrize(("bfloat16_cpu", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_auto_dtype_on_a_cpu_is_bfloat16_only_where_the_cpu_computes_in_it(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, bfloat16_cpu: bool, expected: str
) -> None:
    monkeypatch.setattr(transformers_local, "cpu_computes_in_bfloat16", lambda: bfloat16_cpu)

    backend = TransformersBackend(ModelSpec(backend="transformers", model=str(tiny_model_dir)))

    assert str(backend.model.dtype) == f"torch.{expected}"


@pytest.mark.parametrize(
    ("quantization", "expected"),
    [
        ("8bit", "8bit quantization runs only on a CUDA GPU"),
        ("4bit", "4bit quantization runs only on a CUDA GPU"),
        ("3bit", "Unknown quantization '3bit'"),
    ],
)
def test_quantisation_without_a_gpu_is_refused_with_what_to_do(
    tiny_model_dir: Path, quantization: str, expected: str
) -> None:
    # bitsandbytes quantises on a CUDA GPU only; this machine has none, so this is the path a
    # CPU-only deployment takes. (Quantised grading itself needs a GPU to test.)
    spec = ModelSpec(backend="transformers", model=str(tiny_model_dir), quantization=quantization)

    with pytest.raises(BackendError, match=expected) as caught:
        TransformersBackend(spec)

    assert caught.value.permanent
