"""Docker's JSON for a container: ``GET /containers/{id}/json`` (inspect) and one entry of ``GET /containers/json``
(list), API 1.41 shapes as dockerd 20.10 writes them (see the captures in shared/reference/docker-api 05, 09).

Pure functions of a :class:`ContainerDetails` (the record plus what other services know: endpoints, network
IDs, paths). ``inspect`` returns this dict, so the CLI's ``inspect``/``--format`` and the API show the same.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers.endpoints import EndpointView, endpoint_views
from dockyard.engine.containers.listing import ContainerSummary, network_names, status_text
from dockyard.engine.containers.records import ContainerRecord, PublishedPort
from dockyard.engine.containers.types import ContainerStatus, MountRequestType
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService

__all__ = [
    "ContainerDetails",
    "EndpointView",
    "container_details",
    "inspect_json",
    "port_bindings",
    "sizes",
    "summary_json",
]

ZERO_TIME = "0001-01-01T00:00:00Z"
Json = dict[str, Any]


@dataclass(frozen=True)
class ContainerDetails:
    record: ContainerRecord
    directory: Path  # <root>/containers/<id>
    log_path: Path
    endpoints: tuple[EndpointView, ...] = ()
    lower_dirs: tuple[str, ...] = ()
    snapshot_dir: Path | None = None
    volumes_root: Path | None = None
    exec_ids: tuple[str, ...] = ()
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    size_rw: int | None = None
    size_root_fs: int | None = None
    sandbox_key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _time(ts: float) -> str:
    """RFC 3339 in UTC, as Docker writes it (a float of seconds holds microseconds: no noise digits below)."""
    if ts <= 0:
        return ZERO_TIME
    micros = round(ts * 1_000_000)
    secs, frac = divmod(micros, 1_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}.{frac:06d}".rstrip("0").rstrip(".") + "Z"


def _list_or_none(values: Sequence[str]) -> list[str] | None:
    return list(values) if values else None


def port_bindings(publish: Sequence[str]) -> Json:
    """``HostConfig.PortBindings`` from ``-p`` specs: ``{"80/tcp": [{"HostIp": "", "HostPort": "4000"}]}``."""
    from dockyard.network import parse_port_specs

    out: Json = {}
    for spec in parse_port_specs(publish):
        host_port = ""
        if spec.host_port_start:
            host_port = str(spec.host_port_start)
            if spec.host_port_end != spec.host_port_start:
                host_port += f"-{spec.host_port_end}"
        out.setdefault(spec.key, []).append({"HostIp": spec.host_ip, "HostPort": host_port})
    return out


def _ports_map(record: ContainerRecord) -> Json:
    """``NetworkSettings.Ports``: every exposed port, with its bindings while running (``null`` if none)."""
    if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return {}
    out: Json = {}
    for key in record.config.exposed_ports:
        out.setdefault(key if "/" in key else f"{key}/tcp", None)
    for p in sorted(record.ports, key=lambda p: (p.container_port, p.protocol, p.host_ip)):
        key = f"{p.container_port}/{p.protocol}"
        out[key] = [*(out.get(key) or []), {"HostIp": p.host_ip, "HostPort": str(p.host_port)}]
    return out


def _host_config(d: ContainerDetails) -> Json:
    o = d.record.options
    privileged = o.privileged
    host: Json = {
        "Binds": _list_or_none(o.binds),
        "ContainerIDFile": "",
        # the driver Docker clients know can be read back (docker-py's run returns the output only for
        # json-file and journald): the file is conmon's k8s-file, served by the same logs endpoint (as Podman does)
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": o.network_mode,
        "PortBindings": port_bindings(o.publish),
        "RestartPolicy": {
            "Name": str(o.restart_policy.name),
            "MaximumRetryCount": o.restart_policy.maximum_retry_count,
        },
        "AutoRemove": o.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": None,
        "CapAdd": _list_or_none(o.cap_add),
        "CapDrop": _list_or_none(o.cap_drop),
        "CgroupnsMode": "host",
        "Dns": list(o.dns),
        "DnsOptions": list(o.dns_options),
        "DnsSearch": list(o.dns_search),
        "ExtraHosts": _list_or_none(o.extra_hosts),
        "GroupAdd": _list_or_none(o.group_add),
        "IpcMode": o.ipc_mode or "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": o.oom_score_adj,
        "PidMode": o.pid_mode,
        "Privileged": privileged,
        "PublishAllPorts": o.publish_all,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": _list_or_none(o.security_opt),
        "UTSMode": o.uts_mode,
        "UsernsMode": "",
        "ShmSize": o.shm_size or 67108864,
        "Runtime": o.runtime or "runc",
        "ConsoleSize": list(o.console_size),
        "Isolation": "",
        "CpuShares": o.cpu_shares,
        "Memory": o.memory,
        "NanoCpus": o.nano_cpus,
        "CgroupParent": "",
        "BlkioWeight": o.blkio_weight,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": o.cpu_period,
        "CpuQuota": o.cpu_quota,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": o.cpuset_cpus,
        "CpusetMems": o.cpuset_mems,
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "MemoryReservation": o.memory_reservation,
        "MemorySwap": o.memory_swap,
        "MemorySwappiness": None,
        "OomKillDisable": o.oom_kill_disable,
        "PidsLimit": o.pids_limit if o.pids_limit and o.pids_limit > 0 else None,  # <= 0: unlimited
        "Ulimits": [{"Name": u.name, "Hard": u.hard, "Soft": u.soft} for u in o.ulimits],
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": None if privileged else list(d.masked_paths),
        "ReadonlyPaths": None if privileged else list(d.readonly_paths),
    }
    if o.tmpfs:
        host["Tmpfs"] = dict(o.tmpfs)
    if o.sysctls:
        host["Sysctls"] = dict(o.sysctls)
    if o.init:
        host["Init"] = True
    if o.mounts:
        host["Mounts"] = [_mount_request_json(m) for m in o.mounts]
    return host


def _mount_request_json(m: Any) -> Json:
    out: Json = {"Type": str(m.type), "Source": m.source, "Target": m.target}
    if m.read_only:
        out["ReadOnly"] = True
    if m.type is MountRequestType.BIND and m.propagation:
        out["BindOptions"] = {"Propagation": m.propagation}
    if m.type is MountRequestType.VOLUME and m.no_copy:
        out["VolumeOptions"] = {"NoCopy": True}
    if m.type is MountRequestType.TMPFS and (m.tmpfs_size or m.tmpfs_mode):
        out["TmpfsOptions"] = {k: v for k, v in (("SizeBytes", m.tmpfs_size), ("Mode", m.tmpfs_mode)) if v}
    return out


def mounts_json(record: ContainerRecord, volumes_root: Path | None) -> list[Json]:
    """Inspect's ``Mounts`` (and the list's): volumes and binds (``--tmpfs`` ones are not listed, as in Docker)."""
    out: list[Json] = []
    for m in sorted(record.mounts, key=lambda m: m.destination):
        if m.type is MountRequestType.VOLUME:
            source = str((volumes_root or Path("/")) / m.source / "_data")
            out.append({"Type": "volume", "Name": m.source, "Source": source, "Destination": m.destination,
                        "Driver": "local", "Mode": m.mode, "RW": not m.read_only,
                        "Propagation": ""})  # fmt: skip
        elif m.type is MountRequestType.BIND:
            out.append({"Type": "bind", "Source": m.source, "Destination": m.destination, "Mode": m.mode,
                        "RW": not m.read_only, "Propagation": m.propagation or "rprivate"})  # fmt: skip
        elif any(r.target == m.destination for r in record.options.mounts):
            out.append({"Type": "tmpfs", "Source": "", "Destination": m.destination, "Mode": "",
                        "RW": not m.read_only, "Propagation": ""})  # fmt: skip
    return out


def _config(record: ContainerRecord) -> Json:
    c = record.config
    out: Json = {
        "Hostname": c.hostname,
        "Domainname": c.domainname,
        "User": c.user,
        "AttachStdin": c.attach_stdin,
        "AttachStdout": c.attach_stdout,
        "AttachStderr": c.attach_stderr,
    }
    if c.exposed_ports:
        out["ExposedPorts"] = {p: {} for p in c.exposed_ports}
    out.update(
        {
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "StdinOnce": c.stdin_once,
            "Env": _list_or_none(c.env),
            "Cmd": list(c.cmd) if c.cmd is not None else None,
            "Image": c.image,
            "Volumes": {v: {} for v in c.volumes} if c.volumes else None,
            "WorkingDir": c.working_dir,
            "Entrypoint": list(c.entrypoint) if c.entrypoint is not None else None,
            "OnBuild": _list_or_none(c.on_build),
            "Labels": dict(c.labels),
        }
    )
    if c.stop_signal:
        out["StopSignal"] = c.stop_signal
    if c.stop_timeout is not None:
        out["StopTimeout"] = c.stop_timeout
    return out


def _endpoint_json(e: EndpointView, running: bool) -> Json:
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": list(e.aliases) if e.aliases else None,
        "NetworkID": e.network_id,
        "EndpointID": e.endpoint_id if running else "",
        "Gateway": e.gateway if running else "",
        "IPAddress": e.ip if running else "",
        "IPPrefixLen": e.prefix_len if running else 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": e.mac if running else "",
        "DriverOpts": None,
    }


def _network_settings(d: ContainerDetails) -> Json:
    record = d.record
    running = record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)
    networks = {e.network: _endpoint_json(e, running) for e in d.endpoints}
    bridge = next((e for e in d.endpoints if e.network == "bridge"), None) if running else None
    return {
        "Bridge": "",
        "SandboxID": hashlib.sha256(f"sandbox:{record.id}".encode()).hexdigest() if d.sandbox_key else "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": _ports_map(record),
        "SandboxKey": d.sandbox_key if running else "",
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": bridge.endpoint_id if bridge else "",
        "Gateway": bridge.gateway if bridge else "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": bridge.ip if bridge else "",
        "IPPrefixLen": bridge.prefix_len if bridge else 0,
        "IPv6Gateway": "",
        "MacAddress": bridge.mac if bridge else "",
        "Networks": networks,
    }


def _state(record: ContainerRecord) -> Json:
    status = record.status
    active = status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING)
    return {
        "Status": str(status),
        "Running": active,
        "Paused": status is ContainerStatus.PAUSED,
        "Restarting": status is ContainerStatus.RESTARTING,
        "OOMKilled": record.oom_killed,
        "Dead": status is ContainerStatus.DEAD,
        "Pid": record.pid if status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED) else 0,
        "ExitCode": record.exit_code,
        "Error": record.error,
        "StartedAt": _time(record.started_at),
        "FinishedAt": _time(record.finished_at),
    }


def inspect_json(d: ContainerDetails) -> Json:
    record = d.record
    config = record.config
    directory = d.directory
    out: Json = {
        "Id": record.id,
        "Created": _time(record.created),
        "Path": config.path,
        "Args": list(config.args[1:]),
        "State": _state(record),
        "Image": record.image_id,
        "ResolvConfPath": str(directory / "resolv.conf"),
        "HostnamePath": str(directory / "hostname"),
        "HostsPath": str(directory / "hosts"),
        "LogPath": str(d.log_path),
        "Name": f"/{record.name}",
        "RestartCount": record.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(d.exec_ids) if d.exec_ids else None,
        "HostConfig": _host_config(d),
        "GraphDriver": {"Data": None, "Name": "overlay2"},
    }
    if d.snapshot_dir is not None:
        out["GraphDriver"]["Data"] = {
            "LowerDir": ":".join(d.lower_dirs),
            "MergedDir": str(d.snapshot_dir / "merged"),
            "UpperDir": str(d.snapshot_dir / "upper"),
            "WorkDir": str(d.snapshot_dir / "work"),
        }
    if d.size_rw is not None:
        out["SizeRw"] = d.size_rw
        out["SizeRootFs"] = d.size_root_fs
    out["Mounts"] = mounts_json(record, d.volumes_root)
    out["Config"] = _config(record)
    out["NetworkSettings"] = _network_settings(d)
    return out


def _summary_ports(record: ContainerRecord) -> list[Json]:
    if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return []
    out: list[Json] = []
    published = {(p.container_port, p.protocol) for p in record.ports}
    for p in record.ports:
        out.append({"IP": p.host_ip, "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.protocol})
    for key in record.config.exposed_ports:
        port, _, proto = key.partition("/")
        if port.isdigit() and (int(port), proto or "tcp") not in published:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    return out


def summary_json(s: ContainerSummary, now: float, endpoints: Sequence[EndpointView] = (),
                 volumes_root: Path | None = None) -> Json:  # fmt: skip
    """One entry of ``GET /containers/json``."""
    record = s.record
    running = record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)
    out: Json = {
        "Id": record.id,
        "Names": [f"/{record.name}"],
        "Image": s.image,
        "ImageID": record.image_id,
        "Command": s.command,
        "Created": int(record.created),
        "Ports": _summary_ports(record),
    }
    if s.size_rw is not None:
        out["SizeRw"] = s.size_rw
        out["SizeRootFs"] = s.size_root_fs
    networks = {e.network: _endpoint_json(e, running) for e in endpoints}
    if not endpoints:
        networks = {n: _endpoint_json(EndpointView(n, ""), False) for n in network_names(record)}
    out.update(
        {
            "Labels": dict(record.config.labels),
            "State": str(record.status),
            "Status": status_text(record, now),
            "HostConfig": {"NetworkMode": record.options.network_mode},
            "NetworkSettings": {"Networks": networks},
            "Mounts": mounts_json(record, volumes_root),
        }
    )
    return out


def published_lines(ports: Sequence[PublishedPort], private: str | None = None) -> list[str]:
    """``docker port`` lines: ``80/tcp -> 0.0.0.0:4000`` (or ``0.0.0.0:4000`` for one private port)."""
    want = None
    if private:
        port, _, proto = private.partition("/")
        want = (int(port), (proto or "tcp").lower())
    lines = []
    for p in sorted(ports, key=lambda p: (p.container_port, p.protocol, p.host_ip)):
        if want is not None and (p.container_port, p.protocol) != want:
            continue
        host = f"[{p.host_ip}]" if ":" in p.host_ip else p.host_ip
        lines.append(f"{host}:{p.host_port}" if want else f"{p.container_port}/{p.protocol} -> {host}:{p.host_port}")
    return lines


def sizes(svc: ContainerService, record: ContainerRecord) -> tuple[int, int]:
    """(SizeRw, SizeRootFs): bytes the container wrote, and that plus its image's."""
    from dockyard.engine.containers.files import tree_size

    rw = tree_size(svc.layout.layers / "active" / record.id / "upper")
    row = svc.store.db.query_one("SELECT size FROM images WHERE id = ?", (record.image_id,))
    return rw, rw + (int(row[0]) if row else 0)


