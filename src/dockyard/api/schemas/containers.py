"""Docker Engine API JSON for containers (API 1.41): the create and exec bodies in, and inspect, list, wait,
exec inspect, top, changes and the archive stat header out.

The inspect and list shapes are built by the container service itself (``engine.containers.views``: the CLI's
``inspect`` asks the service for them and may not import this package); they are re-exported here so the API
server has one place to look. Everything else is here.
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers.views import inspect_json, summary_json
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers import (
        ArchiveStat,
        Change,
        CreateOptions,
        ExecCreateOptions,
        ExecInfo,
        MountRequest,
        RestartPolicy,
        UlimitSpec,
        UpdateOptions,
    )
    from dockyard.runtime import TopResult

__all__ = [
    "archive_stat_header",
    "changes_json",
    "container_inspect",
    "container_summary",
    "create_options",
    "exec_create_options",
    "exec_inspect_json",
    "top_json",
    "update_options",
    "wait_json",
]

Json = dict[str, Any]

container_inspect = inspect_json
container_summary = summary_json


def _strs(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidArgument(
        f"json: cannot unmarshal {type(value).__name__} into Go struct field {field} of type []string"
    )


def _opt_strs(value: Any, field: str) -> tuple[str, ...] | None:
    return None if value is None else _strs(value, field)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"json: cannot unmarshal {type(value).__name__} into an integer")
    return int(value)


def _publish(bindings: Mapping[str, Any]) -> tuple[str, ...]:
    """``PortBindings`` back into ``-p`` specs (``[ip:]hostPort:containerPort/proto``)."""
    out = []
    for key, entries in bindings.items():
        port, _, proto = key.partition("/")
        for entry in entries or [{}]:
            entry = _dict(entry)
            host_ip, host_port = str(entry.get("HostIp") or ""), str(entry.get("HostPort") or "")
            spec = f"{port}/{proto or 'tcp'}"
            if host_ip:
                host_ip = f"[{host_ip}]" if ":" in host_ip else host_ip
                spec = f"{host_ip}:{host_port}:{spec}"
            elif host_port:
                spec = f"{host_port}:{spec}"
            out.append(spec)
    return tuple(out)


def _mount(data: Mapping[str, Any]) -> MountRequest:
    from dockyard.engine.containers import MountRequest, MountRequestType

    try:
        kind = MountRequestType(str(data.get("Type") or "volume"))
    except ValueError:
        raise InvalidArgument(f"mount type unknown: {data.get('Type')!r}") from None
    target = str(data.get("Target") or "")
    if not target:
        raise InvalidArgument("invalid mount config: Target must not be empty")
    tmpfs = _dict(data.get("TmpfsOptions"))
    return MountRequest(
        type=kind,
        target=target,
        source=str(data.get("Source") or ""),
        read_only=bool(data.get("ReadOnly")),
        propagation=str(_dict(data.get("BindOptions")).get("Propagation") or ""),
        no_copy=bool(_dict(data.get("VolumeOptions")).get("NoCopy")),
        tmpfs_size=_int(tmpfs.get("SizeBytes")),
        tmpfs_mode=_int(tmpfs.get("Mode")),
    )


def _ulimits(values: Any) -> tuple[UlimitSpec, ...]:
    from dockyard.engine.containers import UlimitSpec

    out = []
    for u in values or ():
        u = _dict(u)
        out.append(UlimitSpec(str(u.get("Name") or ""), _int(u.get("Soft")), _int(u.get("Hard"))))
    return tuple(out)


def create_options(body: Mapping[str, Any], name: str = "") -> CreateOptions:
    """``POST /containers/create?name=`` body -> the service's options (``Config`` at the top level, plus
    ``HostConfig`` and ``NetworkingConfig``)."""
    from dockyard.engine.containers import CreateOptions

    image = body.get("Image")
    if not isinstance(image, str) or not image:
        raise InvalidArgument("Config cannot be empty in order to create a container")
    host = _dict(body.get("HostConfig"))
    policy = _restart_policy(_dict(host.get("RestartPolicy")))
    endpoints = _dict(_dict(body.get("NetworkingConfig")).get("EndpointsConfig"))
    mode = str(host.get("NetworkMode") or "default")
    primary = _dict(endpoints.get(mode) or endpoints.get("default") or next(iter(endpoints.values()), {}))
    ipam = _dict(primary.get("IPAMConfig"))
    console = host.get("ConsoleSize") or [0, 0]
    pids_limit = host.get("PidsLimit")
    return CreateOptions(
        image=image,
        name=name,
        hostname=str(body.get("Hostname") or ""),
        domainname=str(body.get("Domainname") or ""),
        user=str(body.get("User") or ""),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        tty=bool(body.get("Tty")),
        open_stdin=bool(body.get("OpenStdin")),
        stdin_once=bool(body.get("StdinOnce")),
        env=_strs(body.get("Env"), "Env"),
        cmd=_opt_strs(body.get("Cmd"), "Cmd") or None,
        entrypoint=_opt_strs(body.get("Entrypoint"), "Entrypoint"),
        working_dir=str(body.get("WorkingDir") or ""),
        labels={str(k): str(v) for k, v in _dict(body.get("Labels")).items()},
        exposed_ports=tuple(_dict(body.get("ExposedPorts"))),
        volumes=tuple(_dict(body.get("Volumes"))),
        stop_signal=str(body.get("StopSignal") or ""),
        stop_timeout=None if body.get("StopTimeout") is None else _int(body.get("StopTimeout")),
        binds=_strs(host.get("Binds"), "Binds"),
        mounts=tuple(_mount(_dict(m)) for m in host.get("Mounts") or ()),
        tmpfs={str(k): str(v) for k, v in _dict(host.get("Tmpfs")).items()},
        network_mode=mode,
        publish=_publish(_dict(host.get("PortBindings"))),
        publish_all=bool(host.get("PublishAllPorts")),
        restart_policy=policy,
        auto_remove=bool(host.get("AutoRemove")),
        cap_add=_strs(host.get("CapAdd"), "CapAdd"),
        cap_drop=_strs(host.get("CapDrop"), "CapDrop"),
        dns=_strs(host.get("Dns"), "Dns"),
        dns_options=_strs(host.get("DnsOptions"), "DnsOptions"),
        dns_search=_strs(host.get("DnsSearch"), "DnsSearch"),
        extra_hosts=_strs(host.get("ExtraHosts"), "ExtraHosts"),
        group_add=_strs(host.get("GroupAdd"), "GroupAdd"),
        privileged=bool(host.get("Privileged")),
        read_only=bool(host.get("ReadonlyRootfs")),
        security_opt=_strs(host.get("SecurityOpt"), "SecurityOpt"),
        ipc_mode=str(host.get("IpcMode") or ""),
        pid_mode=str(host.get("PidMode") or ""),
        uts_mode=str(host.get("UTSMode") or ""),
        shm_size=_int(host.get("ShmSize")),
        sysctls={str(k): str(v) for k, v in _dict(host.get("Sysctls")).items()},
        init=bool(host.get("Init")),
        oom_score_adj=_int(host.get("OomScoreAdj")),
        memory=_int(host.get("Memory")),
        memory_swap=_int(host.get("MemorySwap")),
        memory_reservation=_int(host.get("MemoryReservation")),
        nano_cpus=_int(host.get("NanoCpus")),
        cpu_shares=_int(host.get("CpuShares")),
        cpu_period=_int(host.get("CpuPeriod")),
        cpu_quota=_int(host.get("CpuQuota")),
        cpuset_cpus=str(host.get("CpusetCpus") or ""),
        cpuset_mems=str(host.get("CpusetMems") or ""),
        pids_limit=None if pids_limit in (None, 0) else _int(pids_limit),
        blkio_weight=_int(host.get("BlkioWeight")),
        oom_kill_disable=bool(host.get("OomKillDisable")),
        ulimits=_ulimits(host.get("Ulimits")),
        console_size=(_int(console[0]), _int(console[1]))
        if isinstance(console, list) and len(console) == 2
        else (0, 0),
        runtime=str(host.get("Runtime") or ""),
        network_aliases=_strs(primary.get("Aliases"), "Aliases"),
        ip=str(ipam.get("IPv4Address") or ""),
        mac_address=str(primary.get("MacAddress") or body.get("MacAddress") or ""),
    )


def wait_json(status_code: int, error: str | None = None) -> Json:
    """``POST /containers/{id}/wait`` body: ``{"Error": null, "StatusCode": 0}``."""
    return {"Error": {"Message": error} if error else None, "StatusCode": status_code}


def exec_create_options(body: Mapping[str, Any]) -> ExecCreateOptions:
    """``POST /containers/{id}/exec`` body -> the service's exec options."""
    from dockyard.engine.containers import ExecCreateOptions

    cmd = _strs(body.get("Cmd"), "Cmd")
    if not cmd:
        raise InvalidArgument("No exec command specified")
    console = body.get("ConsoleSize") or [0, 0]
    return ExecCreateOptions(
        cmd=cmd,
        env=_strs(body.get("Env"), "Env"),
        working_dir=str(body.get("WorkingDir") or ""),
        user=str(body.get("User") or ""),
        tty=bool(body.get("Tty")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        privileged=bool(body.get("Privileged")),
        detach_keys=str(body.get("DetachKeys") or ""),
        console_size=(_int(console[0]), _int(console[1]))
        if isinstance(console, list) and len(console) == 2
        else (0, 0),
    )


def exec_inspect_json(info: ExecInfo) -> Json:
    """``GET /exec/{id}/json``."""
    o = info.options
    return {
        "CanRemove": False,
        "ContainerID": info.container_id,
        "DetachKeys": o.detach_keys,
        "ExitCode": info.exit_code,
        "ID": info.id,
        "OpenStderr": info.open_stderr,
        "OpenStdin": info.open_stdin,
        "OpenStdout": info.open_stdout,
        "ProcessConfig": {
            "arguments": list(o.cmd[1:]),
            "entrypoint": o.cmd[0],
            "privileged": o.privileged,
            "tty": o.tty,
            "user": o.user,
        },
        "Running": info.running,
        "Pid": info.pid,
    }


def top_json(result: TopResult) -> Json:
    return {"Titles": list(result.titles), "Processes": [list(p) for p in result.processes]}


def changes_json(changes: Sequence[Change]) -> list[Json]:
    """``GET /containers/{id}/changes``: ``[{"Path": "/tmp", "Kind": 0}]`` (0 modified, 1 added, 2 deleted)."""
    return [{"Path": c.path, "Kind": int(c.kind)} for c in changes]


# Go's os.FileMode bits, as Docker encodes a path's mode in the stat header
_GO_DIR, _GO_SYMLINK, _GO_DEVICE, _GO_PIPE, _GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
_GO_SETUID, _GO_SETGID, _GO_CHAR, _GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_file_mode(mode: int) -> int:
    out = mode & 0o777
    if stat.S_ISDIR(mode):
        out |= _GO_DIR
    elif stat.S_ISLNK(mode):
        out |= _GO_SYMLINK
    elif stat.S_ISBLK(mode):
        out |= _GO_DEVICE
    elif stat.S_ISCHR(mode):
        out |= _GO_DEVICE | _GO_CHAR
    elif stat.S_ISFIFO(mode):
        out |= _GO_PIPE
    elif stat.S_ISSOCK(mode):
        out |= _GO_SOCKET
    if mode & stat.S_ISUID:
        out |= _GO_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


def archive_stat_header(info: ArchiveStat) -> str:
    """``X-Docker-Container-Path-Stat``: base64 of ``{"name","size","mode","mtime","linkTarget"}``."""
    import time

    mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(info.mtime))
    frac = f"{info.mtime % 1:.9f}"[1:].rstrip("0").rstrip(".")
    payload = {
        "name": info.name,
        "size": info.size,
        "mode": go_file_mode(info.mode),
        "mtime": f"{mtime}{frac}Z",
        "linkTarget": info.link_target,
    }
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _restart_policy(restart: Mapping[str, Any]) -> RestartPolicy:
    """A ``RestartPolicy`` object of a body (no name: ``no``)."""
    from dockyard.engine.containers import RestartPolicy, RestartPolicyName

    name = str(restart.get("Name") or "no")
    try:
        return RestartPolicy(RestartPolicyName(name), _int(restart.get("MaximumRetryCount")))
    except ValueError:
        raise InvalidArgument(f"invalid restart policy '{name}'") from None


def update_options(body: Mapping[str, Any]) -> UpdateOptions:
    """``POST /containers/{id}/update``: the resources and restart policy a body sets (absent or null: kept)."""
    from dockyard.engine.containers import UpdateOptions

    def number(key: str) -> int | None:
        value = body.get(key)
        return None if value is None else _int(value)

    def text(key: str) -> str | None:
        value = body.get(key)
        return None if value in (None, "") else str(value)

    restart = body.get("RestartPolicy")
    policy = _restart_policy(restart) if isinstance(restart, Mapping) and restart.get("Name") is not None else None
    return UpdateOptions(
        memory=number("Memory") or None,
        memory_swap=number("MemorySwap") or None,
        memory_reservation=number("MemoryReservation") or None,
        nano_cpus=number("NanoCpus") or None,
        cpu_shares=number("CpuShares") or None,
        cpu_period=number("CpuPeriod") or None,
        cpu_quota=number("CpuQuota") or None,
        cpuset_cpus=text("CpusetCpus"),
        cpuset_mems=text("CpusetMems"),
        pids_limit=number("PidsLimit"),
        blkio_weight=number("BlkioWeight") or None,
        restart_policy=policy,
    )
