"""A container's I/O and observation: logs, attaching to a running container, exec sessions, top and stats.

Exec sessions are rows in ``execs`` (so the API's create/start/inspect can be separate requests); each runs
under its own conmon, whose exit file holds the exit code once it ends.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.containers.execs import ExecRecord
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus
from dockyard.engine.containers.verbs import ExecCreateOptions
from dockyard.errors import Conflict, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService
    from dockyard.runtime import AttachSocket, Bundle, CgroupStats, ExecSession, LogEntry, LogOptions

__all__ = [
    "ExecHandle",
    "ExecInfo",
    "PendingAttach",
    "StatsSample",
    "exec_create",
    "exec_info",
    "exec_start",
    "logs",
    "stats",
]


def _require_running(record: ContainerRecord, name: str = "") -> None:
    """Docker's words: a paused container is named as the caller named it, one not running by its ID."""
    if record.status is ContainerStatus.PAUSED:
        raise Conflict(f"Container {name or record.id} is paused, unpause the container before exec")
    if record.status is not ContainerStatus.RUNNING:
        raise Conflict(f"Container {record.id} is not running")


def logs(svc: ContainerService, record: ContainerRecord, opts: LogOptions) -> Iterator[LogEntry]:
    """The container's log entries; partial records (a line cut by the monitor) are joined to their rest."""
    from dataclasses import replace

    from dockyard.runtime import LogEntry

    bundle = svc.bundle(record.id)
    follow = opts.follow and record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)
    entries = svc.runtime.logs(bundle, replace(opts, follow=follow))
    pending: dict[int, LogEntry] = {}
    for entry in entries:
        held = pending.pop(entry.stream, None)
        if held is not None:
            entry = LogEntry(entry.stream, held.time_ns, held.data + entry.data, entry.partial)
        if entry.partial:
            pending[entry.stream] = entry
            continue
        yield entry
    yield from pending.values()


@dataclass(frozen=True)
class ExecInfo:
    """Docker's ``GET /exec/{id}/json``."""

    id: str
    container_id: str
    running: bool
    exit_code: int | None
    pid: int
    options: ExecCreateOptions
    open_stdin: bool
    open_stdout: bool
    open_stderr: bool


class ExecHandle:
    """A started exec: connect to :attr:`attach_socket` before :meth:`start` when attached; :meth:`wait` gives
    (and records) the exit code."""

    def __init__(self, svc: ContainerService, record: ExecRecord, session: ExecSession) -> None:
        self._svc = svc
        self.record = record
        self.session = session

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def attach_socket(self) -> Path:
        return self.session.attach_socket

    def start(self) -> int:
        pid = self.session.start()
        self._svc.execs.update_exec(self.id, pid=pid, monitor_pid=self.session.monitor_pid, running=True)
        exec_event(self._svc, self.record, "exec_start")
        return pid

    def resize(self, height: int, width: int) -> None:
        from dockyard.runtime.attach import resize

        resize(self.session.ctl, height, width)

    def wait(self, timeout: float | None = None) -> int | None:
        code = self.session.wait(timeout)
        if code is not None:
            self._svc.execs.update_exec(self.id, running=False, exit_code=code)
            exec_event(self._svc, self.record, "exec_die", code)
        return code

    def close(self) -> None:
        self.session.close()


def exec_create(svc: ContainerService, record: ContainerRecord, opts: ExecCreateOptions, name: str = "") -> str:
    _require_running(record, name)
    if not opts.cmd:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument("No exec command specified")
    exec_id = secrets.token_hex(32)
    ex = ExecRecord(exec_id, record.id, opts, time.time())
    svc.execs.insert_exec(ex)
    exec_event(svc, ex, "exec_create", container=record)
    return exec_id


def exec_event(
    svc: ContainerService,
    ex: ExecRecord,
    kind: str,
    exit_code: int | None = None,
    *,
    container: ContainerRecord | None = None,
) -> None:
    """Docker's exec events: ``exec_create: CMD``, ``exec_start: CMD`` and ``exec_die`` (with ``exitCode``), each
    with the container's attributes and ``execID``."""
    container = container or svc.store.get(ex.container_id)
    if container is None:
        return
    extra = {"execID": ex.id}
    if exit_code is not None:
        extra["exitCode"] = str(exit_code)
    action = kind if kind == "exec_die" else f"{kind}: {' '.join(ex.options.cmd)}"
    svc.emit(container, action, extra)


