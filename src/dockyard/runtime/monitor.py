"""The per-container monitor: conmon, driven as Podman drives it (``libpod/oci_conmon_common.go``).

conmon double-forks and outlives its caller. It runs ``runc create`` (or ``runc exec``), holds the container's
stdio, writes the k8s-file log, serves the attach socket (``<bundle>/attach``) and the control FIFO
(``<bundle>/ctl``), records the exit code in ``--exit-dir/<id>`` and ``--persist-dir/exit``, and runs the
caller's exit command when the container ends (after writing the exit code).

The handshake uses three SOCK_SEQPACKET pairs passed by number in the environment: ``_OCI_STARTPIPE`` (one byte
lets conmon proceed; a second one, for an attached exec, lets runc exec start once the client is attached),
``_OCI_SYNCPIPE`` (conmon answers ``{"data": <pid>}`` or ``{"data": -1, "message": ...}``, and for an exec
later ``{"data": <exit code>}``) and ``_OCI_ATTACHPIPE`` (``{"data": 0}`` once the exec's attach socket listens).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.runtime.bundle import Bundle
from dockyard.runtime.errors import last_runtime_error, translate_runtime_error
from dockyard.runtime.inotify import wait_readable
from dockyard.runtime.runc import Runc, which

__all__ = ["Conmon", "Created", "ExecSession", "MonitorOptions"]

log = logging.getLogger(__name__)

CREATE_TIMEOUT = 60.0


@dataclass(frozen=True)
class MonitorOptions:
    """How conmon runs a container: stdio, logging, the exit command and the name it reports."""

    tty: bool = False
    stdin: bool = False  # -i: keep a pipe (or the pty) open for stdin sent through the attach socket
    stdin_once: bool = True  # close the container's stdin when the attached client closes its side
    log_path: Path | None = None  # default: the bundle's ctr.log
    log_size_max: int | None = None
    exit_command: tuple[str, ...] = ()  # run by conmon after the container exits, e.g. dockyard container cleanup
    exit_delay: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Created:
    """A container runc created under conmon: its init PID, conmon's PID and the sync socket."""

    pid: int  # the container's init process on the host
    monitor_pid: int  # conmon
    # conmon's end of the sync pipe stays open until the exit code is written (it closes it before running the
    # exit command): EOF here is the cheapest "the container is done" signal for the process that created it.
    sync: socket.socket | None = field(default=None, compare=False, repr=False)


def _read_message(sock: socket.socket, timeout: float | None, what: str) -> dict[str, object] | None:
    """One JSON message from a conmon pipe; None when conmon closed it without writing."""
    if not wait_readable([sock.fileno()], timeout):
        raise FailedPrecondition(f"{what}: conmon did not answer in {timeout:g}s")
    data = sock.recv(65536)
    if not data:
        return None
    try:
        message = json.loads(data)
    except ValueError:
        raise FailedPrecondition(f"{what}: unexpected reply from conmon: {data[:200]!r}") from None
    return message if isinstance(message, dict) else None


