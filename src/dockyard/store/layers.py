"""Unpacked layers: one overlay lower directory per chain ID, shared by every image that has that chain.

Layout (like Docker's overlay2, with short links to keep overlay mount options under a page)::

    overlay/<chain hex>/diff      the layer's files (overlay whiteouts, not OCI ones)
    overlay/l/<link>              -> ../<chain hex>/diff, link = the chain ID's first 20 hex digits
    overlay/tmp-<pid>-<rand>/     an unpack in progress (removed at start-up if its process died)

A layer becomes visible only after its directory is complete and renamed into place; its row is inserted
after the rename, under a lease, so a concurrent garbage collection never takes it away half-made.
"""

from __future__ import annotations

import contextlib
import errno
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import CorruptContent, NotFound
from dockyard.oci.digest import Digest
from dockyard.store.db import Database
from dockyard.store.fsutil import disk_error, fsync_dir, syncfs
from dockyard.store.leases import Lease, LeaseKind

if TYPE_CHECKING:
    from dockyard.store.unpack import UnpackResult  # not at run time: unpack brings tarfile, which run never needs

__all__ = ["Layer", "LayerStore", "chain_of"]


def _rmtree(path: Path, ignore_errors: bool = False) -> None:
    """``shutil.rmtree``, imported when a tree is removed: ~3 ms at import (bz2, lzma), for every ``run``."""
    import shutil

    shutil.rmtree(path, ignore_errors=ignore_errors)


LINK_LEN = 20


def chain_of(parent: Digest | None, diff_id: Digest) -> Digest:
    """ChainID(parent|diff): the diff ID itself for a base layer."""
    if parent is None:
        return diff_id
    import hashlib  # here, not at the top: most commands never compute a chain ID (see oci/digest.py)

    return Digest("sha256", hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest())


@dataclass(frozen=True)
class Layer:
    """One unpacked layer: its chain ID, parent, diff ID, short link name, size and directory."""

    chain_id: Digest
    parent: Digest | None
    diff_id: Digest
    link: str
    size: int
    path: Path  # the diff directory


