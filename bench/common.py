"""Helpers shared by the benchmarks: the machine they ran on, percentiles, the results file."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# In /proc/PID/stat after the ")" that ends the command name, counted from 0 (man 5 proc).
PGRP_FIELD = 2
UTIME_FIELD = 11
STIME_FIELD = 12


def cpu_model() -> str:
    """The CPU's model name as Linux reports it, else what the platform module knows."""
    if CPUINFO.exists():
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """Cores this process may use, the CPU model, the OS and the Python that ran the benchmark,
    and the load average before it ran: other work on the machine skews the timings."""
    return {
        "cores": len(os.sched_getaffinity(0)),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0.5 is the median); values must not be empty."""
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and max of `values`, rounded to the millisecond; None for each when empty."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def write_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def process_group_cpu_seconds(group_id: int) -> float:
    """User + system CPU seconds of the live processes in a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[PGRP_FIELD]) == group_id:
            total += int(fields[UTIME_FIELD]) + int(fields[STIME_FIELD])
    return total / ticks
