"""The OCI runtime spec (``config.json``) for a :class:`ContainerSpec`, with Docker's defaults (moby
``oci/defaults.go`` and ``daemon/oci_linux.go``). Pure: the host facts, the resolved user and the init binary
are passed in; ``bundle.py`` gathers them and writes the file.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence

from dockyard.errors import InvalidArgument
from dockyard.runtime.caps import tweak_capabilities
from dockyard.runtime.host import HostInfo
from dockyard.runtime.options import (
    ContainerSpec,
    MountType,
    NamespaceMode,
    Propagation,
    Resources,
    SeccompMode,
    Ulimit,
)
from dockyard.runtime.parse import merge_tmpfs_options
from dockyard.runtime.seccomp import default_profile, load_profile, to_oci_seccomp
from dockyard.runtime.users import ExecUser

__all__ = [
    "DEFAULT_PATH_ENV",
    "INIT_IN_CONTAINER",
    "MASKED_PATHS",
    "OCI_VERSION",
    "READONLY_PATHS",
    "build_spec",
    "linux_resources",
    "merge_env",
    "spec_json",
]

OCI_VERSION = "1.0.2-dev"  # the runtime-spec version runc 1.1 speaks
DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_IN_CONTAINER = "/sbin/docker-init"
STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal"

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_NOT_RO_WITH_READONLY_ROOT = frozenset({"/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"})
_MIN_MEMORY = 6 * 1024 * 1024

Json = dict[str, object]


def _default_mounts() -> list[Json]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"],
        },
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777"],
        },
    ]


def _device_rule(allow: bool, kind: str | None = None, major: int | None = None, minor: int | None = None) -> Json:
    rule: Json = {"allow": allow}
    if kind:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    rule["access"] = "rwm"
    return rule


def _default_device_rules() -> list[Json]:
    return [
        _device_rule(False),
        _device_rule(True, "c", 1, 5),
        _device_rule(True, "c", 1, 3),
        _device_rule(True, "c", 1, 9),
        _device_rule(True, "c", 1, 8),
        _device_rule(True, "c", 5, 0),
        _device_rule(True, "c", 5, 1),
        _device_rule(False, "c", 10, 229),
    ]


def merge_env(defaults: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """moby ``ReplaceOrAppendEnvValues``: ``K=V`` replaces or appends, a bare ``K`` removes."""
    env: list[str | None] = list(defaults)
    index = {e.partition("=")[0]: i for i, e in enumerate(defaults)}
    for value in overrides:
        key, sep, _ = value.partition("=")
        if not sep:
            if key in index:
                env[index[key]] = None
            continue
        if key in index:
            env[index[key]] = value
        else:
            env.append(value)
    return [e for e in env if e is not None]


def _depth(path: str) -> int:
    return len(posixpath.normpath(path).split("/"))


def _user_mounts(spec: ContainerSpec) -> list[Json]:
    """Volumes, binds, tmpfs and the /etc files, sorted by destination depth (moby ``sort.Sort(mounts(ms))``)."""
    entries: list[tuple[str, Json]] = []
    for m in spec.mounts:
        if not m.destination.startswith("/"):
            raise InvalidArgument(f"invalid mount path: '{m.destination}' mount path must be absolute")
        if m.type is MountType.TMPFS:
            options = merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", *m.tmpfs_options])
            entries.append(
                (m.destination, {"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": options})
            )
            continue
        if not m.source:
            raise InvalidArgument(f"mount {m.destination}: no source directory")
        options = ["rbind" if m.recursive else "bind"]
        if m.read_only:
            options.append("ro")
        options.append(str(m.propagation))
        entries.append(
            (m.destination, {"destination": m.destination, "type": "bind", "source": m.source, "options": options})
        )
    taken = {d for d, _ in entries}
    for destination, source in spec.etc_files:
        if destination in taken:
            continue  # the user's own mount wins
        options = ["rbind", "ro", "rprivate"] if spec.read_only else ["rbind", "rprivate"]
        entries.append(
            (destination, {"destination": destination, "type": "bind", "source": source, "options": options})
        )
    entries.sort(key=lambda e: _depth(e[0]))
    return [m for _, m in entries]


def _mounts(spec: ContainerSpec, init_path: str | None) -> tuple[list[Json], str | None]:
    user = _user_mounts(spec)
    user_destinations = {str(m["destination"]) for m in user}
    mount_dev = "/dev" in user_destinations
    defaults = _default_mounts()
    if init_path:
        defaults.append(
            {"destination": INIT_IN_CONTAINER, "type": "bind", "source": init_path, "options": ["bind", "ro"]}
        )
    mounts: list[Json] = []
    for m in defaults:
        destination = str(m["destination"])
        if destination in user_destinations or (mount_dev and destination.startswith("/dev/")):
            continue
        if destination == "/dev/shm":
            m["options"] = [*_options(m), f"size={spec.shm_size}"]
        mounts.append(m)
    rootfs_propagation = None
    for um in spec.mounts:
        if um.type is MountType.TMPFS:
            continue
        if um.propagation in (Propagation.SHARED, Propagation.RSHARED):
            rootfs_propagation = "shared"
        elif um.propagation in (Propagation.SLAVE, Propagation.RSLAVE) and rootfs_propagation is None:
            rootfs_propagation = "rslave"
    mounts += user
    if spec.read_only:
        for m in mounts:
            destination = str(m["destination"])
            if destination not in _NOT_RO_WITH_READONLY_ROOT and destination not in user_destinations:
                m["options"] = _options(m) if "ro" in _options(m) else [*_options(m), "ro"]
    if spec.security.privileged:
        for m in mounts:
            if m["destination"] == "/sys" or m["type"] == "cgroup":
                m["options"] = [o for o in _options(m) if o != "ro"]
    return mounts, rootfs_propagation


def _options(mount: Json) -> list[str]:
    options = mount.get("options")
    return [str(o) for o in options] if isinstance(options, list) else []


def _namespaces(spec: ContainerSpec) -> list[Json]:
    out: list[Json] = [{"type": "mount"}]
    for kind, ns in (("network", spec.network), ("uts", spec.uts), ("pid", spec.pid), ("ipc", spec.ipc)):
        if ns.mode is NamespaceMode.HOST:
            continue
        entry: Json = {"type": kind}
        if ns.mode is NamespaceMode.PATH:
            if not ns.path:
                raise InvalidArgument(f"{kind} namespace: no path to join")
            entry["path"] = ns.path
        out.append(entry)
    return out


def _rlimits(ulimits: Sequence[Ulimit], host: HostInfo) -> list[Json]:
    out: list[Json] = []
    unlimited = (1 << 64) - 1
    for u in ulimits:
        soft = unlimited if u.soft == -1 else u.soft
        hard = unlimited if u.hard == -1 else u.hard
        host_hard = host.hard_limit(u.name)
        if not host.can_raise_rlimits and host_hard != -1 and (hard > host_hard or soft > host_hard):
            shown = "unlimited" if hard == unlimited else str(hard)
            raise InvalidArgument(
                f"--ulimit {u.name}: {shown} is above this host's hard limit of {host_hard}",
                hint=f"dockyard lacks CAP_SYS_RESOURCE to raise it: use at most {u.name}={host_hard}",
            )
        out.append({"type": f"RLIMIT_{u.name.upper()}", "hard": hard, "soft": soft})
    return out


def linux_resources(r: Resources, host: HostInfo) -> Json:
    """The OCI ``linux.resources`` for ``r`` (also what ``runc update`` takes), Docker's checks included."""
    if r.memory is not None and 0 < r.memory < _MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if r.cpus is not None and (r.cpu_period or r.cpu_quota):
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if r.cpus is not None and not 0.01 <= r.cpus <= host.cpus:
        raise InvalidArgument(
            f"Range of CPUs is from 0.01 to {host.cpus}.00, as there are only {host.cpus} CPUs available"
        )
    memory: Json = {}
    if r.memory and r.memory > 0:
        memory["limit"] = r.memory
    if r.memory_reservation and r.memory_reservation > 0:
        memory["reservation"] = r.memory_reservation
    swap = r.memory_swap
    if swap is None and r.memory and r.memory > 0 and host.memory_swap:
        swap = r.memory * 2  # Docker: --memory without --memory-swap allows as much swap again
    if swap is not None and swap > 0:
        if r.memory and swap < r.memory:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
        memory["swap"] = swap
    if r.oom_kill_disable:
        memory["disableOOMKiller"] = True
    if r.cpu_shares is not None and r.cpu_shares < 0:
        raise InvalidArgument("shares: invalid argument")
    cpu: Json = {"shares": r.cpu_shares or 0}
    if r.cpus:
        period = 100_000
        cpu["quota"] = round(r.cpus * 1e9) * period // 1_000_000_000
        cpu["period"] = period
    if r.cpu_period:
        cpu["period"] = r.cpu_period
    if r.cpu_quota:
        cpu["quota"] = r.cpu_quota
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    out: Json = {"memory": memory, "cpu": cpu, "blockIO": {"weight": r.blkio_weight or 0}}
    if r.pids_limit is not None:
        out["pids"] = {"limit": r.pids_limit if r.pids_limit > 0 else -1}
    return out


