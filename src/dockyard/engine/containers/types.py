"""The values a container record is made of: its state, restart policy, mounts, ulimits and effective config.
Frozen dataclasses and StrEnums only. The verbs' options and reports are in ``verbs.py`` and ``CreateOptions`` in
``options.py`` (listing containers needs neither, so it does not pay for building their classes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from dockyard.errors import InvalidArgument, NotFound

__all__ = [
    "ContainerMount",
    "ContainerStatus",
    "MountRequestType",
    "NetworkRef",
    "NoSuchImage",
    "RestartPolicy",
    "RestartPolicyName",
    "RunConfig",
    "UlimitSpec",
]


class NoSuchImage(NotFound):
    """The image to create from is not in the store (``docker run`` pulls it then)."""


class ContainerStatus(StrEnum):
    """Docker's ``State.Status`` values, plus ``creating`` (internal: a create still in progress, never listed)."""

    CREATING = "creating"
    CREATED = "created"
    RESTARTING = "restarting"
    RUNNING = "running"
    REMOVING = "removing"
    PAUSED = "paused"
    EXITED = "exited"
    DEAD = "dead"

    @property
    def active(self) -> bool:
        """The container has (or is about to have) processes: running, paused or restarting."""
        return self in (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING)


class RestartPolicyName(StrEnum):
    NO = "no"
    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"
    ON_FAILURE = "on-failure"


@dataclass(frozen=True)
class RestartPolicy:
    """``--restart``: the policy's name and, for ``on-failure``, the retry limit (0: none)."""

    name: RestartPolicyName = RestartPolicyName.NO
    maximum_retry_count: int = 0

    @classmethod
    def parse(cls, value: str) -> RestartPolicy:
        """``--restart no|always|unless-stopped|on-failure[:max-retries]`` with the docker CLI's wording."""
        name, sep, count = value.partition(":")
        if name in ("", "no"):
            if sep:
                raise InvalidArgument(
                    f"invalid restart policy format: maximum retry count cannot be used with '{name}'"
                )
            return cls()
        try:
            kind = RestartPolicyName(name)
        except ValueError:
            raise InvalidArgument(f"invalid restart policy format: unknown policy '{name}'") from None
        if not sep:
            return cls(kind)
        if kind is not RestartPolicyName.ON_FAILURE:
            raise InvalidArgument(f"invalid restart policy format: maximum retry count cannot be used with '{name}'")
        if not re.fullmatch(r"-?\d+", count):
            raise InvalidArgument(f'invalid restart policy format: strconv.Atoi: parsing "{count}": invalid syntax')
        retries = int(count)
        if retries < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
        return cls(kind, retries)

    def __str__(self) -> str:
        if self.name is RestartPolicyName.ON_FAILURE and self.maximum_retry_count:
            return f"on-failure:{self.maximum_retry_count}"
        return str(self.name)


class MountRequestType(StrEnum):
    BIND = "bind"
    VOLUME = "volume"
    TMPFS = "tmpfs"


@dataclass(frozen=True)
class ContainerMount:
    """A mount of the container as planned at create time (Docker's ``MountPoint``): binds and volumes from
    ``-v``/``--mount``/the image's ``VOLUME``s, tmpfs from ``--tmpfs``/``--mount type=tmpfs``. Anonymous
    volumes get their generated name here, so every start mounts the same one."""

    type: MountRequestType
    destination: str
    source: str = ""  # host path (bind) or volume name (volume)
    read_only: bool = False
    propagation: str = ""
    mode: str = ""  # Docker's Mode: the -v options as typed ("ro", "z", ...)
    anonymous: bool = False
    no_copy: bool = False
    tmpfs_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkRef:
    """A network the container was connected to besides its primary one (``network connect``)."""

    name: str
    aliases: tuple[str, ...] = ()
    ip: str = ""


@dataclass(frozen=True)
class UlimitSpec:
    """One ``--ulimit name=soft[:hard]``."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class RunConfig:
    """The container's effective configuration (Docker's ``Config`` after merging the image's), fixed at create
    time: starting never reads the image again."""

    image: str  # the reference as the user typed it
    hostname: str
    domainname: str
    user: str
    env: tuple[str, ...]
    cmd: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    working_dir: str
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    stop_timeout: int | None = None
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    on_build: tuple[str, ...] = ()

    @property
    def args(self) -> tuple[str, ...]:
        """Entrypoint + command: what PID 1 runs."""
        from dockyard.engine.containers.rows import program_args

        return program_args(self.entrypoint, self.cmd)

    @property
    def path(self) -> str:
        """Docker's ``Path``: the program."""
        return self.args[0] if self.args else ""
