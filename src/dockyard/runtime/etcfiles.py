"""The container's ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf``: files in the container's directory,
bind-mounted over the image's, as Docker does. Their contents come from the caller (the network package renders
hosts and resolv.conf); this module writes them and says where they go.
"""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.runtime.options import EtcFiles

__all__ = ["host_resolv_conf_path", "update_etc_files", "write_etc_files"]

_SYSTEMD_RESOLVED_STUB = "127.0.0.53"
_SYSTEMD_RESOLVED_UPSTREAM = Path("/run/systemd/resolve/resolv.conf")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_etc_files(directory: Path, files: EtcFiles) -> tuple[tuple[str, str], ...]:
    """Write the given files into ``directory``; return ``(destination, host path)`` pairs for the spec."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, str]] = []
    for name, text in (("hostname", files.hostname), ("hosts", files.hosts), ("resolv.conf", files.resolv_conf)):
        if text is None:
            continue
        if name == "hostname" and not text.endswith("\n"):
            text += "\n"
        path = directory / name
        _write(path, text)
        out.append((f"/etc/{name}", str(path)))
    return tuple(out)


def update_etc_files(directory: Path, files: EtcFiles) -> None:
    """Rewrite the given files in place (same inode): a container created already has them bind-mounted, and
    sees the new contents — as Docker updates ``/etc/hosts`` of a running container."""
    for name, text in (("hostname", files.hostname), ("hosts", files.hosts), ("resolv.conf", files.resolv_conf)):
        if text is None:
            continue
        if name == "hostname" and not text.endswith("\n"):
            text += "\n"
        with open(directory / name, "r+") as f:
            f.write(text)
            f.truncate()


def host_resolv_conf_path(etc: Path = Path("/etc/resolv.conf")) -> Path:
    """libnetwork ``resolvconf.Path()``: the host's resolv.conf, or systemd-resolved's upstream list when the host
    file names only the local stub resolver (127.0.0.53, unreachable from a container's network namespace)."""
    try:
        text = etc.read_text()
    except OSError:
        return etc
    servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver") and len(line.split()) > 1]
    if servers == [_SYSTEMD_RESOLVED_STUB] and _SYSTEMD_RESOLVED_UPSTREAM.exists():
        return _SYSTEMD_RESOLVED_UPSTREAM
    return etc
