"""Benchmark 1 of issue 9: the model path, plain sequential `generate` against the worker's path.

Model: the Qwen3-0.6B architecture (Qwen3Config with the published sizes) with seeded random
weights and the real Qwen3 tokenizer, saved with save_pretrained and loaded by the worker's own
loader (speed does not depend on the weights' values). Workload: SUBMISSIONS submissions of one
assignment, each prompt built by grading.llm.prompt (about 1,000 shared tokens of system prompt,
task, marking notes and rubric, then about 300 tokens of submission), GENERATED_TOKENS generated
tokens each, fixed by min/max_new_tokens (greedy: sampling costs the same in both paths).

- baseline: one `model.generate` per submission, one after another.
- worker: what the worker does (grading.llm.batched): the shared prefix's keys and values
  computed once, every submission decoded in one batch, the prefix held once for the batch.

Each variant runs in a process of its own, so that its peak memory (ru_maxrss) is its own.

    .venv/bin/python bench/model_path.py [--submissions 8] [--tokens 128] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.common import machine_info, write_results  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "model_path.json"
TOKENIZER_DIR = REPO_ROOT / "tests" / "fixtures" / "qwen3-tokenizer"
SUBMISSIONS = 8
GENERATED_TOKENS = 128
SUBMISSION_WORDS = 245  # about 300 tokens of prose
SEED = 0

# Qwen3-0.6B's published configuration (its config.json on the Hugging Face hub).
QWEN3_0_6B = {
    "vocab_size": 151936,
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rope_theta": 1000000,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "eos_token_id": 151645,
    "pad_token_id": 151643,
    "bos_token_id": None,
}

# Submissions are drawn from these words: English prose of about 1.35 tokens a word.
WORDS = (
    "the cat dog pet owner because loyal independent quiet purr walk garden house family "
    "evidence argue reason first second finally however therefore example clearly shows that "
    "many people believe while others think responsibility care feed exercise training"
)


def build_model(folder: Path, config: dict = QWEN3_0_6B) -> None:
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(SEED)
    Qwen3ForCausalLM(Qwen3Config(**config)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(folder)


def grading_tasks(count: int):
    """`count` submissions of one assignment; prompt and four-criterion rubric make about
    1,000 shared tokens."""
    from grading.llm.types import Criterion, GradingTask, Level, Rubric

    criteria = tuple(
        Criterion(
            key=f"C{number}",
            title=f"Criterion {number}: {name}",
            description=(
                f"Judge the {name.lower()} of the essay. Look at how each paragraph contributes "
                f"to it, whether the examples are specific, and whether the conclusion follows. "
                f"Reward precision; do not reward length for its own sake."
            ),
            max_points=4,
            levels=(
                Level("Excellent", 4, f"The {name.lower()} is consistently strong and precise."),
                Level("Good", 3, f"The {name.lower()} is strong with minor lapses."),
                Level("Adequate", 2, f"The {name.lower()} is uneven; some parts are weak."),
                Level("Weak", 1, f"The {name.lower()} is mostly missing or confused."),
                Level("Missing", 0, "Not attempted."),
            ),
        )
        for number, name in enumerate(("Thesis", "Reasons", "Evidence", "Organisation"), start=1)
    )
    rubric = Rubric(title="Persuasive essay rubric", criteria=criteria)
    rng = random.Random(SEED)
    words = WORDS.split()
    return [
        GradingTask(
            assignment_title="Persuasive essay: the best pet",
            task="Argue for your favourite pet in about 250 words. State a thesis, give two "
            "reasons with examples, answer one objection, and conclude.",
            reference="A strong essay states its thesis in the first paragraph and supports it "
            "with two specific reasons; it answers an objection fairly.",
            rubric=rubric,
            submission_text=" ".join(rng.choice(words) for _ in range(SUBMISSION_WORDS)),
        )
        for _ in range(count)
    ]


def prompts_for(backend, count: int) -> list[list[int]]:
    from grading.llm.prompt import build_messages
    from grading.llm.types import GenerationSettings

    settings = GenerationSettings(enable_thinking=True)
    return [
        backend._prompt_ids(tuple(build_messages(task)), settings) for task in grading_tasks(count)
    ]


def run_variant(variant: str, model_dir: Path, count: int, tokens: int) -> dict:
    """One variant in this process; returns its figures."""
    import torch

    from grading.llm.backends.transformers_local import TransformersBackend
    from grading.llm.batched import DecodeBatch, common_prefix_length, prefix_extend
    from grading.llm.types import ModelSpec

    started = time.perf_counter()
    backend = TransformersBackend(ModelSpec(backend="transformers", model=str(model_dir)))
    model = backend.model
    load_seconds = time.perf_counter() - started
    prompts = prompts_for(backend, count)
    rss_after_load = _max_rss_bytes()
    prefill_seconds: list[float] = []
    shared = common_prefix_length(prompts)
    with torch.inference_mode():
        started = time.perf_counter()
        if variant == "baseline":
            for prompt in prompts:
                prefill_seconds.append(plain_generate(model, prompt, tokens))
        else:
            first = time.perf_counter()
            prefix = prefix_extend(model, None, prompts[0][:shared])
            batch = DecodeBatch(model, prefix, [prompt[shared:] for prompt in prompts])
            logits = batch.prefill()
            prefill_seconds = [(time.perf_counter() - first) / count] * count
            for _ in range(tokens - 1):  # the prefill's logits gave the first token
                logits = batch.step(logits.argmax(dim=-1).tolist())
        elapsed = time.perf_counter() - started
    generated = count * tokens
    peak = _max_rss_bytes()
    return {
        "variant": variant,
        "dtype": str(model.dtype).removeprefix("torch."),
        "load_seconds": round(load_seconds, 1),
        "prompt_tokens_mean": round(sum(map(len, prompts)) / count, 1),
        "shared_prefix_tokens": shared,
        "generated_tokens": generated,
        "seconds": round(elapsed, 2),
        "tokens_per_second": round(generated / elapsed, 2),
        "prefill_seconds_per_submission": round(sum(prefill_seconds) / count, 2),
        "peak_rss_gib": round(peak / 2**30, 2),
        "peak_rss_above_loaded_model_gib": round((peak - rss_after_load) / 2**30, 2),
    }


def plain_generate(model, prompt: list[int], tokens: int) -> float:
    """One plain `generate`; returns the time to its first token (the prefill)."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    class FirstToken(BaseStreamer):
        def __init__(self) -> None:
            self.calls = 0
            self.at = 0.0

        def put(self, value) -> None:
            self.calls += 1
            if self.calls == 2:  # the prompt first, then the first new token
                self.at = time.perf_counter()

        def end(self) -> None:
            return

    ids = torch.tensor([prompt], device=model.device)
    streamer = FirstToken()
    started = time.perf_counter()
    model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        min_new_tokens=tokens,
        max_new_tokens=tokens,
        pad_token_id=QWEN3_0_6B["pad_token_id"],
        streamer=streamer,
    )
    return streamer.at - started


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=SUBMISSIONS)
    parser.add_argument("--tokens", type=int, default=GENERATED_TOKENS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--variant", choices=("baseline", "worker"), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # a child process: one variant, figures as JSON on stdout
        figures = run_variant(args.variant, args.model_dir, args.submissions, args.tokens)
        print(json.dumps(figures))
        return

    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="aaie-bench-model-") as folder:
        model_dir = Path(folder) / "qwen3-0.6b-random"
        build_model(model_dir)
        variants = {}
        for variant in ("baseline", "worker"):
            print(f"Running {variant} …", flush=True)
            output = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--model-dir", str(model_dir),
                 "--submissions", str(args.submissions), "--tokens", str(args.tokens)],
                check=True, capture_output=True, text=True, cwd=REPO_ROOT,
            ).stdout  # fmt: skip
            variants[variant] = json.loads(output.strip().splitlines()[-1])
    baseline, worker = variants["baseline"], variants["worker"]
    results = {
        "benchmark": "model_path",
        "machine": machine,
        "model": "Qwen3-0.6B architecture, seeded random weights",
        "submissions": args.submissions,
        "generated_tokens_each": args.tokens,
        "baseline": baseline,
        "worker": worker,
        "throughput_ratio": round(worker["tokens_per_second"] / baseline["tokens_per_second"], 2),
        "peak_memory_ratio": round(worker["peak_rss_gib"] / baseline["peak_rss_gib"], 2),
        "goals": {"throughput_ratio_at_least": 3.0, "peak_memory_ratio_at_most": 1.5},
    }
    write_results(args.out, results)
    print(f"{'':28}{'baseline':>12}{'worker':>12}")
    for key in ("tokens_per_second", "seconds", "prefill_seconds_per_submission", "peak_rss_gib"):
        print(f"{key:28}{baseline[key]:>12}{worker[key]:>12}")
    print(f"throughput ×{results['throughput_ratio']}, peak memory ×{results['peak_memory_ratio']}")
    print(f"Results in {args.out}")


if __name__ == "__main__":
    main()
