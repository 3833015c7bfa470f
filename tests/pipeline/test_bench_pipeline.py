"""The pipeline benchmark (bench/pipeline.py) grades every submission and reports what BENCHMARKS.md
needs; its speed is measured by running it, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.pipeline import REPO_ROOT, run_pipeline_benchmark
from grading.models import CriterionResult, GradingRun

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]

COMMAND_TIMEOUT_SECONDS = 180
SUMMARY_KEYS = {"p50", "p95", "max"}


def test_the_core_grades_every_submission_through_a_real_worker_and_reports_it(
    transactional_db, tmp_path
):
    report = run_pipeline_benchmark(
        submissions=5,
        workers=1,
        concurrency=1,
        log_dir=tmp_path / "workers",
        probes=2,
        timeout_seconds=60,
    )

    assert (report["runs"], report["succeeded"], report["failed"]) == (5, 5, 0)
    assert report["idle"]["runs"] == 2
    # The report counts what the database holds: 5 + 2 graded runs with two results each.
    assert GradingRun.objects.filter(status=GradingRun.Status.SUCCEEDED).count() == 7
    assert CriterionResult.objects.count() == 14
    assert report["submissions_per_second"] > 0
    assert set(report["grade_to_started_seconds"]) == SUMMARY_KEYS
    assert set(report["started_to_finished_seconds"]) == SUMMARY_KEYS
    assert set(report["idle"]["grade_to_started_seconds"]) == SUMMARY_KEYS
    assert report["grade_to_started_seconds"]["p50"] >= 0
    assert (report["workers"], report["concurrency"]) == (1, 1)
    assert report["database"]["engine"] in {"sqlite", "postgresql"}
    assert {"cores", "cpu_model"} <= set(report["machine"])
    assert {"workers", "requester"} == set(report["cpu_ms_per_submission"])
    json.dumps(report)  # the results file is JSON


def test_the_command_brings_its_own_database_and_redis_and_removes_them(tmp_path):
    out = tmp_path / "results.json"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "AAIE_VAR_DIR"}
    }
    finished = subprocess.run(
        [sys.executable, "bench/pipeline.py", "--submissions", "3", "--probes", "1"]
        + ["--concurrency", "1", "--out", str(out)],
        cwd=REPO_ROOT,
        env={**env, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    results = json.loads(out.read_text())
    assert (results["succeeded"], results["database"]["engine"]) == (3, "sqlite")
    assert "submissions/s" in finished.stdout
    # Its SQLite folder and its Redis's folder went with it.
    assert list(scratch.iterdir()) == []
