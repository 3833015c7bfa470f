"""Benchmark 2 of issue 9: the model path on a GPU, batch 1, 8, 32 and 64.

The workload of bench/model_path.py (the Qwen3-0.6B architecture with seeded random weights and
the real tokenizer; prompts of one assignment that share about 1,000 tokens, then about 300 of
submission; 128 generated tokens each, greedy) in bfloat16 on a CUDA GPU:

- plain: one `model.generate` for one submission (transformers' own single-stream speed);
- worker, batch B: what the worker does (grading.llm.batched) for B submissions at once.

Per batch it reports aggregate generated tokens/s, the mean time of a decoding step, the
prefill time and the peak GPU memory. A decoding step reads every weight once, so one stream
can decode at most (memory bandwidth ÷ bytes of weights) tokens/s: the report gives batch 1's
share of that ceiling (the bandwidth is looked up by GPU name, or given with --bandwidth-gbs).

    .venv/bin/python bench/model_path_gpu.py [--batch-sizes 1,8,32,64] [--tokens 128]
                                             [--bandwidth-gbs N] [--out FILE]

It needs a CUDA GPU. `--device cpu --tiny` runs the same code on a small model: a check that
the command works (tests/llm/test_bench_gpu_command.py), not a measurement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.common import machine_info, write_results  # noqa: E402
from bench.model_path import (  # noqa: E402
    GENERATED_TOKENS,
    QWEN3_0_6B,
    build_model,
    plain_generate,
    prompts_for,
)

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "model_path_gpu.json"
BATCH_SIZES = (1, 8, 32, 64)
GOAL_TOKENS_PER_SECOND = 2000
# Peak memory bandwidth in GB/s by the name torch reports (vendors' data sheets).
BANDWIDTH_GBS = {
    "H100 80GB HBM3": 3350,  # SXM
    "H100 PCIe": 2000,
    "H100 NVL": 3900,
    "H200": 4800,
    "A100-SXM4-80GB": 2039,
    "A100-SXM4-40GB": 1555,
    "A100-PCIE-40GB": 1555,
    "A100 80GB PCIe": 1935,
    "L4": 300,
}
# For --tiny: the same shape of model, small enough for a CPU.
TINY = {
    **QWEN3_0_6B,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
}


def measure(model_dir: Path, device: str, dtype: str, batch_sizes: list[int], tokens: int) -> dict:
    import torch

    from grading.llm.backends.transformers_local import TransformersBackend
    from grading.llm.batched import DecodeBatch, common_prefix_length, prefix_extend
    from grading.llm.types import ModelSpec

    backend = TransformersBackend(
        ModelSpec(backend="transformers", model=str(model_dir), device=device, dtype=dtype)
    )
    model = backend.model
    prompts = prompts_for(backend, max(batch_sizes))
    shared = common_prefix_length(prompts)

    def synchronised() -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    def worker(size: int, new_tokens: int) -> dict:
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        started = synchronised()
        prefix = prefix_extend(model, None, prompts[0][:shared])
        batch = DecodeBatch(model, prefix, [prompt[shared:] for prompt in prompts[:size]])
        logits = batch.prefill()
        first = logits.argmax(dim=-1).tolist()  # waits for the prefill
        prefilled = synchronised()
        tokens_now = first
        for _ in range(new_tokens - 1):  # the prefill's logits gave the first token
            logits = batch.step(tokens_now)
            tokens_now = logits.argmax(dim=-1).tolist()
        finished = synchronised()
        generated = size * new_tokens
        return {
            "batch_size": size,
            "generated_tokens": generated,
            "seconds": round(finished - started, 3),
            "tokens_per_second": round(generated / (finished - started), 1),
            "prefill_seconds": round(prefilled - started, 3),
            "decode_step_ms": round(1000 * (finished - prefilled) / max(1, new_tokens - 1), 2),
            "peak_gpu_memory_gib": _peak_gpu_gib(device),
        }

    def plain(new_tokens: int) -> dict:
        started = synchronised()
        plain_generate(model, prompts[0], new_tokens)
        elapsed = synchronised() - started
        return {
            "batch_size": 1,
            "generated_tokens": new_tokens,
            "seconds": round(elapsed, 3),
            "tokens_per_second": round(new_tokens / elapsed, 1),
        }

    with torch.inference_mode():
        worker(1, 4)  # warm-up: CUDA context, kernels chosen, allocator primed
        plain(4)
        baseline = plain(tokens)
        batches = [worker(size, tokens) for size in batch_sizes]
    return {
        "dtype": str(model.dtype).removeprefix("torch."),
        "shared_prefix_tokens": shared,
        "prompt_tokens_mean": round(sum(map(len, prompts)) / len(prompts), 1),
        "weight_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "plain_generate": baseline,
        "worker": batches,
    }


def _peak_gpu_gib(device: str) -> float | None:
    import torch

    if device != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


def gpu_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name() if device == "cuda" else "none (CPU)"


def bandwidth_for(name: str, given: float | None) -> float | None:
    if given:
        return given
    # The longest matching key: "H100 80GB HBM3" rather than a shorter one it contains.
    matches = [key for key in BANDWIDTH_GBS if key in name]
    return BANDWIDTH_GBS[max(matches, key=len)] if matches else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch-sizes",
        default=",".join(map(str, BATCH_SIZES)),
        type=lambda text: sorted({int(size) for size in text.split(",")}),
    )
    parser.add_argument("--tokens", type=int, default=GENERATED_TOKENS)
    parser.add_argument("--bandwidth-gbs", type=float, help="the GPU's memory bandwidth")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a small model: checks the command")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("No CUDA GPU: this benchmark needs one (--device cpu --tiny checks it).")
    dtype = "bfloat16" if args.device == "cuda" else "float32"
    with tempfile.TemporaryDirectory(prefix="aaie-bench-gpu-") as folder:
        model_dir = Path(folder) / "qwen3"
        build_model(model_dir, TINY if args.tiny else QWEN3_0_6B)
        figures = measure(model_dir, args.device, dtype, args.batch_sizes, args.tokens)

    name = gpu_name(args.device)
    bandwidth = bandwidth_for(name, args.bandwidth_gbs)
    ceiling = bandwidth * 1e9 / figures["weight_bytes"] if bandwidth else None
    batch_one = next((b for b in figures["worker"] if b["batch_size"] == 1), None)
    best = max(figures["worker"], key=lambda b: b["tokens_per_second"])
    results = {
        "benchmark": "model_path_gpu",
        "machine": machine_info(),
        "gpu": name,
        "model": "tiny Qwen3 (a check, not a measurement)"
        if args.tiny
        else "Qwen3-0.6B architecture, seeded random weights",
        "generated_tokens_each": args.tokens,
        **figures,
        "bandwidth_gbs": bandwidth,
        "batch_1_ceiling_tokens_per_second": round(ceiling, 1) if ceiling else None,
        "batch_1_share_of_ceiling": (
            round(batch_one["tokens_per_second"] / ceiling, 3) if ceiling and batch_one else None
        ),
        "best_tokens_per_second": best["tokens_per_second"],
        "goal_tokens_per_second": GOAL_TOKENS_PER_SECOND,
    }
    write_results(args.out, results)
    print(f"{name}, {figures['dtype']}; plain generate: "
          f"{figures['plain_generate']['tokens_per_second']} tokens/s")  # fmt: skip
    print(f"{'batch':>6}{'tokens/s':>12}{'step ms':>10}{'prefill s':>11}{'peak GiB':>10}")
    for batch in figures["worker"]:
        print(f"{batch['batch_size']:>6}{batch['tokens_per_second']:>12}"
              f"{batch['decode_step_ms']:>10}{batch['prefill_seconds']:>11}"
              f"{str(batch['peak_gpu_memory_gib']):>10}")  # fmt: skip
    if ceiling:
        print(f"batch 1 at {results['batch_1_share_of_ceiling']:.0%} of the bandwidth ceiling "
              f"({ceiling:.0f} tokens/s at {bandwidth:.0f} GB/s)")  # fmt: skip
    print(f"Results in {args.out}")


if __name__ == "__main__":
    main()