class LayerStore:
    def __init__(self, root: Path, db: Database) -> None:
        self.root = root
        self.db = db
        (root / "l").mkdir(parents=True, exist_ok=True)
        self.empty = root / "empty"
        self.empty.mkdir(exist_ok=True)

    def _row(self, row: object) -> Layer:
        r = row  # sqlite3.Row
        chain = Digest.parse(r["chain_id"])  # type: ignore[index]
        parent = r["parent"]  # type: ignore[index]
        return Layer(
            chain_id=chain,
            parent=Digest.parse(parent) if parent else None,
            diff_id=Digest.parse(r["diff_id"]),  # type: ignore[index]
            link=r["link"],  # type: ignore[index]
            size=int(r["size"]),  # type: ignore[index]
            path=self.root / chain.hex / "diff",
        )

    def get(self, chain_id: Digest) -> Layer | None:
        row = self.db.query_one("SELECT * FROM layers WHERE chain_id = ?", (str(chain_id),))
        return self._row(row) if row else None

    def chain(self, top: Digest | None) -> list[Layer]:
        """The layers from ``top`` down to the base (top first)."""
        out: list[Layer] = []
        current = top
        while current is not None:
            layer = self.get(current)
            if layer is None:
                raise NotFound(f"layer {current}: not found")
            out.append(layer)
            current = layer.parent
        return out

    def lowerdirs(self, top: Digest | None) -> list[str]:
        """Overlay ``lowerdir`` entries relative to :attr:`root` (top first); ``["empty"]`` for none."""
        chain = self.chain(top)
        return [f"l/{layer.link}" for layer in chain] or ["empty"]

    def ensure(
        self,
        parent: Digest | None,
        lease: Lease,
        fill: Callable[[Path], UnpackResult],
        expected_diff_id: Digest | None = None,
    ) -> Layer:
        """The layer ``parent + diff``, unpacked by ``fill(diff_dir)`` unless it is already there.

        With ``expected_diff_id`` an existing layer is found without unpacking anything; without it, the
        chain ID is known only once ``fill`` has computed the diff ID.
        """
        if expected_diff_id is not None:
            chain_id = chain_of(parent, expected_diff_id)
            lease.add(LeaseKind.LAYER, str(chain_id))
            existing = self.get(chain_id)
            if existing is not None and existing.path.is_dir():
                return existing
        tmp = self.root / f"tmp-{os.getpid()}-{os.urandom(4).hex()}"
        diff = tmp / "diff"
        try:
            diff.mkdir(parents=True)
            result = fill(diff)
            if expected_diff_id is not None and result.diff_id != expected_diff_id:
                raise CorruptContent(f"layer: diff ID mismatch: expected {expected_diff_id}, got {result.diff_id}")
            chain_id = chain_of(parent, result.diff_id)
            lease.add(LeaseKind.LAYER, str(chain_id))
            return self._publish(tmp, chain_id, parent, result.diff_id, result.size)
        except OSError as exc:
            raise disk_error(exc, "unpack layer") from exc
        finally:
            if tmp.exists():
                _rmtree(tmp, ignore_errors=True)

    def register(
        self, chain_id: Digest, parent: Digest | None, diff_id: Digest, size: int, diff_dir: Path, lease: Lease
    ) -> Layer:
        """Adopt an already-complete diff directory (a committed container or build step) as a layer.

        ``diff_dir`` is moved (renamed) into the store; it must be on the same filesystem.
        """
        lease.add(LeaseKind.LAYER, str(chain_id))
        existing = self.get(chain_id)
        if existing is not None and existing.path.is_dir():
            _rmtree(diff_dir, ignore_errors=True)
            return existing
        tmp = self.root / f"tmp-{os.getpid()}-{os.urandom(4).hex()}"
        tmp.mkdir()
        try:
            os.rename(diff_dir, tmp / "diff")
            return self._publish(tmp, chain_id, parent, diff_id, size)
        finally:
            if tmp.exists():
                _rmtree(tmp, ignore_errors=True)

    def _publish(self, tmp: Path, chain_id: Digest, parent: Digest | None, diff_id: Digest, size: int) -> Layer:
        link = chain_id.hex[:LINK_LEN]
        final = self.root / chain_id.hex
        (tmp / "link").write_text(link)
        syncfs(tmp)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            # Another process published the same layer first: theirs is equivalent.
        link_path = self.root / "l" / link
        if not link_path.is_symlink():
            tmp_link = self.root / "l" / f".{link}.{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                tmp_link.unlink()
            os.symlink(f"../{chain_id.hex}/diff", tmp_link)
            os.replace(tmp_link, link_path)
        fsync_dir(self.root)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO layers(chain_id, parent, diff_id, link, size, created) VALUES (?,?,?,?,?,?)",
                (str(chain_id), str(parent) if parent else None, str(diff_id), link, size, time.time()),
            )
        layer = self.get(chain_id)
        assert layer is not None
        return layer

    def remove_files(self, chain_id: Digest, link: str) -> None:
        """Remove a layer's directory and link (after its row is gone). Used by garbage collection."""
        with contextlib.suppress(FileNotFoundError):
            (self.root / "l" / link).unlink()
        final = self.root / chain_id.hex
        if final.exists():
            trash = self.root / f"trash-{os.getpid()}-{os.urandom(4).hex()}"
            os.rename(final, trash)
            _rmtree(trash, ignore_errors=True)

    def clean_leftovers(self, alive: Callable[[int], bool]) -> None:
        """Remove unpacks and trash of dead processes."""
        for entry in self.root.iterdir():
            name = entry.name
            if name.startswith(("tmp-", "trash-")):
                pid = name.split("-")[1]
                if pid.isdigit() and not alive(int(pid)):
                    _rmtree(entry, ignore_errors=True)
