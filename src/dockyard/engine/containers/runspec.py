"""From a container's record to what the runtime and the network package take: :class:`ContainerSpec`,
:class:`NetworkOptions`, security options, resources and ulimits (the parsing and Docker's checks live in
``runtime.parse``/``network.options``; this module only maps the fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.engine.containers.options import CreateOptions
    from dockyard.engine.containers.records import ContainerRecord
    from dockyard.network import NetworkOptions
    from dockyard.runtime import ContainerSpec, Mount, Namespace, Resources, SecurityOptions, Ulimit

__all__ = ["container_spec", "network_options", "resources", "security_options", "ulimits"]


def network_options(
    opts: CreateOptions, exposed: Sequence[str], *, mode: str | None = None, hostname: str | None = None
) -> NetworkOptions:
    """The network package's options (validated there, with Docker's wording). ``mode`` replaces the network
    mode (``container:<id>`` once the other container is resolved), ``hostname`` the one given at create."""
    from dockyard.network import NetworkOptions

    return NetworkOptions.from_cli(
        network=mode or opts.network_mode,
        aliases=opts.network_aliases,
        ip=opts.ip or None,
        mac=opts.mac_address or None,
        publish=opts.publish,
        publish_all=opts.publish_all,
        exposed=exposed,
        add_hosts=opts.extra_hosts,
        dns=opts.dns,
        dns_search=opts.dns_search,
        dns_options=opts.dns_options,
        hostname=opts.hostname if hostname is None else hostname,
        domainname=opts.domainname,
    )


def security_options(opts: CreateOptions) -> SecurityOptions:
    from dockyard.runtime import SecurityOptions, parse_security_opts

    base = SecurityOptions(privileged=opts.privileged, cap_add=opts.cap_add, cap_drop=opts.cap_drop)
    return parse_security_opts(opts.security_opt, base)


def ulimits(opts: CreateOptions) -> tuple[Ulimit, ...]:
    from dockyard.runtime import Ulimit

    return tuple(Ulimit(u.name, u.soft, u.hard) for u in opts.ulimits)


def resources(opts: CreateOptions) -> Resources:
    from dockyard.runtime import Resources

    return Resources(
        memory=opts.memory or None,
        memory_swap=opts.memory_swap or None,
        memory_reservation=opts.memory_reservation or None,
        cpus=opts.nano_cpus / 1e9 if opts.nano_cpus else None,
        cpu_shares=opts.cpu_shares or None,
        cpu_period=opts.cpu_period or None,
        cpu_quota=opts.cpu_quota or None,
        cpuset_cpus=opts.cpuset_cpus or None,
        cpuset_mems=opts.cpuset_mems or None,
        pids_limit=opts.pids_limit if opts.pids_limit and opts.pids_limit > 0 else None,  # <= 0: unlimited, as docker
        blkio_weight=opts.blkio_weight or None,
        oom_kill_disable=opts.oom_kill_disable,
    )


def _namespace(mode: str, other_pid: int, kind: str) -> Namespace:
    from dockyard.runtime import Namespace

    if mode == "host":
        return Namespace.host()
    if mode.startswith("container:"):
        return Namespace.join(f"/proc/{other_pid}/ns/{kind}")
    return Namespace()


def container_spec(
    record: ContainerRecord,
    rootfs: str,
    mounts: Sequence[Mount],
    etc_files: tuple[tuple[str, str], ...],
    network: Namespace,
    *,
    pid_peer: int = 0,
    ipc_peer: int = 0,
    console_size: tuple[int, int] | None = None,
) -> ContainerSpec:
    """The runtime's view of one start of the container. ``pid_peer``/``ipc_peer`` are the init PIDs of the
    containers named by ``--pid``/``--ipc container:<x>``."""
    from dockyard.runtime import DEFAULT_SHM_SIZE, ContainerSpec, Namespace

    opts, config = record.options, record.config
    size = console_size or (opts.console_size if opts.console_size != (0, 0) else None)
    return ContainerSpec(
        id=record.id,
        rootfs=rootfs,
        args=config.args,
        env=config.env,
        cwd=config.working_dir or "/",
        user=config.user,
        group_add=opts.group_add,
        hostname=config.hostname,
        domainname=config.domainname,
        tty=config.tty,
        console_size=size if config.tty and size and size[0] and size[1] else None,
        init=opts.init,
        read_only=opts.read_only,
        mounts=tuple(mounts),
        etc_files=etc_files,
        security=security_options(opts),
        resources=resources(opts),
        ulimits=ulimits(opts),
        network=network,
        pid=_namespace(opts.pid_mode, pid_peer, "pid"),
        ipc=_namespace(opts.ipc_mode, ipc_peer, "ipc"),
        uts=Namespace.host() if opts.uts_mode == "host" else Namespace(),
        sysctls=tuple(sorted(opts.sysctls.items())),
        shm_size=opts.shm_size or DEFAULT_SHM_SIZE,
        oom_score_adj=opts.oom_score_adj or None,
        stop_signal=config.stop_signal or None,
    )
