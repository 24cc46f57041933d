"""The local store: content-addressed blobs, unpacked layers, active snapshots and image records.

``Store.open(layout)`` creates what is missing, opens the database and applies the store's migrations.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.settings import Layout
from dockyard.store.content import ContentWriter, LocalContentStore
from dockyard.store.db import Database, open_database
from dockyard.store.gc import GcReport, collect
from dockyard.store.images import ImageRecord, ImageStore
from dockyard.store.layers import Layer, LayerStore
from dockyard.store.leases import Lease, LeaseKind, pid_alive
from dockyard.store.schema import MIGRATIONS
from dockyard.store.snapshots import ActiveSnapshot, OverlaySnapshotter
from dockyard.store.unpack import UnpackResult, unpack_layer

__all__ = [
    "ActiveSnapshot",
    "ContentWriter",
    "Database",
    "GcReport",
    "ImageRecord",
    "ImageStore",
    "Layer",
    "LayerStore",
    "Lease",
    "LeaseKind",
    "LocalContentStore",
    "OverlaySnapshotter",
    "Store",
    "UnpackResult",
    "open_database",
    "unpack_layer",
]


@dataclass
class Store:
    layout: Layout
    db: Database
    content: LocalContentStore
    layers: LayerStore
    snapshots: OverlaySnapshotter
    images: ImageStore

    @classmethod
    def open(cls, layout: Layout) -> Store:
        layout.root.mkdir(parents=True, exist_ok=True)
        db = open_database(layout.db)
        db.ensure_schema("store", MIGRATIONS)
        content = LocalContentStore(layout.blobs, layout.ingest)
        layers = LayerStore(layout.layers, db)
        return cls(
            layout=layout,
            db=db,
            content=content,
            layers=layers,
            snapshots=OverlaySnapshotter(layers, db),
            images=ImageStore(db, content),
        )

    def lease(self) -> Lease:
        return Lease(self.db)

    def gc(self) -> GcReport:
        return collect(self.db, self.content, self.layers)

    def recover(self) -> GcReport:
        """Clean up after killed processes: their ingests, unpacks, leases and what only those held."""
        self.content.clean_ingest()
        self.layers.clean_leftovers(pid_alive)
        stale = self.db.query("SELECT id, pid FROM leases")
        if any(not pid_alive(int(r["pid"])) for r in stale):
            return self.gc()
        return GcReport(0, 0, 0)