def _exec_record(svc: ContainerService, exec_id: str) -> ExecRecord:
    record = svc.execs.get_exec(exec_id)
    if record is None:
        raise NotFound(f"No such exec instance: {exec_id}")
    return record


def exec_start(
    svc: ContainerService, exec_id: str, *, detach: bool = False, console_size: tuple[int, int] | None = None
) -> ExecHandle:
    """Start an exec created by :func:`exec_create`. Attached: the process waits for :meth:`ExecHandle.start`."""
    from dockyard.runtime import ContainerStartError, ExecOptions

    ex = _exec_record(svc, exec_id)
    if ex.pid or ex.exit_code is not None:
        raise Conflict(f"Error: Exec command {exec_id} has already run")
    container = svc.get(ex.container_id)
    _require_running(container)
    o = ex.options
    size = console_size or (o.console_size if o.console_size != (0, 0) else None)
    options = ExecOptions(
        args=o.cmd,
        env=o.env,
        cwd=o.working_dir,
        user=o.user,
        tty=o.tty,
        stdin=o.attach_stdin,
        privileged=o.privileged,
        console_size=size if o.tty else None,
    )
    try:
        session = svc.runtime.exec(container.id, svc.bundle(container.id), exec_id, options, attach=not detach)
    except ContainerStartError as exc:
        svc.execs.update_exec(exec_id, running=False, exit_code=exc.exit_code)
        raise
    handle = ExecHandle(svc, ex, session)
    if detach:
        svc.execs.update_exec(exec_id, pid=session.pid, monitor_pid=session.monitor_pid, running=True)
        exec_event(svc, ex, "exec_start", container=container)
    return handle


def exec_info(svc: ContainerService, exec_id: str) -> ExecInfo:
    ex = _exec_record(svc, exec_id)
    running, code = ex.running, ex.exit_code
    if running:
        exit_file = svc.bundle(ex.container_id).exec_dir(exec_id) / "exit" / ex.container_id
        try:
            code = int(exit_file.read_text().strip())
            running = False
            svc.execs.update_exec(exec_id, running=False, exit_code=code)
            exec_event(svc, ex, "exec_die", code)
        except (OSError, ValueError):
            from dockyard.pids import pid_alive

            if not pid_alive(ex.monitor_pid):
                running = False
    o = ex.options
    return ExecInfo(ex.id, ex.container_id, running, code, ex.pid if running else 0, o, o.attach_stdin,
                    o.attach_stdout, o.attach_stderr)  # fmt: skip


@dataclass(frozen=True)
class StatsSample:
    """One sample of a container's usage: cgroup counters plus network bytes from its namespace."""

    id: str
    name: str
    cgroup: CgroupStats | None
    rx_bytes: int
    tx_bytes: int
    memory_total: int  # the host's memory, the limit shown when the container has none


def _net_bytes(pid: int) -> tuple[int, int]:
    rx = tx = 0
    try:
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, data = line.partition(":")
        if name.strip() == "lo":
            continue
        fields = data.split()
        if len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


def _memory_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def stats(svc: ContainerService, record: ContainerRecord) -> StatsSample:
    from dockyard.runtime import read_stats

    if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return StatsSample(record.id, record.name, None, 0, 0, _memory_total())
    sample = read_stats(f"/dockyard/{record.id}")
    rx, tx = _net_bytes(record.pid)
    return StatsSample(record.id, record.name, sample, rx, tx, _memory_total())


def pids_of(svc: ContainerService, record: ContainerRecord) -> list[int]:
    if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        raise Conflict(f"Container {record.id} is not running")
    return svc.runtime.runc.ps(record.id)


class PendingAttach:
    """An attach request: connected at once for a running container, or when this process next starts it."""

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        self._ready = threading.Event()
        self._socket: AttachSocket | None = None
        self._error: BaseException | None = None

    def connect(self, sock: AttachSocket) -> None:
        self._socket = sock
        self._ready.set()

    def attach_bundle(self, bundle: Bundle) -> None:
        from dockyard.runtime import AttachSocket

        self.connect(AttachSocket.connect(bundle.attach_socket))

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._ready.set()

    def wait(self, timeout: float | None = None) -> AttachSocket:
        """The connected socket (blocks until the container starts); TimeoutError, or the start's error."""
        if not self._ready.wait(timeout):
            raise TimeoutError(f"attach {self.container_id[:12]}: the container did not start")
        if self._error is not None:
            raise self._error
        assert self._socket is not None
        return self._socket
