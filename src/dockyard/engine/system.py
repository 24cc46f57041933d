"""SystemService: what ``info``, ``version`` and ``system check`` report about the engine and the host."""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import __version__
from dockyard.oci.descriptor import host_platform

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.diskusage import DiskUsage

__all__ = ["API_VERSION", "MIN_API_VERSION", "Check", "ContainerCounts", "SystemInfo", "SystemService", "VersionInfo"]

API_VERSION = "1.41"
MIN_API_VERSION = "1.12"


@dataclass(frozen=True)
class ContainerCounts:
    total: int = 0
    running: int = 0
    paused: int = 0
    stopped: int = 0


@dataclass(frozen=True)
class SystemInfo:
    id: str
    containers: ContainerCounts
    images: int
    driver: str
    backing_filesystem: str
    cgroup_driver: str
    cgroup_version: str
    kernel_version: str
    operating_system: str
    os_version: str
    architecture: str
    ncpu: int
    mem_total: int
    name: str
    root_dir: str
    server_version: str
    default_runtime: str
    runtimes: tuple[str, ...]
    runc_version: str
    init_binary: str
    insecure_registries: tuple[str, ...]
    registry_mirrors: tuple[str, ...]
    security_options: tuple[str, ...]
    debug: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    api_version: str
    min_api_version: str
    os: str
    arch: str
    kernel_version: str
    python_version: str
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""


def _os_release() -> tuple[str, str]:
    try:
        data = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    except OSError:
        return "Linux", ""
    return data.get("PRETTY_NAME", "Linux").strip('"'), data.get("VERSION_ID", "").strip('"')


def cgroup_version() -> str:
    return "2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "1"


