"""Where the time of one grammar-constrained decoding step goes on a CPU.

The worker's own answer loop (grading.llm.decoding) on the tiny Qwen3 that the tests use (seeded
random weights, the real tokenizer, the real 151,936-entry vocabulary), split into its parts and
timed one by one at every step:

- forward: one DecodeBatch.step, the model's forward pass for every row;
- mask fill: xgrammar's matchers fill the token bitmask (one per row);
- mask apply: xgrammar's apply_token_bitmask_inplace on the logits;
- warp: temperature, top-k, top-p (Qwen's thinking-mode sampling) over the masked logits, both
  the whole-vocabulary way (transformers' warpers in turn) and the candidates-only way the
  Sampler uses now; the two must give the same logits;
- draw: softmax and torch.multinomial over the vocabulary, one generator per row;
- accept: the matcher takes the token.

The answer is an 8-criterion rubric's under the default answer budget (text bounds shrunk to fit,
grading.llm.schema.limits_within_budget). Both CPU time (time.thread_time: what the step costs
this core, whatever else runs on the machine) and wall time are reported, per part, as the median
over the steps. torch runs on THREADS threads so that CPU time is the work itself.

    .venv/bin/python bench/decode_step.py [--steps 300] [--rows 1 2] [--threads 1]
        [--grading-threads 1 2] [--out FILE]

It also times one whole grading of that rubric with torch on 1 and on 2 threads: on a machine
whose cores are busy with other work, OpenMP threads waiting for a core spin.

Set ATEN_CPU_CAPABILITY=avx2 to time PyTorch's kernels as on a CPU without AVX-512.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
import xgrammar as xgr  # noqa: E402

from bench.common import machine_info, write_results  # noqa: E402
from grading.llm.backends.transformers_local import TransformersBackend  # noqa: E402
from grading.llm.batched import DecodeBatch  # noqa: E402
from grading.llm.decoding import Row, Sampler, _apply  # noqa: E402
from grading.llm.prompt import build_messages  # noqa: E402
from grading.llm.schema import answer_schema, limits_within_budget  # noqa: E402
from grading.llm.thinking import IM_END_TOKEN_ID  # noqa: E402
from grading.llm.types import (  # noqa: E402
    Criterion,
    GenerationRequest,
    GenerationSettings,
    GradingTask,
    Level,
    ModelSpec,
    Rubric,
)
from tests.tiny_qwen import build_tiny_qwen3  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "decode_step.json"
CRITERIA = 8
STEPS = 300
THREADS = 1
PARTS = ("forward", "mask_fill", "mask_apply", "warp_full", "warp_candidates", "draw", "accept")
LEVELS = (
    Level("Excellent", 4, "Complete, correct and clearly argued."),
    Level("Adequate", 2, "Mostly correct, with gaps."),
    Level("Missing", 0, "Not attempted."),
)


def _task() -> GradingTask:
    rubric = Rubric(
        "Essay rubric",
        tuple(
            Criterion(f"C{n}", f"Criterion {n}", f"What criterion {n} looks for.", 4, LEVELS)
            for n in range(1, CRITERIA + 1)
        ),
    )
    return GradingTask("Essay", "Argue for a pet.", "", rubric, "Cats purr; they are calm.")


class _Clock:
    """CPU and wall seconds per part, one entry per timed block."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {part: [] for part in PARTS}
        self.wall: dict[str, list[float]] = {part: [] for part in PARTS}

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        cpu, wall = time.thread_time(), time.perf_counter()
        yield
        self.cpu[name].append(time.thread_time() - cpu)
        self.wall[name].append(time.perf_counter() - wall)


