"""Typed options in: what the container service says about one container, as the runtime needs it.

:class:`ContainerSpec` is the whole of one container's runtime configuration (process, security, namespaces,
mounts, resources). The spec builder (``spec.py``) turns it into an OCI ``config.json`` with Docker's defaults.
Parsers for the user-facing strings (``--ulimit``, ``--tmpfs``, ``--security-opt``, ``-v``) are in ``parse.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

__all__ = [
    "DEFAULT_SHM_SIZE",
    "ContainerSpec",
    "EtcFiles",
    "Mount",
    "MountType",
    "Namespace",
    "NamespaceMode",
    "Propagation",
    "Resources",
    "SeccompMode",
    "SecurityOptions",
    "Ulimit",
]

DEFAULT_SHM_SIZE = 64 * 1024 * 1024  # Docker's default --shm-size


class NamespaceMode(StrEnum):
    PRIVATE = "private"  # a new namespace (for the network: an empty one unless a path is given)
    HOST = "host"  # share the host's (no namespace entry in the spec)
    PATH = "path"  # join the namespace at ``Namespace.path`` (a netns file, /proc/<pid>/ns/<kind>)


@dataclass(frozen=True)
class Namespace:
    """One namespace of the container: a new one (``path`` empty) or the one at ``path`` to join."""

    mode: NamespaceMode = NamespaceMode.PRIVATE
    path: str | None = None

    @classmethod
    def host(cls) -> Namespace:
        return cls(NamespaceMode.HOST)

    @classmethod
    def join(cls, path: str | Path) -> Namespace:
        return cls(NamespaceMode.PATH, str(path))


class MountType(StrEnum):
    BIND = "bind"
    VOLUME = "volume"  # a bind mount of a named volume's directory (the caller resolves the name)
    TMPFS = "tmpfs"


class Propagation(StrEnum):
    PRIVATE = "private"
    RPRIVATE = "rprivate"
    SHARED = "shared"
    RSHARED = "rshared"
    SLAVE = "slave"
    RSLAVE = "rslave"


@dataclass(frozen=True)
class Mount:
    """A user mount: ``-v``, ``--mount``, ``--tmpfs``. ``source`` is a host path (empty for tmpfs)."""

    destination: str
    source: str = ""
    type: MountType = MountType.BIND
    read_only: bool = False
    propagation: Propagation = Propagation.RPRIVATE
    recursive: bool = True
    tmpfs_options: tuple[str, ...] = ()  # e.g. ("size=64m", "mode=1777"), merged over Docker's defaults


class SeccompMode(StrEnum):
    DEFAULT = "default"  # Docker's default profile
    UNCONFINED = "unconfined"
    CUSTOM = "custom"  # the JSON profile in ``SecurityOptions.seccomp_profile``


@dataclass(frozen=True)
class SecurityOptions:
    """Capabilities, seccomp, no-new-privileges and the masked/read-only paths of a container."""

    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    no_new_privileges: bool = False
    seccomp: SeccompMode = SeccompMode.DEFAULT
    seccomp_profile: str = ""  # JSON text of a Docker seccomp profile when ``seccomp`` is CUSTOM
    masked_paths: tuple[str, ...] | None = None  # None: Docker's list ("systempaths=unconfined" gives ())
    readonly_paths: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Ulimit:
    """One ``--ulimit name=soft[:hard]``; -1 means unlimited."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Resources:
    """cgroup v1 limits. ``None`` leaves a value unset (the kernel's default)."""

    memory: int | None = None  # bytes (--memory)
    memory_swap: int | None = None  # memory+swap in bytes, -1 for unlimited (--memory-swap)
    memory_reservation: int | None = None
    cpus: float | None = None  # --cpus: quota = cpus * period
    cpu_shares: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None  # <= 0 means unlimited
    blkio_weight: int | None = None
    oom_kill_disable: bool = False


@dataclass(frozen=True)
class EtcFiles:
    """The contents of the container's ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf``.

    They are written into the container's directory and bind-mounted (as Docker does); ``None`` leaves the
    image's own file in place. ``hosts``/``resolv_conf`` come from the network package (``Attachment``).
    """

    hostname: str | None = None
    hosts: str | None = None
    resolv_conf: str | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the runtime needs to know to build one container's ``config.json``."""

    id: str
    rootfs: str  # the mounted root filesystem (an overlay mount point)
    args: tuple[str, ...]  # entrypoint + command, already merged
    env: tuple[str, ...] = ()  # KEY=value; PATH and HOSTNAME are added as Docker does
    cwd: str = "/"
    user: str = ""  # user, user:group, uid, uid:gid (resolved against the rootfs)
    group_add: tuple[str, ...] = ()
    hostname: str = ""
    domainname: str = ""
    tty: bool = False
    console_size: tuple[int, int] | None = None  # (height, width) for --tty
    init: bool = False  # --init: /sbin/docker-init (tini) as PID 1
    init_path: str | None = None  # host binary bind-mounted at /sbin/docker-init (default: tini-static)
    read_only: bool = False
    mounts: tuple[Mount, ...] = ()
    etc_files: tuple[tuple[str, str], ...] = ()  # (destination, host file) written by ``write_etc_files``
    security: SecurityOptions = field(default_factory=SecurityOptions)
    resources: Resources = field(default_factory=Resources)
    ulimits: tuple[Ulimit, ...] = ()
    network: Namespace = field(default_factory=Namespace)
    pid: Namespace = field(default_factory=Namespace)
    ipc: Namespace = field(default_factory=Namespace)
    uts: Namespace = field(default_factory=Namespace)
    sysctls: tuple[tuple[str, str], ...] = ()
    shm_size: int = DEFAULT_SHM_SIZE
    cgroup_parent: str = "/dockyard"
    oom_score_adj: int | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    stop_signal: str | None = None  # kept for the caller (stop/kill); recorded as an annotation
