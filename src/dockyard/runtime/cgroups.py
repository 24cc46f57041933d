"""A container's resource usage and freezer state, read straight from its cgroup (v1 hierarchies under
``/sys/fs/cgroup/<controller>/<cgroupsPath>``; a unified v2 host is read too). No subprocess: ``stats`` is
sampled once a second by ``docker stats``."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = [
    "BlkioEntry",
    "CgroupStats",
    "CpuStats",
    "FreezerState",
    "MemoryStats",
    "PidsStats",
    "cgroup_dirs",
    "freezer_state",
    "read_stats",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED = 1 << 62  # v1 reports "no limit" as a page-rounded 2^63-1


class FreezerState(StrEnum):
    THAWED = "THAWED"
    FREEZING = "FREEZING"
    FROZEN = "FROZEN"


@dataclass(frozen=True)
class CpuStats:
    """CPU usage of a container's cgroup (nanoseconds) and its throttling."""

    total_ns: int
    percpu_ns: tuple[int, ...]
    user_ns: int
    system_ns: int
    throttled_periods: int = 0
    throttled_time_ns: int = 0
    periods: int = 0


@dataclass(frozen=True)
class MemoryStats:
    """Memory usage, peak, limit and the counters of a container's cgroup."""

    usage: int
    max_usage: int
    limit: int | None  # None: unlimited
    failcnt: int
    stats: tuple[tuple[str, int], ...]  # memory.stat (cache, rss, total_inactive_file, ...)


@dataclass(frozen=True)
class PidsStats:
    """Number of tasks in a container's cgroup and its limit."""

    current: int
    limit: int | None  # None: unlimited


@dataclass(frozen=True)
class BlkioEntry:
    """One block I/O counter: device, operation, value."""

    major: int
    minor: int
    op: str
    value: int


@dataclass(frozen=True)
class CgroupStats:
    """One sample of a container's cgroup statistics (``stats``)."""

    read_ns: int  # when the sample was taken (epoch ns)
    cpu: CpuStats
    system_cpu_ns: int  # all CPUs' time since boot (/proc/stat), for percentages
    online_cpus: int
    memory: MemoryStats
    pids: PidsStats
    blkio: tuple[BlkioEntry, ...]


def _unified() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def cgroup_dirs(cgroups_path: str) -> list[Path]:
    """The directories the container's cgroup occupies (what ``runc delete`` must remove)."""
    rel = cgroups_path.lstrip("/")
    if _unified():
        return [CGROUP_ROOT / rel]
    out = []
    for entry in sorted(os.listdir(CGROUP_ROOT)):
        base = CGROUP_ROOT / entry
        if base.is_dir() and not base.is_symlink():
            out.append(base / rel)
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return default


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value:
            out[key] = _int(value)
    return out


def freezer_state(cgroups_path: str) -> FreezerState | None:
    """The container's freezer state (``runc pause`` freezes it); None if the cgroup is gone."""
    if _unified():
        text = _read(CGROUP_ROOT / cgroups_path.lstrip("/") / "cgroup.freeze")
        return None if not text else FreezerState.FROZEN if text.strip() == "1" else FreezerState.THAWED
    text = _read(CGROUP_ROOT / "freezer" / cgroups_path.lstrip("/") / "freezer.state").strip()
    return FreezerState(text) if text else None


def _system_cpu_ns(ticks_per_s: int) -> int:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return sum(int(v) for v in line.split()[1:8]) * (1_000_000_000 // ticks_per_s)
    return 0


def _blkio(text: str) -> tuple[BlkioEntry, ...]:
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and ":" in fields[0]:
            major, _, minor = fields[0].partition(":")
            out.append(BlkioEntry(_int(major), _int(minor), fields[1], _int(fields[2])))
    return tuple(out)


def _read_v1(rel: str, hz: int) -> tuple[CpuStats, MemoryStats, PidsStats, tuple[BlkioEntry, ...]]:
    acct = CGROUP_ROOT / "cpuacct" / rel
    ticks = _kv(_read(acct / "cpuacct.stat"))
    throttling = _kv(_read(CGROUP_ROOT / "cpu" / rel / "cpu.stat"))
    cpu = CpuStats(
        total_ns=_int(_read(acct / "cpuacct.usage")),
        percpu_ns=tuple(int(v) for v in _read(acct / "cpuacct.usage_percpu").split()),
        user_ns=ticks.get("user", 0) * (1_000_000_000 // hz),
        system_ns=ticks.get("system", 0) * (1_000_000_000 // hz),
        throttled_periods=throttling.get("nr_throttled", 0),
        throttled_time_ns=throttling.get("throttled_time", 0),
        periods=throttling.get("nr_periods", 0),
    )
    mem = CGROUP_ROOT / "memory" / rel
    limit = _int(_read(mem / "memory.limit_in_bytes"), _UNLIMITED)
    memory = MemoryStats(
        usage=_int(_read(mem / "memory.usage_in_bytes")),
        max_usage=_int(_read(mem / "memory.max_usage_in_bytes")),
        limit=None if limit >= _UNLIMITED else limit,
        failcnt=_int(_read(mem / "memory.failcnt")),
        stats=tuple(sorted(_kv(_read(mem / "memory.stat")).items())),
    )
    pids_dir = CGROUP_ROOT / "pids" / rel
    pids_max = _read(pids_dir / "pids.max").strip()
    pids = PidsStats(_int(_read(pids_dir / "pids.current")), None if pids_max in ("", "max") else _int(pids_max))
    blkio = _blkio(_read(CGROUP_ROOT / "blkio" / rel / "blkio.throttle.io_service_bytes"))
    return cpu, memory, pids, blkio


def _read_v2(rel: str) -> tuple[CpuStats, MemoryStats, PidsStats, tuple[BlkioEntry, ...]]:
    base = CGROUP_ROOT / rel
    cpu_stat = _kv(_read(base / "cpu.stat"))
    cpu = CpuStats(
        total_ns=cpu_stat.get("usage_usec", 0) * 1000,
        percpu_ns=(),
        user_ns=cpu_stat.get("user_usec", 0) * 1000,
        system_ns=cpu_stat.get("system_usec", 0) * 1000,
        throttled_periods=cpu_stat.get("nr_throttled", 0),
        throttled_time_ns=cpu_stat.get("throttled_usec", 0) * 1000,
        periods=cpu_stat.get("nr_periods", 0),
    )
    mem_max = _read(base / "memory.max").strip()
    memory = MemoryStats(
        usage=_int(_read(base / "memory.current")),
        max_usage=_int(_read(base / "memory.peak")),
        limit=None if mem_max in ("", "max") else _int(mem_max),
        failcnt=_kv(_read(base / "memory.events")).get("oom", 0),
        stats=tuple(sorted(_kv(_read(base / "memory.stat")).items())),
    )
    pids_max = _read(base / "pids.max").strip()
    pids = PidsStats(_int(_read(base / "pids.current")), None if pids_max in ("", "max") else _int(pids_max))
    return cpu, memory, pids, ()


def read_stats(cgroups_path: str) -> CgroupStats:
    """One sample of the container's cgroup counters."""
    hz = os.sysconf("SC_CLK_TCK")
    rel = cgroups_path.lstrip("/")
    cpu, memory, pids, blkio = _read_v2(rel) if _unified() else _read_v1(rel, hz)
    return CgroupStats(
        read_ns=time.time_ns(),
        cpu=cpu,
        system_cpu_ns=_system_cpu_ns(hz),
        online_cpus=len(cpu.percpu_ns) or os.cpu_count() or 1,
        memory=memory,
        pids=pids,
        blkio=blkio,
    )
