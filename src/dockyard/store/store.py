"""The ``Store`` facade: one state root's database, blobs, layers, snapshots and image records.

Components are created on first use, so a command that only lists images never imports the unpacker,
the snapshotter or the garbage collector.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from dockyard.settings import Layout
from dockyard.store.db import Database, open_database
from dockyard.store.schema import MIGRATIONS

if TYPE_CHECKING:
    from dockyard.store.content import LocalContentStore
    from dockyard.store.gc import GcReport
    from dockyard.store.images import ImageStore
    from dockyard.store.layers import LayerStore
    from dockyard.store.leases import Lease
    from dockyard.store.snapshots import OverlaySnapshotter

__all__ = ["Store"]


class Store:
    def __init__(self, layout: Layout, db: Database) -> None:
        self.layout = layout
        self.db = db

    @classmethod
    def open(cls, layout: Layout, db: Database | None = None) -> Store:
        """The store of ``layout``, on ``db`` if given (a connection to ``layout.db`` others share) or its own."""
        layout.root.mkdir(parents=True, exist_ok=True)
        if db is None:
            db = open_database(layout.db)
        db.ensure_schema("store", MIGRATIONS)
        return cls(layout, db)

    @cached_property
    def content(self) -> LocalContentStore:
        from dockyard.store.content import LocalContentStore

        return LocalContentStore(self.layout.blobs, self.layout.ingest)

    @cached_property
    def layers(self) -> LayerStore:
        from dockyard.store.layers import LayerStore

        return LayerStore(self.layout.layers, self.db)

    @cached_property
    def snapshots(self) -> OverlaySnapshotter:
        from dockyard.store.snapshots import OverlaySnapshotter

        return OverlaySnapshotter(self.layers, self.db)

    @cached_property
    def images(self) -> ImageStore:
        from dockyard.store.images import ImageStore

        return ImageStore(self.db, self.content)

    def lease(self) -> Lease:
        from dockyard.store.leases import Lease

        return Lease(self.db)

    def gc(self) -> GcReport:
        from dockyard.store.gc import collect

        return collect(self.db, self.content, self.layers)

    def recover(self) -> GcReport | None:
        """Clean up after killed processes: their ingests, unpacks, leases and what only those held.

        Cheap when there is nothing to do (two directory scans and one query), so every command can call it.
        """
        from dockyard.pids import pid_alive

        def dead(name: str, sep: str) -> bool:
            pid = name.split(sep)[1] if name.count(sep) >= 1 else ""
            return pid.isdigit() and not pid_alive(int(pid))

        work = False
        if self.layout.ingest.is_dir():
            work = any(
                e.name.partition("-")[0].isdigit() and not pid_alive(int(e.name.partition("-")[0]))
                for e in os.scandir(self.layout.ingest)
            )
        if not work and self.layout.layers.is_dir():
            work = any(
                e.name.startswith(("tmp-", "trash-")) and dead(e.name, "-") for e in os.scandir(self.layout.layers)
            )
        stale = [r for r in self.db.query("SELECT pid FROM leases") if not pid_alive(int(r["pid"]))]
        if not work and not stale:
            return None
        self.content.clean_ingest()
        self.layers.clean_leftovers(pid_alive)
        return self.gc() if stale else None
