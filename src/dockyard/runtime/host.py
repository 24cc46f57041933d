"""What the spec builder needs to know about the host, read once per process and passed in (so the builder is pure).

Everything here is cheap: a few small /proc reads, no subprocesses.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = ["HostInfo", "current_host", "host_devices"]

CAP_SYS_RESOURCE = 24

# Linux RLIMIT_* numbers (asm-generic/resource.h) by Docker's ulimit names
RLIMIT_NUMBERS: dict[str, int] = {
    "cpu": 0,
    "fsize": 1,
    "data": 2,
    "stack": 3,
    "core": 4,
    "rss": 5,
    "nproc": 6,
    "nofile": 7,
    "memlock": 8,
    "locks": 10,
    "sigpending": 11,
    "msgqueue": 12,
    "nice": 13,
    "rtprio": 14,
    "rttime": 15,
}


@dataclass(frozen=True)
class HostInfo:
    """What the host offers containers: architecture, kernel, CPUs, capabilities, limits, sysctls, seccomp."""

    machine: str = "x86_64"  # uname -m
    kernel: tuple[int, int] = (6, 0)
    cpus: int = 1
    capabilities: frozenset[int] = frozenset(range(41))  # the capabilities this process can hand out
    hard_limits: dict[str, int] = field(default_factory=dict, compare=False, hash=False)  # name -> hard, -1 = inf
    memory_swap: bool = True  # memory.memsw.* exists (swap accounting)
    sysctls: frozenset[str] = frozenset({"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
    seccomp: bool = True
    can_raise_rlimits: bool = False  # CAP_SYS_RESOURCE is effective: hard limits may go above the host's

    def hard_limit(self, name: str) -> int:
        return self.hard_limits.get(name, -1)


def _status_caps(field_name: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << 41) - 1


def _kernel() -> tuple[int, int]:
    release = os.uname().release
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def _hard_limits() -> dict[str, int]:
    out = {}
    for name, number in RLIMIT_NUMBERS.items():
        hard = resource.getrlimit(number)[1]
        out[name] = -1 if hard == resource.RLIM_INFINITY else hard
    return out


@cache
def current_host() -> HostInfo:
    """The host this process runs on (cached for the life of the process)."""
    # Docker (oci/caps, containerd cap.Current) hands out what the daemon holds: the effective set
    available = _status_caps("CapEff:") & _status_caps("CapBnd:")
    sysctls = frozenset(
        name
        for name in ("net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start")
        if Path("/proc/sys", name.replace(".", "/")).exists()
    )
    try:
        seccomp = "Seccomp:" in Path("/proc/self/status").read_text()
    except OSError:
        seccomp = False
    return HostInfo(
        machine=os.uname().machine,
        kernel=_kernel(),
        cpus=os.cpu_count() or 1,
        capabilities=frozenset(i for i in range(64) if available >> i & 1),
        hard_limits=_hard_limits(),
        memory_swap=Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists(),
        sysctls=sysctls,
        seccomp=seccomp,
        can_raise_rlimits=bool(_status_caps("CapEff:") >> CAP_SYS_RESOURCE & 1),
    )


_SKIP_DEV_DIRS = frozenset({"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"})


def host_devices(root: str = "/dev") -> list[dict[str, object]]:
    """The host's device nodes as OCI ``linux.devices`` entries (containerd ``HostDevices``), for --privileged."""
    import stat

    out: list[dict[str, object]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DEV_DIRS]
        for name in filenames:
            if name == "console":
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode):
                kind = "c"
            elif stat.S_ISBLK(st.st_mode):
                kind = "b"
            else:
                continue
            out.append(
                {
                    "path": path,
                    "type": kind,
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                }
            )
    return out
