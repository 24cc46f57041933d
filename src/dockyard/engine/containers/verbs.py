"""The verbs' options and reports: what callers pass to ``stop``/``kill``/``rm``/``wait``/``exec``... and get back.
Frozen dataclasses and StrEnums; the CLI and the API server build them from flags and JSON bodies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.engine.containers.types import RestartPolicy

__all__ = [
    "AttachOptions",
    "CreateResult",
    "ExecCreateOptions",
    "ItemReport",
    "KillOptions",
    "PruneReport",
    "PullPolicy",
    "RemoveOptions",
    "StopOptions",
    "UpdateOptions",
    "WaitCondition",
]


class PullPolicy(StrEnum):
    MISSING = "missing"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class CreateResult:
    """What ``create`` made: the container's ID and the warnings to show."""

    id: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemReport:
    """One item of a batch verb (``stop a b c``): the name as given, the ID it resolved to, or the error."""

    name: str
    id: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class StopOptions:
    """``stop``/``restart``: the seconds before SIGKILL and the signal (by default the container's own)."""

    timeout: int | None = None  # None: the container's --stop-timeout, else 10 s
    signal: str = ""  # "": the container's stop signal


@dataclass(frozen=True)
class KillOptions:
    """``kill``: the signal to send."""

    signal: str = "KILL"


@dataclass(frozen=True)
class RemoveOptions:
    """``rm``: remove running containers too (``force``) and their anonymous volumes."""

    force: bool = False
    volumes: bool = False  # also anonymous volumes


@dataclass(frozen=True)
class PruneReport:
    """``container prune``: the IDs removed and the bytes reclaimed."""

    deleted: tuple[str, ...]
    space_reclaimed: int


class WaitCondition(StrEnum):
    NOT_RUNNING = "not-running"
    NEXT_EXIT = "next-exit"
    REMOVED = "removed"


@dataclass(frozen=True)
class AttachOptions:
    """``attach``: which streams, and the key sequence that detaches."""

    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    detach_keys: str = "ctrl-p,ctrl-q"


@dataclass(frozen=True)
class ExecCreateOptions:
    """``exec``: the command and how it runs (environment, directory, user, TTY, streams)."""

    cmd: tuple[str, ...]
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    privileged: bool = False
    detach_keys: str = ""
    console_size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class UpdateOptions:
    """``update``: the limits and restart policy to change; ``None`` leaves one as it is (``docker update``)."""

    memory: int | None = None
    memory_swap: int | None = None  # -1: unlimited
    memory_reservation: int | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None  # <= 0: unlimited
    blkio_weight: int | None = None
    restart_policy: RestartPolicy | None = None

    def changes(self) -> dict[str, object]:
        """The ``CreateOptions`` fields this update sets."""
        return {k: v for k, v in self.__dict__.items() if v is not None}
