"""Cheap checks of what a container's row says against what the host shows: the monitor's exit file, the
monitor process, the kernel's boot ID. A few syscalls per container and no imports beyond the stdlib, so
``ps`` can run them on every row.

A row needs reconciling when it claims processes the host no longer has (the container exited, or its
monitor died, or the host rebooted) or when the process in the middle of changing it died.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from functools import cache
from pathlib import Path

from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus

__all__ = ["boot_id", "boot_marker_changed", "effective", "exit_file", "needs_reconcile", "pid_alive", "read_exit"]

UNKNOWN_EXIT = 255  # what Docker records when the runtime lost the container (daemon crash, reboot)


@cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed monitor may wait a while for its reaper)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def exit_file(container_dir: Path) -> Path:
    return container_dir / "exit"  # conmon --persist-dir (runtime.Bundle.exit_file)


def read_exit(container_dir: Path) -> tuple[int, float] | None:
    """(exit code, when) if the monitor recorded the container's exit."""
    path = exit_file(container_dir)
    try:
        code = int(path.read_text().strip())
        return code, path.stat().st_mtime
    except (OSError, ValueError):
        return None


def needs_reconcile(record: ContainerRecord, container_dir: Path) -> bool:
    status = record.status
    if record.owner_pid and not pid_alive(record.owner_pid):
        return True
    if status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        if record.boot_id != boot_id():
            return True
        if exit_file(container_dir).exists():
            return True
        return not pid_alive(record.monitor_pid)
    if status in (ContainerStatus.RESTARTING, ContainerStatus.CREATING, ContainerStatus.REMOVING):
        return not record.owner_pid or not pid_alive(record.owner_pid)
    return False


def effective(record: ContainerRecord, container_dir: Path) -> ContainerRecord:
    """The row as ``ps`` should show it when it could not be reconciled yet (another process holds it)."""
    if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return record
    exited = read_exit(container_dir) if record.boot_id == boot_id() else None
    if exited is not None:
        code, when = exited
        return dataclasses.replace(record, status=ContainerStatus.EXITED, exit_code=code, finished_at=when, pid=0)
    if record.boot_id != boot_id() or not pid_alive(record.monitor_pid):
        return dataclasses.replace(record, status=ContainerStatus.EXITED, exit_code=UNKNOWN_EXIT, pid=0)
    return record


def boot_marker_changed(run_dir: Path) -> bool:
    """True once per boot of the host (per state root): the first command after a reboot autostarts."""
    marker = run_dir / "containers.boot_id"
    current = boot_id()
    try:
        if marker.read_text().strip() == current:
            return False
    except OSError:
        pass
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp.write_text(current)
        os.replace(tmp, marker)
    return True