def container_details(svc: ContainerService, record: ContainerRecord, *, size: bool = False) -> ContainerDetails:
    """The record plus what other services know about it: endpoints, network IDs, layers, paths, sizes."""
    from dockyard.runtime.spec import MASKED_PATHS, READONLY_PATHS

    endpoints = endpoint_views(svc, record)
    snapshot = svc.layout.layers / "active" / record.id
    lower: tuple[str, ...] = ()
    try:
        top = svc.engine.store.snapshots.get(record.id)
        if top is not None:
            lower = tuple(str(layer.path) for layer in svc.engine.store.layers.chain(top.parent))
    except DockyardError:
        pass
    security = record.options.security_opt
    unconfined = "systempaths=unconfined" in security
    rw = root = None
    if size:
        rw, root = svc.sizes(record)
    sandbox = svc.layout.run / "netns" / record.id
    return ContainerDetails(
        record=record,
        directory=svc.container_dir(record.id),
        log_path=svc.container_dir(record.id) / "ctr.log",
        endpoints=tuple(endpoints),
        lower_dirs=lower,
        snapshot_dir=snapshot if snapshot.exists() else None,
        volumes_root=svc.layout.volumes,
        exec_ids=tuple(svc.execs.exec_ids(record.id)),
        masked_paths=() if unconfined else MASKED_PATHS,
        readonly_paths=() if unconfined else READONLY_PATHS,
        size_rw=rw,
        size_root_fs=root,
        sandbox_key=str(sandbox) if record.status.active and sandbox.exists() else "",
    )
