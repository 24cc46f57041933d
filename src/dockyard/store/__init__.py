"""The local store: content-addressed blobs, unpacked layers, active snapshots and image records.

``Store.open(layout)`` creates what is missing, opens the database and applies the store's migrations. Names
are imported on first use (PEP 562), so ``from dockyard.store import Store`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.store.content import ContentWriter, LocalContentStore
    from dockyard.store.db import Database, open_database
    from dockyard.store.gc import GcReport
    from dockyard.store.images import ImageRecord, ImageStore
    from dockyard.store.layers import Layer, LayerStore
    from dockyard.store.leases import Lease, LeaseKind
    from dockyard.store.snapshots import ActiveSnapshot, OverlaySnapshotter
    from dockyard.store.store import Store
    from dockyard.store.unpack import UnpackResult, unpack_layer

_WHERE = {
    "ActiveSnapshot": "snapshots",
    "ContentWriter": "content",
    "Database": "db",
    "GcReport": "gc",
    "ImageRecord": "images",
    "ImageStore": "images",
    "Layer": "layers",
    "LayerStore": "layers",
    "Lease": "leases",
    "LeaseKind": "leases",
    "LocalContentStore": "content",
    "OverlaySnapshotter": "snapshots",
    "Store": "store",
    "UnpackResult": "unpack",
    "open_database": "db",
    "unpack_layer": "unpack",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(import_module(f"dockyard.store.{module}"), name)
