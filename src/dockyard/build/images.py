"""The image a build stage is at, and committing a step as a new (intermediate) image, as the classic builder does.

Every step ends as an image whose parent is the previous step's: ``images -a`` lists them, ``history`` names them,
and the cache points at them. A metadata step adds a history entry with ``empty_layer``; a filesystem step adds a
layer. Images are written with :func:`dockyard.store.commit.write_image`, under the build's lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dockyard.errors import CorruptContent, NotFound
from dockyard.oci.descriptor import host_platform
from dockyard.oci.digest import Digest
from dockyard.oci.image import History, ImageConfig, parse_image_config
from dockyard.oci.manifest import Manifest
from dockyard.store.images import ImageRecord
from dockyard.store.leases import Lease, LeaseKind
from dockyard.timeutil import rfc3339_nano

if TYPE_CHECKING:
    from dockyard.store import Store
    from dockyard.store.commit import LayerBlob

__all__ = ["ImageState", "commit_step", "image_by_id", "layer_blobs", "load_image", "scratch_image"]


@dataclass
class ImageState:
    """An image as the build uses it: its ID ("" for scratch), typed config, record, and (lazily) its layers."""

    image_id: str
    config: ImageConfig
    record: ImageRecord | None = None
    layers: list[LayerBlob] | None = field(default=None, repr=False)

    @property
    def top_layer(self) -> Digest | None:
        if self.layers:
            return self.layers[-1].layer.chain_id
        return self.record.top_layer if self.record is not None else None

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]


def scratch_image(platform: str = "") -> ImageState:
    host = host_platform()
    os_name, arch = host.os, host.architecture
    if platform:
        parts = platform.split("/")
        os_name = parts[0] or os_name
        arch = parts[1] if len(parts) > 1 and parts[1] else arch
    return ImageState("", ImageConfig(architecture=arch, os=os_name), None, [])


def load_image(store: Store, record: ImageRecord) -> ImageState:
    config = parse_image_config(store.content.read(record.id))
    return ImageState(str(record.id), config, record)


def layer_blobs(store: Store, image: ImageState) -> list[LayerBlob]:
    """The image's layers as blobs + unpacked layers (what a child image's manifest and record need)."""
    if image.layers is not None:
        return image.layers
    from dockyard.store.commit import LayerBlob

    assert image.record is not None
    manifest = Manifest.parse(store.content.read(image.record.manifest_digest))
    chain = list(reversed(store.layers.chain(image.record.top_layer)))
    diff_ids = image.config.diff_ids
    if not (len(chain) == len(diff_ids) == len(manifest.layers)):
        raise CorruptContent(f"image {image.short_id}: its manifest, config and layers disagree")
    blobs = [LayerBlob(desc, diff, layer) for desc, diff, layer in zip(manifest.layers, diff_ids, chain, strict=True)]
    image.layers = blobs
    return blobs


def commit_step(
    store: Store,
    lease: Lease,
    parent: ImageState,
    config: ImageConfig,
    created_by: str,
    *,
    layer: LayerBlob | None = None,
    comment: str = "",
) -> ImageState:
    """Write the image ``parent`` + this step: ``config`` (already changed by the step) with one more history
    entry, and ``layer`` if the step changed the filesystem."""
    from dockyard.store.commit import write_image

    now = rfc3339_nano()
    layers: Sequence[LayerBlob] = layer_blobs(store, parent) if parent.record is not None or parent.layers else []
    layers = [*layers, layer] if layer is not None else list(layers)
    history = History(created=now, created_by=created_by, comment=comment, empty_layer=layer is None)
    new_config = replace(
        config,
        created=now,
        history=(*config.history, history),
        diff_ids=tuple(lb.diff_id for lb in layers),
    )
    data = new_config.to_json()
    parent_id = Digest.parse(parent.image_id) if parent.image_id else None
    if parent.top_layer is not None:
        lease.add(LeaseKind.LAYER, str(parent.top_layer))
    record, _ = write_image(store, lease, data, layers, parent=parent_id)
    return ImageState(str(record.id), new_config, record, list(layers))


def image_by_id(store: Store, image_id: str) -> ImageState | None:
    """A cached step's image, or None if it has been removed since."""
    try:
        record = store.images.get(Digest.parse(image_id))
    except Exception:
        return None
    if record is None:
        return None
    try:
        return load_image(store, record)
    except NotFound:
        return None
