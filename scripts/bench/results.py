"""Benchmark results as JSON files under ``bench-results/``: what ``scripts.bench.report`` renders.

Every file says where and when it was measured (machine, load, versions), the command, the raw
samples and the figures derived from them, so a figure in docs/benchmarks.md can always be traced
back to one file of one run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path("bench-results")
PACKAGES = ("numpy", "qdrant-edge-py", "qdrant-client", "torch", "open_clip_torch", "onnxruntime")


def machine() -> dict[str, Any]:
    """CPU model, cores, the SIMD flags that change int8/fp32 speed, memory."""
    cpu, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "simd": sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni"}),
        "memory_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        # The cores are shared with other jobs, which skews absolute times: say so next to every figure.
        "shared": True,
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class Run:
    """One benchmark run: open it at the start (load average, time), ``save`` it at the end."""

    def __init__(self, name: str, params: dict[str, Any]):
        self.name = name
        self.params = params
        self.started = dt.datetime.now(dt.UTC)
        self.load_start = os.getloadavg()[0]

    def save(self, figures: dict[str, Any], samples: dict[str, Any], folder: Path = RESULTS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        doc = {
            "benchmark": self.name,
            "command": "python -m " + " ".join([_module_of(sys.argv[0]), *sys.argv[1:]]),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average": {"start": round(self.load_start, 1), "end": round(os.getloadavg()[0], 1)},
            "machine": machine(),
            "commit": _commit(),
            "params": self.params,
            "figures": figures,
            "samples": samples,
        }
        path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
        return path


def _module_of(argv0: str) -> str:
    path = Path(argv0)
    if path.suffix == ".py" and "scripts" in path.parts:
        parts = path.with_suffix("").parts
        return ".".join(parts[parts.index("scripts") :])
    return path.name


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of raw samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def ms(samples_s: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 in milliseconds of samples in seconds."""
    return {
        "p50_ms": round(percentile(samples_s, 50) * 1000, 2),
        "p95_ms": round(percentile(samples_s, 95) * 1000, 2),
        "p99_ms": round(percentile(samples_s, 99) * 1000, 2),
        "n": len(samples_s),
    }


def ratio_rounds(a: list[float], b: list[float], rounds: int) -> dict[str, Any]:
    """Median(a) / median(b) in each of ``rounds`` consecutive slices of two interleaved sample
    lists, with the spread: the two sides were measured alternately, so load hits both alike."""
    size = max(1, min(len(a), len(b)) // rounds)
    per_round = [
        statistics.median(a[i * size : (i + 1) * size]) / statistics.median(b[i * size : (i + 1) * size])
        for i in range(rounds)
        if b[i * size : (i + 1) * size]
    ]
    return {
        "median": round(statistics.median(per_round), 3),
        "min": round(min(per_round), 3),
        "max": round(max(per_round), 3),
        "rounds": [round(r, 3) for r in per_round],
    }