def run(steps: int, rows: int) -> dict:
    """Decode `rows` answers for at most `steps` steps, timing each part of each step."""
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build_tiny_qwen3(Path(folder) / "model")
        backend = TransformersBackend(ModelSpec("transformers", str(model_dir), dtype="float32"))
    task = _task()
    settings = GenerationSettings(enable_thinking=False, temperature=0.6, seed=1)
    limits = limits_within_budget(task.rubric, settings.max_answer_tokens)
    schema = answer_schema(task.rubric, limits)
    grammar = backend._grammar_compiler.compile_json_schema(
        json.dumps(schema), any_whitespace=False
    )
    prompt = backend._prompt_ids(tuple(build_messages(task)), settings)
    batch_rows = [Row(prompt=prompt, settings=settings, grammar=grammar) for _ in range(rows)]
    sampler = Sampler(settings, batch_rows, backend._vocab_size, "cpu")
    clock = _Clock()
    mismatches = 0
    with torch.inference_mode():
        batch = DecodeBatch(backend.model, None, [prompt] * rows)
        logits = batch.prefill()
        for _ in range(steps):
            scores = logits[:, : backend._vocab_size]
            for index, row in enumerate(batch_rows):
                with clock.part("mask_fill"):
                    row.matcher.fill_next_token_bitmask(sampler.bitmask, index)
            with clock.part("mask_apply"):
                xgr.apply_token_bitmask_inplace(scores, sampler.bitmask[:rows])
            with clock.part("warp_full"):
                full = _apply(sampler.warpers, scores.clone())
            with clock.part("warp_candidates"):
                fast = sampler._warp(scores.clone())
            mismatches += not torch.equal(full, fast)
            with clock.part("draw"):
                tokens = _draw(fast, sampler)
            for row, token in zip(batch_rows, tokens, strict=True):
                with clock.part("accept"):
                    row.matcher.accept_token(token)
            if IM_END_TOKEN_ID in tokens:
                break
            with clock.part("forward"):
                logits = batch.step(tokens)
    steps_done = len(clock.cpu["draw"])
    return {
        "rows": rows,
        "steps": steps_done,
        "prompt_tokens": len(prompt),
        "warp_mismatches": mismatches,
        "cpu_ms_p50": _medians(clock.cpu, rows),
        "wall_ms_p50": _medians(clock.wall, rows),
    }


def whole_grading(threads: int) -> dict:
    """One grading of the 8-criterion rubric (16 thinking tokens, then the answer) through the
    backend, with torch on `threads` threads: wall and CPU seconds of the whole process."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build_tiny_qwen3(Path(folder) / "model")
        backend = TransformersBackend(ModelSpec("transformers", str(model_dir), dtype="float32"))
    task = _task()
    limits = limits_within_budget(task.rubric, GenerationSettings().max_answer_tokens)
    request = GenerationRequest(
        messages=tuple(build_messages(task)),
        json_schema=answer_schema(task.rubric, limits),
        settings=GenerationSettings(thinking_budget=16, seed=5),
    )
    cpu, wall = time.process_time(), time.perf_counter()
    generation = backend.generate(request)
    return {
        "threads": threads,
        "tokens": generation.thinking_tokens + generation.answer_tokens,
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _draw(scores: torch.Tensor, sampler: Sampler) -> list[int]:
    probabilities = torch.softmax(scores, dim=-1)
    return [
        int(torch.multinomial(probabilities[i : i + 1], 1, generator=sampler.generators[i]))
        for i in range(scores.shape[0])
    ]


def _medians(times: dict[str, list[float]], rows: int) -> dict[str, float]:
    # Per-row parts (mask fill, accept) are summed over the rows of a step.
    per_step = {}
    for part, values in times.items():
        group = rows if part in ("mask_fill", "accept") else 1
        sums = [sum(values[i : i + group]) for i in range(0, len(values), group)]
        per_step[part] = round(statistics.median(sums) * 1000, 3) if sums else None
    return per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument(
        "--grading-threads",
        type=int,
        nargs="*",
        default=[1, 2],
        help="also time one whole grading with torch on each of these thread counts",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    results = {
        "machine": machine_info(),
        "torch_threads": args.threads,
        "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY", "default"),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gradings": [whole_grading(threads) for threads in args.grading_threads],
    }
    torch.set_num_threads(args.threads)
    results["steps"] = [run(args.steps, rows) for rows in args.rows]
    write_results(args.out, results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
