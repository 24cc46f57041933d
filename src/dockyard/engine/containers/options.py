"""What a container is created from: :class:`CreateOptions` follows Docker's create body (``Config`` +
``HostConfig`` + ``NetworkingConfig``) field by field, so the API's ``POST /containers/create`` maps onto it one
to one; ``None`` means "not given" where Docker distinguishes that from an empty value (``Cmd``, ``Entrypoint``,
``PidsLimit``...). :class:`MountRequest` is one ``--mount``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.engine.containers.types import MountRequestType, RestartPolicy, UlimitSpec
from dockyard.errors import InvalidArgument

__all__ = ["CreateOptions", "MountRequest"]


@dataclass(frozen=True)
class MountRequest:
    """One ``--mount`` (or a ``-v``/``--tmpfs`` turned into one): a source the service resolves at start."""

    type: MountRequestType
    target: str
    source: str = ""  # host path (bind), volume name (volume; "" for an anonymous one), unused for tmpfs
    read_only: bool = False
    propagation: str = ""  # bind propagation: rprivate (default), private, rshared, shared, rslave, slave
    no_copy: bool = False  # volume-nocopy: do not copy the image's content into a new volume
    tmpfs_size: int = 0
    tmpfs_mode: int = 0

    @classmethod
    def parse(cls, value: str) -> MountRequest:
        """``--mount type=bind,source=/a,target=/b,readonly`` (the docker CLI's csv syntax and wording)."""
        kind = MountRequestType.VOLUME
        values: dict[str, str] = {}
        flags: set[str] = set()
        for item in (f for f in value.split(",") if f):
            key, sep, val = item.partition("=")
            key = key.strip().lower()
            if not sep:
                if key in ("readonly", "ro", "volume-nocopy"):
                    flags.add(key)
                    continue
                raise InvalidArgument(f"invalid field '{item}' must be a key=value pair")
            if key == "type":
                try:
                    kind = MountRequestType(val)
                except ValueError:
                    raise InvalidArgument(f"invalid value for '{key}': {val}") from None
            elif key in ("readonly", "ro", "volume-nocopy"):
                if val.lower() not in ("1", "true", "0", "false"):
                    raise InvalidArgument(f"invalid value for {key}: {val}")
                if val.lower() in ("1", "true"):
                    flags.add(key)
            elif key in ("source", "src", "target", "destination", "dst", "bind-propagation", "tmpfs-size",
                         "tmpfs-mode", "volume-driver", "volume-label", "volume-opt", "consistency",
                         "bind-nonrecursive", "volume-subpath"):  # fmt: skip
                values[{"src": "source", "destination": "target", "dst": "target"}.get(key, key)] = val
            else:
                raise InvalidArgument(f"unexpected key '{key}' in '{item}'")
        target = values.get("target", "")
        if not target:
            raise InvalidArgument("target is required")
        size = 0
        if "tmpfs-size" in values:
            from dockyard.runtime.parse import parse_bytes

            size = parse_bytes(values["tmpfs-size"])
        mode = int(values["tmpfs-mode"], 8) if "tmpfs-mode" in values else 0
        if kind is not MountRequestType.TMPFS and (size or mode):
            raise InvalidArgument(f'invalid mount config for type "{kind}": tmpfs options are not allowed here')
        if kind is MountRequestType.BIND and not values.get("source"):
            raise InvalidArgument('invalid mount config for type "bind": field Source must not be empty')
        if kind is MountRequestType.TMPFS and values.get("source"):
            raise InvalidArgument('invalid mount config for type "tmpfs": field Source must not be specified')
        return cls(
            type=kind,
            target=target,
            source=values.get("source", ""),
            read_only=bool(flags & {"readonly", "ro"}),
            propagation=values.get("bind-propagation", ""),
            no_copy="volume-nocopy" in flags,
            tmpfs_size=size,
            tmpfs_mode=mode,
        )


@dataclass(frozen=True)
class CreateOptions:
    """A container as the user asked for it (Docker's ``Config``/``HostConfig``/``NetworkingConfig``)."""

    image: str
    name: str = ""
    # Config
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None  # ("",) resets the image's entrypoint (--entrypoint "")
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    exposed_ports: tuple[str, ...] = ()  # --expose (80, 80/udp, 8000-8010)
    volumes: tuple[str, ...] = ()  # anonymous volumes (-v /data)
    stop_signal: str = ""
    stop_timeout: int | None = None
    # HostConfig
    binds: tuple[str, ...] = ()  # -v src:dst[:opts]
    mounts: tuple[MountRequest, ...] = ()  # --mount
    tmpfs: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)  # --tmpfs dst[:opts]
    network_mode: str = "default"
    publish: tuple[str, ...] = ()  # -p specs as typed
    publish_all: bool = False
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    security_opt: tuple[str, ...] = ()
    ipc_mode: str = ""
    pid_mode: str = ""
    uts_mode: str = ""
    shm_size: int = 0
    sysctls: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    init: bool = False
    oom_score_adj: int = 0
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None
    blkio_weight: int = 0
    oom_kill_disable: bool = False
    ulimits: tuple[UlimitSpec, ...] = ()
    console_size: tuple[int, int] = (0, 0)
    runtime: str = ""
    # NetworkingConfig (the primary network's endpoint)
    network_aliases: tuple[str, ...] = ()
    ip: str = ""
    mac_address: str = ""
