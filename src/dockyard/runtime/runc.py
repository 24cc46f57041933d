"""A thin, synchronous wrapper of the ``runc`` command line.

Every call passes ``--root`` (the state root's ``run/runc``, so tests and users never see each other's
containers) and ``--log-format json``; failures become dockyard errors in plain words (see ``errors.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dockyard.errors import Conflict, DockyardError, FailedPrecondition, NotFound
from dockyard.runtime.errors import clean_runtime_message, translate_runtime_error

__all__ = ["Runc", "RuncState", "RuncStatus", "which"]

log = logging.getLogger(__name__)

# runc's wording when a container is in the wrong state for the verb
_STATE_CONFLICTS = (
    "not running",
    "not paused",
    "not stopped",
    "stopped container",
    "already running",
    "has stopped",
    "is paused",
)


class RuncStatus(StrEnum):
    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True)
class RuncState:
    """``runc state``: what runc knows of one container."""

    id: str
    pid: int
    status: RuncStatus
    bundle: str
    created: str
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RuncState:
        annotations = data.get("annotations")
        pid = data.get("pid", 0)
        return cls(
            id=str(data.get("id", "")),
            pid=pid if isinstance(pid, int) else 0,
            status=RuncStatus(str(data.get("status", "stopped"))),
            bundle=str(data.get("bundle", "")),
            created=str(data.get("created", "")),
            annotations=tuple(sorted((str(k), str(v)) for k, v in annotations.items()))
            if isinstance(annotations, dict)
            else (),
        )


def which(name: str) -> str | None:
    """``shutil.which(name)``: the first executable file named ``name`` on ``$PATH`` (``name`` itself when it
    has a slash). Here because every container start looks up runc and conmon, and importing ``shutil`` (with
    its bz2 and lzma modules) would cost it ~2 ms."""

    def found(path: str) -> bool:
        return os.path.exists(path) and os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path)

    if os.path.dirname(name):
        return name if found(name) else None
    search = os.environ.get("PATH")
    if search is None:
        try:
            search = os.confstr("CS_PATH") or os.defpath
        except (AttributeError, ValueError):
            search = os.defpath
    for directory in dict.fromkeys(search.split(os.pathsep)) if search else ():
        if found(path := os.path.join(directory, name)):
            return path
    return None


def _stderr_message(stderr: bytes) -> str:
    """The last error runc printed (JSON lines with --log-format json, or plain text)."""
    message = ""
    for line in stderr.decode(errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            message = line
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            message = str(entry.get("msg", ""))
    return message


class Runc:
    """``runc --root <root> --log-format json ...``."""

    def __init__(self, root: Path, binary: str = "runc") -> None:
        self.root = root
        self.binary = binary
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            found = which(self.binary)
            if not found:
                raise FailedPrecondition(
                    f"runtime: {self.binary} not found in PATH", hint="install runc (apt-get install runc)"
                )
            self._path = found
        return self._path

    def global_args(self) -> list[str]:
        return [f"--root={self.root}", "--log-format=json"]

    def _run(
        self, verb: str, container_id: str, args: Sequence[str], *, input: bytes | None = None, timeout: float = 60
    ) -> bytes:
        argv = [self.path, *self.global_args(), *args]
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise FailedPrecondition(f"{verb} container {container_id}: runc did not answer in {timeout:g}s") from None
        if proc.returncode != 0:
            raise self._error(verb, container_id, _stderr_message(proc.stderr) or f"runc exited {proc.returncode}")
        return proc.stdout

    def _error(self, verb: str, container_id: str, message: str) -> DockyardError:
        text = clean_runtime_message(message)
        if "does not exist" in text:
            return NotFound(f"{verb} container {container_id}: no such container in the runtime")
        if any(s in text for s in _STATE_CONFLICTS):
            return Conflict(f"{verb} container {container_id}: {text}")
        if verb in ("create", "run", "exec", "start"):
            return translate_runtime_error(message)
        return FailedPrecondition(f"{verb} container {container_id}: {text}")

    # lifecycle -------------------------------------------------------------------------------------------------

    def create(self, container_id: str, bundle: Path, *, pid_file: Path | None = None) -> None:
        """``runc create`` with the caller's stdio closed (conmon is the usual way to create; this is for tests)."""
        args = ["create", "--bundle", str(bundle)]
        if pid_file:
            args += ["--pid-file", str(pid_file)]
        self._run("create", container_id, [*args, container_id])

    def start(self, container_id: str) -> None:
        """``runc start``: let the created container's process run (through its exec FIFO when possible)."""
        if not self._start_by_fifo(container_id):
            self._run("start", container_id, ["start", container_id])

    def _start_by_fifo(self, container_id: str) -> bool:
        """What ``runc start`` does for a created container, without starting runc (~8 ms of a ~10 ms step).

        runc (1.0 and later) leaves the created container's init blocked opening ``<root>/<id>/exec.fifo`` for
        writing; ``runc start`` opens it for reading, reads until the init closes it by exec-ing the user's
        process, and removes it (libcontainer ``linuxContainer.exec``). This does the same, with runc's check
        that the init is still alive every 100 ms. It returns False — and ``runc start`` then runs and reports
        in its own words — whenever anything is not as expected: no FIFO (not ``created``), a runtime that is
        not runc, ``NOTIFY_SOCKET`` set (runc start would relay the container's readiness), a dead init.
        """
        if os.path.basename(self.path) != "runc" or os.environ.get("NOTIFY_SOCKET"):
            return False
        fifo = self.root / container_id / "exec.fifo"
        try:
            if not stat.S_ISFIFO(os.stat(fifo).st_mode):
                return False
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        data = b""
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLHUP)
            while True:
                if poller.poll(100):
                    chunk = os.read(fd, 64)
                    if not chunk:
                        break  # EOF: the init exec-ed (its end of the FIFO is close-on-exec)
                    data += chunk
                elif not self._init_alive(container_id):
                    with contextlib.suppress(BlockingIOError):
                        data += os.read(fd, 64)
                    break
        finally:
            os.close(fd)
        if not data:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fifo)
        return True

    def _init_alive(self, container_id: str) -> bool:
        """The container's init (``init_process_pid`` of runc's state) exists and is not a zombie."""
        try:
            pid = int(json.loads((self.root / container_id / "state.json").read_bytes())["init_process_pid"])
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat_line = f.read()
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return stat_line[stat_line.rfind(b")") + 2 : stat_line.rfind(b")") + 3] not in (b"Z", b"X")

    def run(
        self,
        container_id: str,
        bundle: Path,
        *,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        timeout: float | None = None,
    ) -> int:
        """``runc run`` in the foreground with the given fds as the container's stdio (no monitor, no log: for
        short helper containers). The container's exit code; runc removes the container afterwards."""
        argv = [self.path, *self.global_args(), "run", "--bundle", str(bundle), container_id]
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.DEVNULL if stdout is None else stdout,
            stderr=subprocess.PIPE if stderr is None else stderr,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 and proc.stderr:
            message = _stderr_message(proc.stderr)
            if "runc run failed" in message:
                raise self._error("run", container_id, message)
        return proc.returncode

    def state(self, container_id: str) -> RuncState:
        data = json.loads(self._run("inspect", container_id, ["state", container_id]))
        return RuncState.from_json(data)

    def containers(self) -> list[RuncState]:
        out = self._run("list", "", ["list", "--format", "json"])
        data = json.loads(out) if out.strip() else []
        return [RuncState.from_json(d) for d in data or []]

    def kill(self, container_id: str, signal: int | str = "SIGTERM", *, all_processes: bool = False) -> None:
        args = ["kill", *(["--all"] if all_processes else []), container_id, str(signal)]
        self._run("kill", container_id, args)

    def delete(self, container_id: str, *, force: bool = False) -> None:
        self._run("delete", container_id, ["delete", *(["--force"] if force else []), container_id])

    def pause(self, container_id: str) -> None:
        self._run("pause", container_id, ["pause", container_id])

    def resume(self, container_id: str) -> None:
        self._run("unpause", container_id, ["resume", container_id])

    def exec_detached(self, container_id: str, process: Path, *, pid_file: Path | None = None) -> None:
        """``runc exec --detach --process <file>`` (no stdio; conmon is the way to exec with I/O)."""
        args = ["exec", "--detach", "--process", str(process)]
        if pid_file:
            args += ["--pid-file", str(pid_file)]
        self._run("exec", container_id, [*args, container_id])

    def ps(self, container_id: str) -> list[int]:
        """The host PIDs of the container's processes."""
        out = json.loads(self._run("top", container_id, ["ps", "--format", "json", container_id]) or b"[]")
        return [int(p) for p in out or []]

    def events_stats(self, container_id: str) -> dict[str, object]:
        """``runc events --stats``: one sample of the container's cgroup statistics (runc's JSON ``data``)."""
        out = json.loads(self._run("stats", container_id, ["events", "--stats", container_id]))
        data = out.get("data") if isinstance(out, dict) else None
        return data if isinstance(data, dict) else {}

    def update(self, container_id: str, resources: dict[str, object]) -> None:
        """``runc update --resources -`` with an OCI ``linux.resources`` object."""
        self._run(
            "update", container_id, ["update", "--resources", "-", container_id], input=json.dumps(resources).encode()
        )
