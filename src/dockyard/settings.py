"""Where dockyard keeps its state, and the few settings a user can change.

The state root is ``/var/lib/dockyard`` unless ``--root`` or ``DOCKYARD_ROOT`` says otherwise; tests always
use their own. Settings are read from ``<root>/config.json`` (falling back to ``/etc/dockyard/config.json``),
a JSON object with Docker's ``daemon.json`` key names where Docker has one::

    {"insecure-registries": ["myhost:5000"], "registry-mirrors": ["http://127.0.0.1:5001"],
     "runtime": "runc", "host-ca": false, "max-concurrent-downloads": 3, "max-concurrent-uploads": 5,
     "bip": "10.77.0.1/16", "bridge": "dockyard0", "default-address-pools": [...]}

Keys other than the typed ones are kept in ``Settings.extra`` for the component that reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dockyard import configfile

__all__ = ["DEFAULT_ROOT", "Layout", "Settings", "load_settings", "resolve_root"]

DEFAULT_ROOT = Path(configfile.DEFAULT_ROOT)
SYSTEM_CONFIG = Path(configfile.SYSTEM_CONFIG)


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The state root: the explicit argument, else ``$DOCKYARD_ROOT``, else ``/var/lib/dockyard``."""
    return Path(configfile.root_path(root))


@dataclass(frozen=True)
class Layout:
    """The directories under a state root. Creating them is the store's job, not this class's."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "dockyard.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def ingest(self) -> Path:
        return self.root / "ingest"

    @property
    def layers(self) -> Path:
        """Unpacked layers (overlay lower dirs), one directory per chain ID, with short links in ``l/``."""
        return self.root / "overlay"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def cache(self) -> Path:
        """Rebuildable things kept between runs (bootstrap rootfs tars, ...)."""
        return self.root / "cache"

    @property
    def run(self) -> Path:
        """Runtime state that does not survive a reboot in Docker either (pids, sockets)."""
        return self.root / "run"

    @property
    def locks(self) -> Path:
        return self.root / "locks"


@dataclass(frozen=True)
class Settings:
    """The settings of one state root, from its ``config.json`` (else ``/etc/dockyard/config.json``)."""

    root: Path = DEFAULT_ROOT
    runtime: str = "runc"
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    host_ca: bool = False
    debug: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def layout(self) -> Layout:
        return Layout(self.root)


def load_settings(root: str | os.PathLike[str] | None = None, *, debug: bool = False) -> Settings:
    """Settings for the given root, from its ``config.json`` (or the system one) when present."""
    resolved = resolve_root(root)
    data = configfile.read_config(str(resolved), str(SYSTEM_CONFIG))  # checked: the lists hold strings

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        return tuple(value) if isinstance(value, list) else ()

    runtime = data.get("runtime", "runc")
    return Settings(
        root=resolved,
        runtime=str(runtime),
        insecure_registries=strings("insecure-registries"),
        registry_mirrors=strings("registry-mirrors"),
        host_ca=bool(data.get("host-ca", False)),
        debug=debug,
        extra=data,
    )