def _seccomp(spec: ContainerSpec, caps: list[str], host: HostInfo) -> Json | None:
    sec = spec.security
    if sec.privileged or sec.seccomp is SeccompMode.UNCONFINED:
        return None
    if not host.seccomp:
        if sec.seccomp is SeccompMode.CUSTOM:
            raise InvalidArgument("seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
        return None
    profile = load_profile(sec.seccomp_profile) if sec.seccomp is SeccompMode.CUSTOM else default_profile()
    return to_oci_seccomp(profile, machine=host.machine, bounding=caps, kernel=host.kernel)


def build_spec(
    spec: ContainerSpec,
    host: HostInfo,
    user: ExecUser,
    *,
    init_path: str | None = None,
    host_devices: Sequence[Json] = (),
) -> Json:
    """The ``config.json`` object. ``init_path`` is the host binary for ``--init`` (needed when ``spec.init``),
    ``host_devices`` the host's devices for ``--privileged``."""
    if not spec.args:
        raise InvalidArgument("create container: no command specified")
    sec = spec.security
    init = spec.init and spec.pid.mode is NamespaceMode.PRIVATE
    if init and not init_path:
        raise InvalidArgument("--init: no init binary (docker-init, tini-static or catatonit) found on this host")
    env = [f"PATH={DEFAULT_PATH_ENV}", f"HOSTNAME={spec.hostname}"]
    if spec.tty:
        env.append("TERM=xterm")
    caps = tweak_capabilities(sec.cap_add, sec.cap_drop, privileged=sec.privileged, available=host.capabilities)
    process: Json = {"terminal": spec.tty}
    if spec.tty and spec.console_size:
        process["consoleSize"] = {"height": spec.console_size[0], "width": spec.console_size[1]}
    process["user"] = {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}
    process["args"] = [INIT_IN_CONTAINER, "--", *spec.args] if init else list(spec.args)
    process["env"] = merge_env(env, spec.env)
    process["cwd"] = spec.cwd or "/"
    process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    if spec.ulimits:
        process["rlimits"] = _rlimits(spec.ulimits, host)
    if sec.no_new_privileges:
        process["noNewPrivileges"] = True
    if spec.oom_score_adj is not None:
        process["oomScoreAdj"] = spec.oom_score_adj
    mounts, rootfs_propagation = _mounts(spec, init_path if init else None)
    resources = linux_resources(spec.resources, host)
    resources["devices"] = [_device_rule(True)] if sec.privileged else _default_device_rules()
    sysctl: dict[str, str] = {}
    if spec.network.mode is not NamespaceMode.HOST:
        if "net.ipv4.ping_group_range" in host.sysctls:
            sysctl["net.ipv4.ping_group_range"] = "0 2147483647"
        if "net.ipv4.ip_unprivileged_port_start" in host.sysctls:
            sysctl["net.ipv4.ip_unprivileged_port_start"] = "0"
    sysctl.update(dict(spec.sysctls))
    linux: Json = {
        "resources": resources,
        "cgroupsPath": posixpath.join(spec.cgroup_parent or "/", spec.id),
        "namespaces": _namespaces(spec),
        "devices": list(host_devices) if sec.privileged else [],
        "sysctl": sysctl,
    }
    seccomp = _seccomp(spec, caps, host)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    if not sec.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS if sec.masked_paths is None else sec.masked_paths)
        linux["readonlyPaths"] = list(READONLY_PATHS if sec.readonly_paths is None else sec.readonly_paths)
    if rootfs_propagation:
        linux["rootfsPropagation"] = rootfs_propagation
    out: Json = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": spec.rootfs, "readonly": spec.read_only},
    }
    if spec.uts.mode is not NamespaceMode.HOST:
        out["hostname"] = spec.hostname
        if spec.domainname:
            out["domainname"] = spec.domainname
    out["mounts"] = mounts
    annotations = dict(spec.annotations)
    if spec.stop_signal:
        annotations[STOP_SIGNAL_ANNOTATION] = spec.stop_signal
    if annotations:
        out["annotations"] = annotations
    out["linux"] = linux
    return out


def spec_json(spec: Json) -> bytes:
    return json.dumps(spec, separators=(",", ":")).encode()
