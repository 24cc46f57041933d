"""Cheap checks of what a container's row says against what the host shows: the monitor's exit file, the
monitor process, the kernel's boot ID. A few syscalls per container and no imports beyond ``os``,
``functools`` and ``dockyard.pids`` (``errno``), so ``ps`` can run them on every row — and the fast ``ps`` of the
command line (``engine/containers/rows.py``) can run them on its plain rows, which have the same attribute names.

A row needs reconciling when it claims processes the host no longer has (the container exited, or its
monitor died, or the host rebooted) or when the process in the middle of changing it died.

Statuses are compared as strings (``ContainerStatus`` is a ``StrEnum``), and paths are accepted as ``str`` or
``os.PathLike``: importing ``types.py`` or ``pathlib`` here would cost the fast ``ps`` more than its work.
"""

from __future__ import annotations

import os
from functools import cache

from dockyard.pids import pid_alive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from dockyard.engine.containers.records import ContainerRecord

    class LiveRow(Protocol):
        """What the checks read of a row (``ContainerRecord`` and the fast ``ps``'s ``ContainerRow`` have it)."""

        @property
        def status(self) -> str: ...
        @property
        def owner_pid(self) -> int: ...
        @property
        def monitor_pid(self) -> int: ...
        @property
        def boot_id(self) -> str: ...

    StrPath = str | os.PathLike[str]
    R = TypeVar("R", bound="ContainerRecord")

__all__ = [
    "boot_id",
    "boot_marker_changed",
    "boot_marker_current",
    "effective",
    "exit_file",
    "needs_reconcile",
    "read_exit",
]

UNKNOWN_EXIT = 255  # what Docker records when the runtime lost the container (daemon crash, reboot)
_LIVE = ("running", "paused")  # ContainerStatus.RUNNING, PAUSED
_TRANSIENT = ("restarting", "creating", "removing")  # states a live process (owner_pid) carries out


@cache
def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def exit_file(container_dir: StrPath) -> str:
    return os.path.join(container_dir, "exit")  # conmon --persist-dir (runtime.Bundle.exit_file)


def read_exit(container_dir: StrPath) -> tuple[int, float] | None:
    """(exit code, when) if the monitor recorded the container's exit."""
    path = exit_file(container_dir)
    try:
        with open(path) as f:
            code = int(f.read().strip())
        return code, os.stat(path).st_mtime
    except (OSError, ValueError):
        return None


def needs_reconcile(record: LiveRow, container_dir: StrPath) -> bool:
    status = record.status
    if record.owner_pid and not pid_alive(record.owner_pid):
        return True
    if status in _LIVE:
        if record.boot_id != boot_id():
            return True
        if os.path.exists(exit_file(container_dir)):
            return True
        return not pid_alive(record.monitor_pid)
    if status in _TRANSIENT:
        return not record.owner_pid or not pid_alive(record.owner_pid)
    return False


def effective(record: R, container_dir: StrPath) -> R:
    """The row as ``ps`` should show it when it could not be reconciled yet (another process holds it)."""
    if record.status not in _LIVE:
        return record
    import dataclasses

    from dockyard.engine.containers.types import ContainerStatus

    exited = read_exit(container_dir) if record.boot_id == boot_id() else None
    if exited is not None:
        code, when = exited
        return dataclasses.replace(record, status=ContainerStatus.EXITED, exit_code=code, finished_at=when, pid=0)
    if record.boot_id != boot_id() or not pid_alive(record.monitor_pid):
        return dataclasses.replace(record, status=ContainerStatus.EXITED, exit_code=UNKNOWN_EXIT, pid=0)
    return record


def _marker(run_dir: StrPath) -> str:
    return os.path.join(run_dir, "containers.boot_id")


def boot_marker_current(run_dir: StrPath) -> bool:
    """The state root has seen this boot of the host already (read only: :func:`boot_marker_changed` writes)."""
    try:
        with open(_marker(run_dir)) as f:
            return f.read().strip() == boot_id()
    except OSError:
        return False


def boot_marker_changed(run_dir: StrPath) -> bool:
    """True once per boot of the host (per state root): the first command after a reboot autostarts."""
    if boot_marker_current(run_dir):
        return False
    marker = _marker(run_dir)
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        tmp = os.path.join(os.path.dirname(marker), f".containers.boot_id.{os.getpid()}")
        with open(tmp, "w") as f:
            f.write(boot_id())
        os.replace(tmp, marker)
    except OSError:
        pass
    return True