def _data(message: dict[str, object]) -> int:
    value = message.get("data", -1)
    return value if isinstance(value, int) else -1


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class ExecSession:
    """One ``exec`` under its own conmon. For an attached exec, connect to :attr:`attach_socket` first, then call
    :meth:`start`; :meth:`wait` returns the exit code."""

    def __init__(
        self, container_id: str, directory: Path, sync: socket.socket, start: socket.socket | None, monitor_pid: int
    ) -> None:
        self.container_id = container_id
        self.directory = directory
        self.monitor_pid = monitor_pid
        self.pid = 0
        self._sync: socket.socket | None = sync
        self._start = start

    @property
    def attach_socket(self) -> Path:
        return self.directory / "attach"

    @property
    def ctl(self) -> Path:
        return self.directory / "ctl"

    @property
    def exit_file(self) -> Path:
        return self.directory / "exit" / self.container_id

    def sync_fileno(self) -> int:
        """The fd that becomes readable when the exec ends (for an event loop's ``add_reader``)."""
        if self._sync is None:
            raise InvalidArgument("exec session: already closed")
        return self._sync.fileno()

    def start(self, timeout: float = CREATE_TIMEOUT) -> int:
        """Let runc exec run (after the client attached) and return the process's host PID."""
        if self._start is not None:
            try:
                self._start.send(b"\0")
            except OSError:
                pass
            self._start.close()
            self._start = None
        if self.pid:
            return self.pid
        assert self._sync is not None
        message = _read_message(self._sync, timeout, f"exec in container {self.container_id}")
        if message is None or _data(message) <= 0:
            self.close()
            detail = last_runtime_error(self.directory / "oci-log") or (message or {}).get("message")
            raise translate_runtime_error(str(detail or "exec failed: conmon exited without a pid"))
        self.pid = _data(message)
        return self.pid

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code (None if the timeout passed or it was not recorded)."""
        if self._sync is not None:
            if not self.pid:
                self.start()
            if not wait_readable([self._sync.fileno()], timeout):
                return None
            message = _read_message(self._sync, 0, f"exec in container {self.container_id}")
            self.close()
            if message is not None:
                return _data(message)
        return _read_int(self.exit_file)

    def close(self) -> None:
        for sock in (self._sync, self._start):
            if sock is not None:
                sock.close()
        self._sync = self._start = None


class Conmon:
    """Starts conmon for containers (``create``) and exec sessions (``exec``) under one runc root."""

    def __init__(self, runc: Runc, exits_dir: Path, binary: str = "conmon") -> None:
        self.runc = runc
        self.exits_dir = exits_dir
        self.binary = binary
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            found = which(self.binary)
            if not found:
                raise FailedPrecondition(
                    f"monitor: {self.binary} not found in PATH", hint="install conmon (apt-get install conmon)"
                )
            self._path = found
        return self._path

    def _common_args(self, container_id: str, uuid: str, directory: Path, name: str | None) -> list[str]:
        args = [
            "--api-version", "1",
            "-c", container_id,
            "-u", uuid,
            "-r", self.runc.path,
            "-b", str(directory),
            "-p", str(directory / "pidfile"),
            "-P", str(directory / "conmon.pid"),
            "-n", name or container_id,
            "--full-attach",
            "--no-sync-log",
        ]  # fmt: skip
        for arg in self.runc.global_args():
            args += ["--runtime-arg", arg]
        args += ["--runtime-arg", "--log", f"--runtime-arg={directory / 'oci-log'}"]
        return args

    def _spawn(self, args: list[str], pipes: dict[str, socket.socket], what: str) -> int:
        """Run conmon until its first process exits (the daemon child lives on); return the daemon's PID."""
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env.update({name: str(sock.fileno()) for name, sock in pipes.items()})
        try:
            proc = subprocess.Popen(
                [self.path, *args],
                env=env,
                pass_fds=tuple(s.fileno() for s in pipes.values()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        finally:
            for sock in pipes.values():
                sock.close()
        try:
            _, stderr = proc.communicate(timeout=CREATE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise FailedPrecondition(f"{what}: conmon did not start") from None
        if proc.returncode != 0:
            raise FailedPrecondition(f"{what}: conmon failed: {stderr.decode(errors='replace').strip()}")
        directory = Path(args[args.index("-b") + 1])
        return _read_int(directory / "conmon.pid") or 0

    def create(
        self,
        container_id: str,
        bundle: Bundle,
        opts: MonitorOptions,
        *,
        timeout: float = CREATE_TIMEOUT,
        during: Callable[[], None] | None = None,
    ) -> Created:
        """``runc create`` under a new conmon: the container exists (status ``created``) when this returns.

        ``during`` runs while runc creates the container (~50 ms, in other processes: on another core): work the
        caller needs next, done meanwhile. If it fails, the error is raised once runc is done (the container may
        exist then: the caller removes it, as after any failed start)."""
        for stale in (bundle.pidfile, bundle.monitor_pidfile, bundle.exit_file, bundle.oom_file):
            stale.unlink(missing_ok=True)
        (self.exits_dir / container_id).unlink(missing_ok=True)
        self.exits_dir.mkdir(parents=True, exist_ok=True)
        log_offset = bundle.runtime_log.stat().st_size if bundle.runtime_log.exists() else 0
        args = self._common_args(container_id, container_id, bundle.path, opts.name)
        args += ["--exit-dir", str(self.exits_dir), "--persist-dir", str(bundle.path)]
        args += ["-l", f"k8s-file:{opts.log_path or bundle.log}"]
        if opts.log_size_max:
            args += ["--log-size-max", str(opts.log_size_max)]
        if opts.tty:
            args.append("-t")
        elif opts.stdin:
            args.append("-i")
        if opts.stdin and not opts.stdin_once:
            args.append("--leave-stdin-open")
        args += self._exit_command_args(opts.exit_command, opts.exit_delay)
        parent_sync, child_sync = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_start, parent_start = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        what = f"create container {container_id}"
        try:
            with parent_start:
                parent_start.send(b"\0")  # buffered until conmon reads it
                monitor_pid = self._spawn(args, {"_OCI_SYNCPIPE": child_sync, "_OCI_STARTPIPE": child_start}, what)
                failure: BaseException | None = None
                if during is not None:
                    try:
                        during()
                    except BaseException as exc:
                        failure = exc
                message = _read_message(parent_sync, timeout, what)
            if failure is not None:
                raise failure
            if message is None or _data(message) <= 0:
                detail = last_runtime_error(bundle.runtime_log, since=log_offset) or (message or {}).get("message")
                raise translate_runtime_error(str(detail or "conmon exited before the container was created"))
        except BaseException:
            parent_sync.close()
            raise
        return Created(pid=_data(message), monitor_pid=monitor_pid, sync=parent_sync)

    @staticmethod
    def _exit_command_args(command: tuple[str, ...], delay: int | None) -> list[str]:
        if not command:
            return []
        program = command[0] if os.path.isabs(command[0]) else which(command[0])
        if not program:
            raise FailedPrecondition(f"monitor: exit command {command[0]} not found in PATH")
        args = ["--exit-command", program]
        for arg in command[1:]:
            args += ["--exit-command-arg", arg]
        if delay:
            args += ["--exit-delay", str(delay)]
        return args

    def exec(
        self,
        container_id: str,
        bundle: Bundle,
        exec_id: str,
        process: dict[str, object],
        *,
        stdin: bool = False,
        attach: bool = True,
        exit_command: tuple[str, ...] = (),
        timeout: float = CREATE_TIMEOUT,
    ) -> ExecSession:
        """Start ``runc exec`` of ``process`` (an OCI process object) under its own conmon.

        With ``attach`` the exec waits: connect to ``session.attach_socket``, then ``session.start()``. Without
        it the process is started already (``session.pid``) and its exit code lands in ``session.exit_file``.
        """
        directory = bundle.exec_dir(exec_id)
        (directory / "exit").mkdir(parents=True, exist_ok=True)
        spec_path = directory / "process.json"
        spec_path.write_text(json.dumps(process))
        args = self._common_args(container_id, exec_id, directory, None)
        args += ["--exit-dir", str(directory / "exit"), "-l", "none", "-e", "--exec-process-spec", str(spec_path)]
        if process.get("terminal"):
            args.append("-t")
        if stdin:
            args.append("-i")
        if attach:
            args.append("--exec-attach")
        args += self._exit_command_args(exit_command, None)
        parent_sync, child_sync = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_start, parent_start = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pipes = {"_OCI_SYNCPIPE": child_sync, "_OCI_STARTPIPE": child_start}
        what = f"exec in container {container_id}"
        parent_attach = None
        if attach:
            parent_attach, child_attach = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            pipes["_OCI_ATTACHPIPE"] = child_attach
        try:
            parent_start.send(b"\0")
            monitor_pid = self._spawn(args, pipes, what)
            session = ExecSession(container_id, directory, parent_sync, parent_start if attach else None, monitor_pid)
            if parent_attach is not None:
                if _read_message(parent_attach, timeout, what) is None:
                    session.close()
                    raise FailedPrecondition(f"{what}: conmon exited before the attach socket was ready")
            else:
                parent_start.close()
                session.start(timeout)
            return session
        except BaseException:
            parent_sync.close()
            parent_start.close()
            raise
        finally:
            if parent_attach is not None:
                parent_attach.close()
