"""A container's bundle directory: ``config.json`` and the files the monitor and runc keep beside it.

The bundle is the container's own directory (``<root>/containers/<id>``). :func:`write_bundle` gathers what the
pure spec builder needs from the host and the root filesystem (user, init binary, devices) and writes
``config.json`` atomically. :class:`Bundle` names every file in the directory, so nobody spells a path twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.runtime.host import HostInfo, current_host, host_devices
from dockyard.runtime.options import ContainerSpec, MountType, Propagation
from dockyard.runtime.spec import build_spec, spec_json
from dockyard.runtime.users import resolve_user_in_rootfs

__all__ = ["INIT_CANDIDATES", "Bundle", "find_init", "write_bundle"]

# Docker's docker-init is tini built static; the static builds work in any root filesystem.
INIT_CANDIDATES = ("docker-init", "tini-static", "catatonit", "tini")


@dataclass(frozen=True)
class Bundle:
    """The files of one container's bundle directory."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def attach_socket(self) -> Path:
        return self.path / "attach"  # conmon --full-attach

    @property
    def ctl(self) -> Path:
        return self.path / "ctl"  # conmon's control FIFO (resize, reopen logs)

    @property
    def pidfile(self) -> Path:
        return self.path / "pidfile"

    @property
    def monitor_pidfile(self) -> Path:
        return self.path / "conmon.pid"

    @property
    def runtime_log(self) -> Path:
        return self.path / "oci-log"  # runc --log (JSON lines)

    @property
    def log(self) -> Path:
        return self.path / "ctr.log"  # the container's stdout/stderr (k8s-file)

    @property
    def exit_file(self) -> Path:
        return self.path / "exit"  # conmon --persist-dir

    @property
    def oom_file(self) -> Path:
        return self.path / "oom"

    def exec_dir(self, exec_id: str) -> Path:
        return self.path / "exec" / exec_id

    def load_config(self) -> dict[str, object]:
        try:
            loaded = json.loads(self.config.read_bytes())
        except FileNotFoundError:
            raise InvalidArgument(f"bundle {self.path}: no config.json") from None
        if not isinstance(loaded, dict):
            raise InvalidArgument(f"bundle {self.path}: config.json is not an object")
        return loaded


def find_init(explicit: str | None = None) -> str | None:
    """The host binary for ``--init``: the explicit path, else the first of :data:`INIT_CANDIDATES` on PATH."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    from dockyard.runtime.runc import which

    for name in INIT_CANDIDATES:
        found = which(name)
        if found:
            return found
    return None


def _mount_of(path: str) -> tuple[str, str]:
    """(mount point, optional fields) of the mount holding ``path`` (moby ``getSourceMount``)."""
    real = os.path.realpath(path)
    best, optional = "/", ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                dash = fields.index("-")
                best, optional = point, " ".join(fields[6:dash])
    return best, optional


def _check_propagation(spec: ContainerSpec) -> None:
    for m in spec.mounts:
        if m.type is MountType.TMPFS:
            continue
        if m.propagation in (Propagation.SHARED, Propagation.RSHARED):
            point, optional = _mount_of(m.source)
            if "shared:" not in optional:
                raise InvalidArgument(f"path {m.source} is mounted on {point} but it is not a shared mount")
        elif m.propagation in (Propagation.SLAVE, Propagation.RSLAVE):
            point, optional = _mount_of(m.source)
            if "shared:" not in optional and "master:" not in optional:
                raise InvalidArgument(f"path {m.source} is mounted on {point} but it is not a shared or slave mount")


def write_bundle(directory: Path, spec: ContainerSpec, host: HostInfo | None = None) -> Bundle:
    """Build ``config.json`` for ``spec`` (resolving its user against the rootfs) and write it into ``directory``."""
    host = host or current_host()
    user = resolve_user_in_rootfs(spec.rootfs, spec.user, spec.group_add)
    init_path = find_init(spec.init_path) if spec.init else None
    devices = host_devices() if spec.security.privileged else []
    _check_propagation(spec)
    config = build_spec(spec, host, user, init_path=init_path, host_devices=devices)
    bundle = Bundle(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / ".config.json.tmp"
    tmp.write_bytes(spec_json(config))
    os.replace(tmp, bundle.config)
    return bundle
