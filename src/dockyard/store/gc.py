"""Garbage collection by reachability (mark and sweep), in one transaction.

Roots: image records (their blobs and top layers), active snapshots (their parent layers) and the
resources of live leases. Everything a root reaches through layer parents is kept; every other layer
row and blob file is deleted. Leases of dead processes are dropped first, which is how the leftovers of
a killed pull or import disappear.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dockyard.oci.digest import Digest
from dockyard.pids import pid_alive
from dockyard.store.content import LocalContentStore
from dockyard.store.db import Database
from dockyard.store.layers import LayerStore
from dockyard.store.leases import LeaseKind

__all__ = ["GcReport", "collect"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcReport:
    layers_removed: int
    blobs_removed: int
    bytes_freed: int


def collect(db: Database, content: LocalContentStore, layers: LayerStore) -> GcReport:
    doomed_layers: list[tuple[Digest, str]] = []
    blobs_removed = 0
    freed = 0
    with db.transaction() as conn:
        for lease in conn.execute("SELECT id, pid FROM leases").fetchall():
            if not pid_alive(int(lease["pid"])):
                conn.execute("DELETE FROM leases WHERE id = ?", (lease["id"],))
        leased: dict[str, set[str]] = {}
        for r in conn.execute("SELECT kind, key FROM lease_resources").fetchall():
            leased.setdefault(r["kind"], set()).add(r["key"])

        parents = {r["chain_id"]: r["parent"] for r in conn.execute("SELECT chain_id, parent FROM layers")}
        links = {r["chain_id"]: r["link"] for r in conn.execute("SELECT chain_id, link FROM layers")}
        roots = {r[0] for r in conn.execute("SELECT top_layer FROM images WHERE top_layer IS NOT NULL")}
        roots |= {r[0] for r in conn.execute("SELECT parent FROM snapshots WHERE parent IS NOT NULL")}
        roots |= leased.get(LeaseKind.LAYER, set())
        live: set[str] = set()
        for root in roots:
            current: str | None = root
            while current is not None and current not in live:
                live.add(current)
                current = parents.get(current)
        dead = [c for c in parents if c not in live]
        # children before parents (the parent foreign key forbids the other order)
        depth: dict[str, int] = {}

        def level(c: str) -> int:
            if c not in depth:
                p = parents.get(c)
                depth[c] = 0 if p is None else level(p) + 1
            return depth[c]

        for chain in sorted(dead, key=level, reverse=True):
            conn.execute("DELETE FROM layers WHERE chain_id = ?", (chain,))
            doomed_layers.append((Digest.parse(chain), links[chain]))

        keep = {r[0] for r in conn.execute("SELECT DISTINCT digest FROM image_blobs")}
        keep |= leased.get(LeaseKind.BLOB, set())
        for digest in list(content.walk()):
            if str(digest) not in keep:
                try:
                    freed += content.size(digest)
                except Exception:
                    pass
                content.delete(digest)
                blobs_removed += 1
    for chain_id, link in doomed_layers:
        layer_dir = layers.root / chain_id.hex / "diff"
        freed += _tree_size(layer_dir)
        layers.remove_files(chain_id, link)
    if doomed_layers or blobs_removed:
        log.debug("gc: removed %d layers, %d blobs", len(doomed_layers), blobs_removed)
    return GcReport(len(doomed_layers), blobs_removed, freed)


def _tree_size(path: object) -> int:
    import os

    total = 0
    for dirpath, _dirs, files in os.walk(str(path)):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total
