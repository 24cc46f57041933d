"""``system df``: what images, containers, volumes and the build cache take on disk (``GET /system/df``).

Images count their layers: ``layers_size`` is every unpacked layer once, an image's ``shared_size`` the part of
its layers another image uses too. Containers count what they wrote (their upper directory), volumes what their
data directory holds, as moby's ``directory.Size`` counts it. The build cache is kept in images and layers (the
classic builder's way: a cached step is an image), so it has no entries of its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.containers.listing import ContainerSummary
    from dockyard.engine.volumes.types import Volume
    from dockyard.store.images import ImageRecord

__all__ = ["DiskUsage", "ImageUsage", "VolumeUsage", "disk_usage"]


@dataclass(frozen=True)
class ImageUsage:
    record: ImageRecord
    labels: dict[str, str]
    size: int
    shared_size: int  # bytes of its layers that another image uses too
    containers: int  # containers created from it, in any state


@dataclass(frozen=True)
class VolumeUsage:
    volume: Volume
    size: int
    ref_count: int  # containers using it


@dataclass(frozen=True)
class DiskUsage:
    layers_size: int
    images: tuple[ImageUsage, ...]
    containers: tuple[ContainerSummary, ...]  # with their sizes
    volumes: tuple[VolumeUsage, ...]


def disk_usage(engine: Engine) -> DiskUsage:
    store = engine.store
    records = engine.images.list(all=True)
    chains = {r.id: store.layers.chain(r.top_layer) for r in records}
    sizes = {layer.chain_id: layer.size for chain in chains.values() for layer in chain}
    users = Counter(layer.chain_id for chain in chains.values() for layer in chain)
    images = tuple(
        ImageUsage(
            record=r,
            labels=dict(engine.images.load(r).config.config.labels),
            size=r.size,
            shared_size=sum(layer.size for layer in chains[r.id] if users[layer.chain_id] > 1),
            containers=len(engine.images.users(r.id)),
        )
        for r in records
    )
    containers = tuple(engine.containers.list(all=True, size=True))
    from dockyard.engine.volumes.populate import dir_size

    volumes = tuple(
        VolumeUsage(v, dir_size(v.mountpoint) if v.mountpoint.is_dir() else 0, len(engine.volumes.users(v.name)))
        for v in engine.volumes.list()
    )
    return DiskUsage(sum(sizes.values()), images, containers, volumes)
