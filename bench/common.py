"""Shared helpers for benchmarks: timing commands, medians, and finding Docker/Podman to compare with.

Benchmarks report figures and ratios; they never assert timings (that is what tests must not do).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKYARD = str(REPO / ".venv" / "bin" / "dockyard") if (REPO / ".venv" / "bin" / "dockyard").exists() else "dockyard"


def time_command(
    argv: Sequence[str],
    runs: int = 10,
    env: dict[str, str] | None = None,
    setup: Callable[[], None] | None = None,
    warmup: int = 1,
) -> list[float]:
    """Wall time of ``argv`` over ``runs`` runs (after ``warmup`` unmeasured ones)."""
    full_env = {**os.environ, **(env or {})}
    times = []
    for i in range(warmup + runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        subprocess.run(list(argv), env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def podman_available() -> bool:
    return shutil.which("podman") is not None


PODMAN_FLAGS = ["--runtime", "runc"]
PODMAN_RUN_FLAGS = ["--ulimit", "nproc=1024:1024", "--ulimit", "nofile=1024:1024"]


def report(title: str, rows: list[tuple[str, float]], baseline: str | None = None) -> None:
    print(f"\n## {title}")
    base = dict(rows).get(baseline) if baseline else None
    for name, value in rows:
        ratio = f"   ({value / base:.2f}x {baseline})" if base and name != baseline else ""
        print(f"  {name:<28} {value * 1000:9.1f} ms{ratio}")
