"""``RuncRuntime``: the container service's one entry point to running containers (runc + conmon).

The service's flow is: mount the rootfs -> :func:`write_bundle` -> :meth:`RuncRuntime.create` (conmon runs
``runc create``; the attach socket listens from now on) -> :meth:`attach` if in the foreground ->
:meth:`start` -> :meth:`wait` / :meth:`logs` / :meth:`exec` / :meth:`stop` / :meth:`kill` / :meth:`pause` ->
:meth:`delete`. Nothing here needs a daemon: conmon keeps each container's stdio, log and exit code, and runs
the caller's exit command when the container ends.
"""

from __future__ import annotations

import os
import signal as signals
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockyard.errors import InvalidArgument, NotFound
from dockyard.pids import pid_alive
from dockyard.runtime.attach import AttachSocket, resize
from dockyard.runtime.bundle import Bundle
from dockyard.runtime.entrypoint import check_entrypoint
from dockyard.runtime.host import current_host
from dockyard.runtime.inotify import IN_CLOSE_WRITE, IN_MOVED_TO, Inotify, pidfd, wait_readable
from dockyard.runtime.monitor import Conmon, Created, ExecSession, MonitorOptions
from dockyard.runtime.runc import Runc, RuncStatus
from dockyard.runtime.spec import INIT_IN_CONTAINER, linux_resources

if TYPE_CHECKING:  # the rest is imported where used: `run` pays only for what it uses
    from dockyard.runtime.cgroups import CgroupStats
    from dockyard.runtime.exec import ExecOptions
    from dockyard.runtime.logs import LogEntry, LogOptions
    from dockyard.runtime.options import Resources
    from dockyard.runtime.top import TopResult

__all__ = ["ContainerState", "ContainerStatus", "RuncRuntime", "Runtime", "parse_signal"]


class ContainerStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # exited, or unknown to runc (deleted, or never created)


@dataclass(frozen=True)
class ContainerState:
    """A container as the runtime sees it: status, PIDs, exit code and OOM kill."""

    id: str
    status: ContainerStatus
    pid: int  # 0 unless created/running/paused
    monitor_pid: int  # conmon, 0 if gone
    exit_code: int | None  # once stopped, when the monitor recorded it
    oom_killed: bool = False


def parse_signal(value: str | int) -> int:
    """``SIGTERM``, ``TERM``, ``term``, ``15`` -> 15 (Docker's ``--signal``/``--stop-signal`` forms)."""
    if isinstance(value, int) or value.isdigit():
        number = int(value)
        if not 0 < number < 65:
            raise InvalidArgument(f"Invalid signal: {value}")
        return number
    name = value.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
        base = signals.SIGRTMIN if name.startswith("SIGRTMIN") else signals.SIGRTMAX
        offset = int(name[9:]) if name[9:].isdigit() else -1
        number = base + offset if name.startswith("SIGRTMIN") else base - offset
        if offset >= 0 and signals.SIGRTMIN <= number <= signals.SIGRTMAX:
            return int(number)
    try:
        return int(getattr(signals, name))
    except (AttributeError, TypeError):
        raise InvalidArgument(f"Invalid signal: {value}") from None


class Runtime(Protocol):
    """The role the container service depends on (one implementation: :class:`RuncRuntime`)."""

    def create(
        self, container_id: str, bundle: Bundle, opts: MonitorOptions, *, during: Callable[[], None] | None = ...
    ) -> Created: ...
    def start(self, container_id: str) -> None: ...
    def state(self, container_id: str, bundle: Bundle) -> ContainerState: ...
    def kill(self, container_id: str, signal: str | int = ..., *, all_processes: bool = ...) -> None: ...
    def wait(self, container_id: str, bundle: Bundle, timeout: float | None = ...) -> int | None: ...
    def delete(self, container_id: str, *, force: bool = ...) -> None: ...


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _check_process(config: dict[str, object], process: dict[str, object]) -> None:
    """Look the process's command up in the container's root filesystem (see ``entrypoint.py``)."""
    args = _strings(process.get("args"))
    if args[:2] == [INIT_IN_CONTAINER, "--"]:
        args = args[2:]
    root = config.get("root")
    rootfs = str(root.get("path", "")) if isinstance(root, dict) else ""
    mounts = config.get("mounts")
    destinations = (
        [str(m.get("destination")) for m in mounts if isinstance(m, dict)] if isinstance(mounts, list) else []
    )
    env = _strings(process.get("env"))
    check_entrypoint(rootfs, args, env, str(process.get("cwd") or "/"), destinations, os.uname().machine)


