"""``GET /containers/{id}/stats``: Docker's stats JSON (cgroup v1 shape) from a container service sample."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.timeutil import rfc3339_nano

if TYPE_CHECKING:
    from dockyard.engine.containers.streams import StatsSample
    from dockyard.runtime import CgroupStats

__all__ = ["stats_json"]

_ZERO_TIME = "0001-01-01T00:00:00Z"


def _cpu(c: CgroupStats | None) -> dict[str, Any]:
    if c is None:
        return {
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        }
    return {
        "cpu_usage": {
            "total_usage": c.cpu.total_ns,
            "percpu_usage": list(c.cpu.percpu_ns) or None,
            "usage_in_kernelmode": c.cpu.system_ns,
            "usage_in_usermode": c.cpu.user_ns,
        },
        "system_cpu_usage": c.system_cpu_ns,
        "online_cpus": c.online_cpus,
        "throttling_data": {
            "periods": c.cpu.periods,
            "throttled_periods": c.cpu.throttled_periods,
            "throttled_time": c.cpu.throttled_time_ns,
        },
    }


def stats_json(sample: StatsSample, previous: StatsSample | None, now: float) -> dict[str, Any]:
    c = sample.cgroup
    prev = previous.cgroup if previous is not None else None
    memory: dict[str, Any] = {}
    if c is not None:
        memory = {
            "usage": c.memory.usage,
            "max_usage": c.memory.max_usage,
            "stats": dict(c.memory.stats),
            "failcnt": c.memory.failcnt,
            "limit": c.memory.limit if c.memory.limit is not None else sample.memory_total,
        }
    blkio = [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in (c.blkio if c else ())]
    return {
        "read": rfc3339_nano(c.read_ns / 1e9) if c else rfc3339_nano(now),
        "preread": rfc3339_nano(prev.read_ns / 1e9) if prev else _ZERO_TIME,
        "pids_stats": {"current": c.pids.current, **({"limit": c.pids.limit} if c and c.pids.limit else {})}
        if c
        else {},
        "blkio_stats": {
            "io_service_bytes_recursive": blkio or None,
            "io_serviced_recursive": None,
            "io_queue_recursive": None,
            "io_service_time_recursive": None,
            "io_wait_time_recursive": None,
            "io_merged_recursive": None,
            "io_time_recursive": None,
            "sectors_recursive": None,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(c),
        "precpu_stats": _cpu(prev)
        if prev
        else {
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "memory_stats": memory,
        "name": f"/{sample.name}",
        "id": sample.id,
        "networks": {
            "eth0": {
                "rx_bytes": sample.rx_bytes,
                "rx_packets": 0,
                "rx_errors": 0,
                "rx_dropped": 0,
                "tx_bytes": sample.tx_bytes,
                "tx_packets": 0,
                "tx_errors": 0,
                "tx_dropped": 0,
            }
        },
    }
