"""Active (read-write) snapshots: an overlay upper/work pair on top of a committed layer chain.

Containers and build steps each get one, keyed by a name of the caller's choosing (the container ID)::

    overlay/active/<key>/upper    what the container changed (overlay whiteouts, opaque xattrs)
    overlay/active/<key>/work     overlayfs' work directory
    overlay/active/<key>/merged   where :meth:`mount` mounts the root filesystem

The row in ``snapshots`` keeps the parent chain from garbage collection while the snapshot exists.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import AlreadyExists, NotFound
from dockyard.oci.digest import Digest
from dockyard.store.db import Database
from dockyard.store.layers import LayerStore
from dockyard.store.mounts import mount, mounts_under, umount

__all__ = ["ActiveSnapshot", "OverlaySnapshotter"]


@dataclass(frozen=True)
class ActiveSnapshot:
    """A container's writable snapshot on top of its image's layers."""

    key: str
    parent: Digest | None
    kind: str
    path: Path

    @property
    def upper(self) -> Path:
        return self.path / "upper"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def merged(self) -> Path:
        return self.path / "merged"


class OverlaySnapshotter:
    def __init__(self, layers: LayerStore, db: Database) -> None:
        self.layers = layers
        self.db = db
        self.active_root = layers.root / "active"
        self.active_root.mkdir(parents=True, exist_ok=True)

    def _snapshot(self, key: str, parent: str | None, kind: str) -> ActiveSnapshot:
        return ActiveSnapshot(key, Digest.parse(parent) if parent else None, kind, self.active_root / key)

    def get(self, key: str) -> ActiveSnapshot | None:
        row = self.db.query_one("SELECT key, parent, kind FROM snapshots WHERE key = ?", (key,))
        return self._snapshot(row["key"], row["parent"], row["kind"]) if row else None

    def list(self) -> list[ActiveSnapshot]:
        rows = self.db.query("SELECT key, parent, kind FROM snapshots ORDER BY created")
        return [self._snapshot(r["key"], r["parent"], r["kind"]) for r in rows]

    def prepare(self, key: str, parent: Digest | None, kind: str = "container") -> ActiveSnapshot:
        if "/" in key or key.startswith("."):
            raise ValueError(f"invalid snapshot key {key!r}")
        snap = ActiveSnapshot(key, parent, kind, self.active_root / key)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM snapshots WHERE key = ?", (key,)).fetchone():
                raise AlreadyExists(f"snapshot {key}: already exists")
            if (
                parent is not None
                and not conn.execute("SELECT 1 FROM layers WHERE chain_id = ?", (str(parent),)).fetchone()
            ):
                raise NotFound(f"snapshot {key}: parent layer {parent} not found")
            conn.execute(
                "INSERT INTO snapshots(key, parent, kind, created) VALUES (?, ?, ?, ?)",
                (key, str(parent) if parent else None, kind, time.time()),
            )
        if snap.path.exists():
            self._remove_dir(snap)
        for d in (snap.upper, snap.work, snap.merged):
            d.mkdir(parents=True)
        return snap

    def mount_options(self, snap: ActiveSnapshot) -> str:
        """Overlay options with paths relative to the layer root (mount with ``cwd=layers.root``)."""
        lowers = ":".join(self.layers.lowerdirs(snap.parent))
        rel = snap.path.relative_to(self.layers.root)
        return f"lowerdir={lowers},upperdir={rel}/upper,workdir={rel}/work"

    def mount(self, key: str, target: Path | None = None) -> Path:
        snap = self.get(key)
        if snap is None:
            raise NotFound(f"snapshot {key}: not found")
        where = target or snap.merged
        if str(where) in mounts_under(where):
            return where
        mount("overlay", where, "overlay", 0, self.mount_options(snap), cwd=self.layers.root)
        return where

    def unmount(self, key: str) -> None:
        for mp in mounts_under(self.active_root / key):
            umount(mp)

    def remove(self, key: str) -> None:
        """Unmount and delete the snapshot (idempotent)."""
        snap = self.get(key) or ActiveSnapshot(key, None, "", self.active_root / key)
        self.unmount(key)
        self._remove_dir(snap)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM snapshots WHERE key = ?", (key,))

    def _remove_dir(self, snap: ActiveSnapshot) -> None:
        if not snap.path.exists():
            return
        import shutil  # here: ~2 ms at import (bz2, lzma), and only removing needs it

        trash = self.active_root / f".trash-{snap.key}-{os.getpid()}"
        with contextlib.suppress(OSError):
            os.rename(snap.path, trash)
            shutil.rmtree(trash, ignore_errors=True)
        if snap.path.exists():
            shutil.rmtree(snap.path, ignore_errors=True)