class RuncRuntime:
    """runc under conmon, with all runtime state under ``<state root>/run``."""

    def __init__(self, state_root: Path, *, runc: str = "runc", conmon: str = "conmon") -> None:
        self.runc = Runc(state_root / "run" / "runc", runc)
        self.exits_dir = state_root / "run" / "exits"
        self.monitor = Conmon(self.runc, self.exits_dir, conmon)
        self._sync: dict[str, socket.socket] = {}  # containers this process created: conmon's sync pipes

    # lifecycle -------------------------------------------------------------------------------------------------

    def create(
        self,
        container_id: str,
        bundle: Bundle,
        opts: MonitorOptions = MonitorOptions(),
        *,
        check: bool = True,
        during: Callable[[], None] | None = None,
    ) -> Created:
        """Create the container under a new monitor (status ``created``). With ``check``, the command is looked
        up in the root filesystem first, so a missing or foreign binary fails in plain words before runc runs.
        ``during`` runs while runc creates the container (see ``Conmon.create``)."""
        if check:
            self.check_command(bundle)
        created = self.monitor.create(container_id, bundle, opts, during=during)
        if created.sync is not None:
            self.forget(container_id)
            self._sync[container_id] = created.sync
        return created

    def forget(self, container_id: str) -> None:
        """Drop what this process holds for a container it created (conmon's sync pipe); ``wait`` and ``delete``
        do it, a long-lived caller that does neither for a container should."""
        sync = self._sync.pop(container_id, None)
        if sync is not None:
            sync.close()

    def check_command(self, bundle: Bundle) -> None:
        config = bundle.load_config()
        process = config.get("process")
        _check_process(config, process if isinstance(process, dict) else {})

    def start(self, container_id: str) -> None:
        self.runc.start(container_id)

    def monitor_pid(self, bundle: Bundle) -> int:
        try:
            pid = int(bundle.monitor_pidfile.read_text())
        except (OSError, ValueError):
            return 0
        return pid if pid_alive(pid) else 0

    def exit_code(self, container_id: str, bundle: Bundle) -> int | None:
        for path in (bundle.exit_file, self.exits_dir / container_id):
            try:
                return int(path.read_text().strip())
            except (OSError, ValueError):
                continue
        return None

    def state(self, container_id: str, bundle: Bundle) -> ContainerState:
        try:
            st = self.runc.state(container_id)
            status, pid = ContainerStatus(st.status if st.status is not RuncStatus.CREATING else "created"), st.pid
        except NotFound:
            status, pid = ContainerStatus.STOPPED, 0
        if status is ContainerStatus.STOPPED:
            pid = 0
        exit_code = self.exit_code(container_id, bundle) if status is ContainerStatus.STOPPED else None
        return ContainerState(container_id, status, pid, self.monitor_pid(bundle), exit_code, bundle.oom_file.exists())

    def kill(self, container_id: str, signal: str | int = "SIGKILL", *, all_processes: bool = False) -> None:
        self.runc.kill(container_id, parse_signal(signal), all_processes=all_processes)

    def wait(self, container_id: str, bundle: Bundle, timeout: float | None = None) -> int | None:
        """Block until the container exits; its exit code (None: timeout, or the monitor died without one).
        No polling: conmon's sync pipe when this process created the container, else inotify on the exits
        directory and a pidfd on the monitor."""
        code = self.exit_code(container_id, bundle)
        if code is not None:
            return code
        sync = self._sync.get(container_id)
        if sync is not None:
            if not wait_readable([sync.fileno()], timeout):
                return None
            try:
                while sync.recv(4096):  # EOF: conmon wrote the exit code (or died)
                    pass
            except OSError:
                pass
            self.forget(container_id)
            return self.exit_code(container_id, bundle)
        return self._wait_inotify(container_id, bundle, timeout)

    def _wait_inotify(self, container_id: str, bundle: Bundle, timeout: float | None) -> int | None:
        self.exits_dir.mkdir(parents=True, exist_ok=True)
        with Inotify() as ino:
            ino.watch(self.exits_dir, IN_MOVED_TO | IN_CLOSE_WRITE)
            monitor = self.monitor_pid(bundle)
            monitor_fd = pidfd(monitor) if monitor else None
            try:
                while True:
                    code = self.exit_code(container_id, bundle)
                    if code is not None or monitor_fd is None:
                        return code
                    ready = wait_readable([ino.fileno(), monitor_fd], timeout)
                    if not ready:
                        return None
                    ino.read()
                    if monitor_fd in ready:
                        return self.exit_code(container_id, bundle)
            finally:
                if monitor_fd is not None:
                    os.close(monitor_fd)

    def stop(
        self, container_id: str, bundle: Bundle, *, signal: str | int = "SIGTERM", timeout: float = 10
    ) -> int | None:
        """Docker's stop: the stop signal, ``timeout`` seconds, then SIGKILL. The exit code."""
        state = self.state(container_id, bundle)
        if state.status is ContainerStatus.STOPPED:
            return state.exit_code
        if state.status is ContainerStatus.PAUSED:
            self.runc.resume(container_id)
        if timeout > 0:
            try:
                self.kill(container_id, signal)
            except NotFound:
                return self.exit_code(container_id, bundle)
            code = self.wait(container_id, bundle, timeout)
            if code is not None:
                return code
        try:
            self.kill(container_id, "SIGKILL")
        except NotFound:
            pass
        return self.wait(container_id, bundle, 30)

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """Remove the container from runc (and its cgroups); ``force`` kills a running one first."""
        self.forget(container_id)
        self.runc.delete(container_id, force=force)

    def pause(self, container_id: str) -> None:
        self.runc.pause(container_id)

    def resume(self, container_id: str) -> None:
        self.runc.resume(container_id)

    def update(self, container_id: str, resources: Resources) -> None:
        self.runc.update(container_id, linux_resources(resources, current_host()))

    # I/O -------------------------------------------------------------------------------------------------------

    def attach(self, bundle: Bundle) -> AttachSocket:
        return AttachSocket.connect(bundle.attach_socket)

    def resize(self, bundle: Bundle, height: int, width: int) -> None:
        resize(bundle.ctl, height, width)

    def logs(self, bundle: Bundle, opts: LogOptions | None = None, *, path: Path | None = None) -> Iterator[LogEntry]:
        """The container's log (``path``: the ``MonitorOptions.log_path`` it was created with, if not the default);
        ``follow`` ends when its monitor exits."""
        from dockyard.runtime.logs import LogOptions, read_log

        return read_log(path or bundle.log, opts or LogOptions(), monitor_pid=self.monitor_pid(bundle) or None)

    def exec(
        self,
        container_id: str,
        bundle: Bundle,
        exec_id: str,
        opts: ExecOptions,
        *,
        attach: bool = True,
        exit_command: tuple[str, ...] = (),
    ) -> ExecSession:
        """Start an exec (see :meth:`Conmon.exec`): attached, connect to ``session.attach_socket`` then
        ``session.start()``; ``session.wait()`` gives the exit code."""
        from dockyard.runtime.exec import exec_process

        config = bundle.load_config()
        process = exec_process(config, opts, current_host())
        _check_process(config, process)
        return self.monitor.exec(
            container_id, bundle, exec_id, process, stdin=opts.stdin, attach=attach, exit_command=exit_command
        )

    def remove_exec(self, bundle: Bundle, exec_id: str) -> None:
        """Remove a finished exec's directory (process.json, exit code, sockets)."""
        import shutil

        shutil.rmtree(bundle.exec_dir(exec_id), ignore_errors=True)

    # observation -----------------------------------------------------------------------------------------------

    def stats(self, cgroups_path: str) -> CgroupStats:
        from dockyard.runtime.cgroups import read_stats

        return read_stats(cgroups_path)

    def top(self, container_id: str, ps_args: str = "") -> TopResult:
        from dockyard.runtime.top import top

        return top(self.runc.ps(container_id), ps_args)
