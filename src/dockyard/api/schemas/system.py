"""``/info`` and ``/version`` in the Docker Engine API's shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.engine.system import SystemInfo, VersionInfo
from dockyard.timeutil import rfc3339_nano

if TYPE_CHECKING:
    from pathlib import Path

    from dockyard.engine.diskusage import DiskUsage

__all__ = ["disk_usage_json", "info_json", "version_json"]


def info_json(info: SystemInfo) -> dict[str, Any]:
    return {
        "ID": info.id,
        "Containers": info.containers.total,
        "ContainersRunning": info.containers.running,
        "ContainersPaused": info.containers.paused,
        "ContainersStopped": info.containers.stopped,
        "Images": info.images,
        "Driver": info.driver,
        "DriverStatus": [
            ["Backing Filesystem", info.backing_filesystem],
            ["Supports d_type", "true"],
            ["Native Overlay Diff", "true"],
            ["userxattr", "false"],
        ],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "null"],
            "Authorization": None,
            "Log": ["json-file"],  # as containers report it (engine/containers/views.py)
        },
        "MemoryLimit": True,
        "SwapLimit": True,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "Debug": info.debug,
        "SystemTime": rfc3339_nano(),
        "LoggingDriver": "json-file",
        "CgroupDriver": info.cgroup_driver,
        "CgroupVersion": info.cgroup_version,
        "KernelVersion": info.kernel_version,
        "OperatingSystem": info.operating_system,
        "OSVersion": info.os_version,
        "OSType": "linux",
        "Architecture": info.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "InsecureRegistryCIDRs": [r for r in info.insecure_registries if "/" in r],
            "IndexConfigs": {
                "docker.io": {
                    "Name": "docker.io",
                    "Mirrors": list(info.registry_mirrors),
                    "Secure": True,
                    "Official": True,
                },
                **{
                    r: {"Name": r, "Mirrors": [], "Secure": False, "Official": False}
                    for r in info.insecure_registries
                    if "/" not in r
                },
            },
            "Mirrors": list(info.registry_mirrors),
        },
        "NCPU": info.ncpu,
        "MemTotal": info.mem_total,
        "DockerRootDir": info.root_dir,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": info.name,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": info.server_version,
        "Runtimes": {r: {"path": r} for r in info.runtimes},
        "DefaultRuntime": info.default_runtime,
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": True,
        "Isolation": "",
        "InitBinary": info.init_binary,
        "RuncCommit": {"ID": info.runc_version, "Expected": info.runc_version},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": list(info.security_options),
        "Warnings": list(info.warnings) or None,
    }


def version_json(v: VersionInfo) -> dict[str, Any]:
    return {
        "Platform": {"Name": "dockyard"},
        "Components": [{"Name": c.name, "Version": c.version, "Details": dict(c.details)} for c in v.components],
        "Version": v.version,
        "ApiVersion": v.api_version,
        "MinAPIVersion": v.min_api_version,
        "GitCommit": "",
        "GoVersion": f"python{v.python_version}",
        "Os": v.os,
        "Arch": v.arch,
        "KernelVersion": v.kernel_version,
        "BuildTime": "",
    }


def disk_usage_json(usage: DiskUsage, volumes_root: Path | None = None) -> dict[str, Any]:
    """``GET /system/df`` (API 1.41): every image, container and volume with what it takes; no build cache
    entries (the build cache is images and layers here)."""
    import time

    from dockyard.api.schemas.containers import container_summary
    from dockyard.api.schemas.images import image_summary
    from dockyard.engine.volumes.types import volume_json

    now = time.time()
    images = []
    for i in usage.images:
        summary = image_summary(i.record, i.labels, i.containers)
        summary["SharedSize"] = i.shared_size
        images.append(summary)
    volumes = [{**volume_json(v.volume), "UsageData": {"Size": v.size, "RefCount": v.ref_count}} for v in usage.volumes]
    return {
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": [container_summary(c, now, volumes_root=volumes_root) for c in usage.containers],
        "Volumes": volumes,
        "BuildCache": [],
    }