def _mem_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _backing_fs(path: Path) -> str:
    best, fstype = "", "unknown"
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                mp = parts[1]
                if (str(path) == mp or str(path).startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
                    best, fstype = mp, parts[2]
    except OSError:
        pass
    return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(fstype, fstype)


class SystemService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _counts(self) -> ContainerCounts:
        try:
            return self.engine.containers.counts()
        except (ImportError, AttributeError):
            return ContainerCounts()

    def info(self) -> SystemInfo:
        settings = self.engine.settings
        images = len(self.engine.images.list(all=True))
        os_name, os_version = _os_release()
        runc = shutil.which(settings.runtime) or settings.runtime
        runc_version = _first_line([runc, "--version"]).split(" ")[-1]
        return SystemInfo(
            id=_engine_id(settings.root),
            containers=self._counts(),
            images=images,
            driver="overlay2",
            backing_filesystem=_backing_fs(settings.root),
            cgroup_driver="cgroupfs",
            cgroup_version=cgroup_version(),
            kernel_version=platform.release(),
            operating_system=os_name,
            os_version=os_version,
            architecture=platform.machine(),
            ncpu=os.cpu_count() or 1,
            mem_total=_mem_total(),
            name=socket.gethostname(),
            root_dir=str(settings.root),
            server_version=__version__,
            default_runtime=settings.runtime,
            runtimes=(settings.runtime,),
            runc_version=runc_version,
            init_binary="tini" if shutil.which("tini") else ("catatonit" if shutil.which("catatonit") else ""),
            insecure_registries=("127.0.0.0/8", *settings.insecure_registries),
            registry_mirrors=settings.registry_mirrors,
            security_options=("name=seccomp,profile=default", "name=no-new-privileges"),
            debug=settings.debug,
        )

    def disk_usage(self) -> DiskUsage:
        """``system df``: images, containers, volumes and what each takes (``engine/diskusage.py``)."""
        from dockyard.engine.diskusage import disk_usage

        return disk_usage(self.engine)

    def version(self) -> VersionInfo:
        plat = host_platform()
        runc = shutil.which(self.engine.settings.runtime) or self.engine.settings.runtime
        runc_line = _first_line([runc, "--version"])
        conmon_line = _first_line(["conmon", "--version"])
        components = [
            Component(
                "Engine",
                __version__,
                {
                    "ApiVersion": API_VERSION,
                    "MinAPIVersion": MIN_API_VERSION,
                    "Os": plat.os,
                    "Arch": plat.architecture,
                    "KernelVersion": platform.release(),
                    "PythonVersion": platform.python_version(),
                },
            ),
        ]
        if runc_line:
            components.append(Component("runc", runc_line.split(" ")[-1], {"GitCommit": ""}))
        if conmon_line:
            components.append(Component("conmon", conmon_line.split(" ")[-1], {"GitCommit": ""}))
        return VersionInfo(
            __version__,
            API_VERSION,
            MIN_API_VERSION,
            plat.os,
            plat.architecture,
            platform.release(),
            platform.python_version(),
            tuple(components),
        )

    def check(self) -> list[Check]:
        """A pre-flight list of what the host has and lacks, each missing piece with the command that fixes it."""
        checks: list[Check] = []

        def tool(name: str, cmd: list[str], package: str, required: bool = True, why: str = "") -> None:
            path = shutil.which(cmd[0]) or (cmd[0] if os.path.exists(cmd[0]) else None)
            if path is None:
                checks.append(
                    Check(
                        name, False, f"not found{': ' + why if why else ''}", f"apt-get install -y {package}", required
                    )
                )
                return
            version = _first_line([path, *cmd[1:]]) if len(cmd) > 1 else ""
            checks.append(Check(name, True, f"{version or 'present'} ({path})", required=required))

        settings = self.engine.settings
        tool("runc", [settings.runtime, "--version"], "runc", why="the OCI runtime that starts containers")
        tool("conmon", ["conmon", "--version"], "conmon", why="the per-container monitor")
        tool("nftables", ["nft", "--version"], "nftables", why="NAT and published ports")
        tool("ip", ["ip", "-V"], "iproute2", required=False)
        tool(
            "aardvark-dns",
            ["/usr/lib/podman/aardvark-dns", "--version"],
            "aardvark-dns",
            required=False,
            why="container names on user-defined networks",
        )
        tool(
            "mmdebstrap",
            ["mmdebstrap", "--version"],
            "mmdebstrap",
            required=False,
            why="bootstrapping debian:* base images",
        )
        tool(
            "busybox-static", ["/bin/busybox"], "busybox-static", required=False, why="bootstrapping the busybox image"
        )
        tool("tini", ["tini", "--version"], "tini", required=False, why="run --init")

        filesystems = Path("/proc/filesystems").read_text() if Path("/proc/filesystems").exists() else ""
        has_overlay = re.search(r"\boverlay\b", filesystems) is not None
        if not has_overlay:
            has_overlay = subprocess.run(["modprobe", "overlay"], capture_output=True).returncode == 0
        checks.append(
            Check(
                "overlayfs",
                has_overlay,
                "supported by the kernel" if has_overlay else "not available",
                "modprobe overlay",
            )
        )
        version = cgroup_version()
        if version == "1":
            needed = ["memory", "cpu", "pids", "freezer", "devices"]
            missing = [c for c in needed if not Path(f"/sys/fs/cgroup/{c}").is_dir()]
            checks.append(
                Check(
                    "cgroups",
                    not missing,
                    "v1 (hybrid)" if not missing else f"v1, missing controllers: {', '.join(missing)}",
                    "mount the missing cgroup v1 controllers under /sys/fs/cgroup",
                )
            )
        else:
            controllers = Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
            checks.append(Check("cgroups", True, f"v2 ({' '.join(controllers)})"))
        forward = Path("/proc/sys/net/ipv4/ip_forward")
        fwd_on = forward.exists() and forward.read_text().strip() == "1"
        checks.append(
            Check(
                "ip forwarding",
                fwd_on,
                "enabled" if fwd_on else "disabled (dockyard enables it when a container needs the network)",
                "sysctl -w net.ipv4.ip_forward=1",
                required=False,
            )
        )
        root_ok = os.geteuid() == 0
        checks.append(
            Check(
                "root",
                root_ok,
                "running as root" if root_ok else "not root: containers need root",
                "run dockyard as root (sudo)",
            )
        )
        return checks


def _engine_id(root: Path) -> str:
    """A stable ID for this state root, in Docker's ``XXXX:XXXX:...`` shape."""
    import base64
    import hashlib

    raw = base64.b32encode(hashlib.sha256(str(root).encode()).digest()).decode()[:48]
    return ":".join(raw[i : i + 4] for i in range(0, 48, 4))
