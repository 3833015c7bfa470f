"""The GPU benchmark's command (bench/model_path_gpu.py) runs end to end and reports what
BENCHMARKS.md needs. Here it runs on the CPU with a tiny model, through the same code: a check
that the command works where no GPU is lent, never a measurement."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from bench.model_path_gpu import REPO_ROOT, bandwidth_for

COMMAND_TIMEOUT_SECONDS = 300
BANDWIDTH_GBS = 100.0


@pytest.mark.slow
def test_the_command_decodes_each_batch_size_and_reports_it_against_the_ceiling(tmp_path):
    out = tmp_path / "gpu.json"
    command = [
        sys.executable, "bench/model_path_gpu.py", "--device", "cpu", "--tiny",
        "--batch-sizes", "3,1", "--tokens", "4", "--bandwidth-gbs", str(BANDWIDTH_GBS),
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=COMMAND_TIMEOUT_SECONDS)

    report = json.loads(out.read_text())
    assert [batch["batch_size"] for batch in report["worker"]] == [1, 3]
    assert [batch["generated_tokens"] for batch in report["worker"]] == [4, 12]
    assert all(batch["tokens_per_second"] > 0 for batch in report["worker"])
    assert report["plain_generate"]["generated_tokens"] == 4
    # Every prompt shares the rubric-and-task prefix, and the ceiling is bandwidth ÷ weights.
    assert 0 < report["shared_prefix_tokens"] < report["prompt_tokens_mean"]
    ceiling = BANDWIDTH_GBS * 1e9 / report["weight_bytes"]
    assert report["batch_1_ceiling_tokens_per_second"] == pytest.approx(ceiling, abs=0.1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_without_a_gpu_the_command_says_so():
    result = subprocess.run(
        [sys.executable, "bench/model_path_gpu.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert result.returncode == 1
    assert "No CUDA GPU" in result.stderr


def test_the_bandwidth_is_looked_up_by_the_gpus_name_unless_given():
    assert bandwidth_for("NVIDIA H100 80GB HBM3", None) == 3350
    assert bandwidth_for("NVIDIA H100 PCIe", None) == 2000
    assert bandwidth_for("NVIDIA H200", None) == 4800
    assert bandwidth_for("Some Future GPU", None) is None
    assert bandwidth_for("NVIDIA H100 80GB HBM3", 3000.0) == 3000.0
