"""Putting whole images into the store: layer tars -> blobs + unpacked layers, config + manifest -> record.

Every way an image arrives (load, import, bootstrap, build, commit, pull) ends here, so they all share the
same guarantees: blobs verified, layers unpacked once per chain ID, the image record written last in one
transaction, everything protected by the caller's lease until then.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dockyard.errors import CorruptContent
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import parse_image_config
from dockyard.oci.manifest import Manifest
from dockyard.oci.mediatypes import MediaType, layer_compression
from dockyard.oci.reference import Reference
from dockyard.store.content import ContentWriter
from dockyard.store.fsutil import disk_error
from dockyard.store.images import ImageRecord
from dockyard.store.layers import Layer, chain_of
from dockyard.store.leases import Lease, LeaseKind
from dockyard.store.unpack import detect_compression, unpack_layer

if TYPE_CHECKING:
    from dockyard.store import Store

__all__ = [
    "LayerBlob",
    "discard_unpack_dir",
    "find_layer",
    "ingest_layer_blob",
    "ingest_layer_stream",
    "new_unpack_dir",
    "publish_layer",
    "write_image",
]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerBlob:
    """A layer as both a stored blob (for push/save) and an unpacked directory (for run)."""

    descriptor: Descriptor
    diff_id: Digest
    layer: Layer


def ingest_layer_blob(
    store: Store,
    lease: Lease,
    desc: Descriptor,
    parent: Digest | None,
    expected_diff_id: Digest | None,
    *,
    allow_devices: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> LayerBlob:
    """Unpack an already-stored layer blob (verifying its diff ID when known) on top of ``parent``."""
    lease.add(LeaseKind.BLOB, str(desc.digest))
    if expected_diff_id is not None:
        found = find_layer(store, lease, desc, parent, expected_diff_id)
        if found is not None:
            return found
    target = new_unpack_dir(store)
    try:
        with store.content.open(desc.digest) as f:
            result = unpack_layer(
                f, target, allow_devices=allow_devices, expected_diff_id=expected_diff_id, on_progress=on_progress
            )
        lease.add(LeaseKind.LAYER, str(chain_of(parent, result.diff_id)))
        return publish_layer(store, lease, desc, parent, result.diff_id, result.size, target)
    except OSError as exc:
        raise disk_error(exc, "unpack layer") from exc
    finally:
        discard_unpack_dir(target)


def find_layer(
    store: Store, lease: Lease, desc: Descriptor, parent: Digest | None, diff_id: Digest
) -> LayerBlob | None:
    """The layer ``parent`` + ``diff_id`` if it is unpacked already (leased first, so GC cannot take it meanwhile)."""
    chain_id = chain_of(parent, diff_id)
    lease.add(LeaseKind.LAYER, str(chain_id))
    layer = store.layers.get(chain_id)
    if layer is None or not layer.path.is_dir():
        return None
    return LayerBlob(desc, diff_id, layer)


def new_unpack_dir(store: Store) -> Path:
    """An empty directory on the layers' filesystem for a caller that unpacks a layer itself (while downloading).

    Publish it with :func:`publish_layer`, or drop it with :func:`discard_unpack_dir`; if the process dies first,
    start-up removes it (it lives in a ``tmp-<pid>-*`` directory of the layer store).

    The directory is placed the way ext4 places top-level directories (see :func:`_spread`): in a block group of
    its own rather than next to its parent — where the layers that were just removed (an ``rmi`` before a
    ``pull``) left thousands of freed inodes that ext4 without a journal will not reuse for minutes, and steps
    over one by one for every file it creates (a 4,000-file layer: 3.4 s of system time instead of 0.15 s).
    """
    tmp = store.layers.root / f"tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    _spread(tmp)
    diff = tmp / f"diff-{secrets.token_hex(8)}"  # a name of its own: it seeds the group ext4 looks at first
    diff.mkdir()
    return diff


_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_TOPDIR_FL = 0x00020000


def _spread(directory: Path) -> None:
    """Mark ``directory`` as a top of hierarchy (``chattr +T``): ext4's Orlov allocator then puts each directory
    made in it in the least used block group (a random one among equals), and their contents follow. A hint only:
    ignored where the filesystem does not have it."""
    import fcntl
    import struct

    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, b"\0" * 4))[0]
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i", flags | _FS_TOPDIR_FL))
    except OSError:
        pass
    finally:
        os.close(fd)


def discard_unpack_dir(diff_dir: Path) -> None:
    """Remove a directory made by :func:`new_unpack_dir` (and its ``tmp-`` parent)."""
    shutil.rmtree(diff_dir.parent, ignore_errors=True)


def publish_layer(
    store: Store, lease: Lease, desc: Descriptor, parent: Digest | None, diff_id: Digest, size: int, diff_dir: Path
) -> LayerBlob:
    """Publish a layer the caller unpacked into ``diff_dir`` (from :func:`new_unpack_dir`) and verified.

    ``parent`` must be published already. If another process published the same chain first, its layer is used.
    """
    try:
        layer = store.layers.register(chain_of(parent, diff_id), parent, diff_id, size, diff_dir, lease)
    finally:
        discard_unpack_dir(diff_dir)
    return LayerBlob(desc, diff_id, layer)


def ingest_layer_stream(
    store: Store,
    lease: Lease,
    stream: BinaryIO,
    parent: Digest | None,
    *,
    allow_devices: bool = False,
    expected_diff_id: Digest | None = None,
) -> LayerBlob:
    """Store a layer tar from a stream (compressed or not) as a gzip blob, and unpack it.

    Uncompressed input is gzip-compressed on the way in (the blob is what push and save use); the diff ID
    is the digest of the uncompressed tar either way.
    """
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, _CHUNK)  # type: ignore[type-var]
    kind = detect_compression(buffered.peek(8)[:8])
    if kind not in ("", "gzip", "zstd"):
        raise CorruptContent(f"layer: unsupported compression {kind}")
    with store.content.writer() as writer:
        if kind:
            media_type = MediaType.DOCKER_LAYER if kind == "gzip" else MediaType.OCI_LAYER_ZSTD
            while chunk := buffered.read(_CHUNK):
                writer.write(chunk)
            diff_id = None
        else:
            media_type = MediaType.DOCKER_LAYER
            diff_id = _gzip_into(buffered, writer)
            if expected_diff_id is not None and diff_id != expected_diff_id:
                raise CorruptContent(f"layer: diff ID mismatch: expected {expected_diff_id}, got {diff_id}")
        # protect the blob before it becomes visible to a concurrent garbage collection
        digest = writer.digest
        lease.add(LeaseKind.BLOB, str(digest))
        size = writer.offset
        writer.commit()
    desc = Descriptor(media_type, digest, size)
    return ingest_layer_blob(store, lease, desc, parent, diff_id or expected_diff_id, allow_devices=allow_devices)


def _gzip_into(src: BinaryIO, writer: ContentWriter) -> Digest:
    """gzip ``src`` into ``writer`` (:mod:`dockyard.store.layergzip`); returns the diff ID."""
    from dockyard.store.layergzip import gzip_blocks

    diff_id, _ = gzip_blocks(src.read, writer.write, threads=min(4, os.cpu_count() or 1))
    return diff_id


def write_image(
    store: Store,
    lease: Lease,
    config: bytes,
    layers: Sequence[LayerBlob],
    *,
    tags: Iterable[Reference] = (),
    parent: Digest | None = None,
    manifest: bytes | None = None,
    manifest_media_type: str = MediaType.DOCKER_MANIFEST,
    repo_digests: Iterable[Reference] = (),
) -> tuple[ImageRecord, list[Digest]]:
    """Store config (and a manifest, generated unless given) and record the image under ``tags``.

    Returns the record and the IDs of images that lost their last tag to it.
    """
    parsed = parse_image_config(config)
    if tuple(lb.diff_id for lb in layers) != parsed.diff_ids:
        raise CorruptContent("image: the config's rootfs.diff_ids do not match its layers")
    config_digest = Digest.of(config)
    lease.add(LeaseKind.BLOB, str(config_digest))
    store.content.put(config)
    if manifest is None:
        config_mt = (
            MediaType.DOCKER_CONFIG if manifest_media_type == MediaType.DOCKER_MANIFEST else MediaType.OCI_CONFIG
        )
        layer_descs = tuple(_layer_desc_for(lb.descriptor, manifest_media_type) for lb in layers)
        manifest = Manifest(
            Descriptor(config_mt, config_digest, len(config)), layer_descs, manifest_media_type
        ).to_json()
    manifest_digest = Digest.of(manifest)
    lease.add(LeaseKind.BLOB, str(manifest_digest))
    store.content.put(manifest)
    top = layers[-1].layer.chain_id if layers else None
    record = ImageRecord(
        id=config_digest,
        manifest_digest=manifest_digest,
        manifest_media_type=manifest_media_type,
        top_layer=top,
        size=sum(lb.layer.size for lb in layers),
        created=parsed.created,
        added=time.time(),
        parent=parent,
    )
    blobs = [config_digest, manifest_digest, *(lb.descriptor.digest for lb in layers)]
    orphaned = store.images.put(record, blobs, tags, repo_digests)
    stored = store.images.get(config_digest)
    assert stored is not None
    return stored, orphaned


def _layer_desc_for(desc: Descriptor, manifest_media_type: str) -> Descriptor:
    """Docker schema2 manifests only know gzip layers; OCI ones say what the blob is."""
    compression = layer_compression(desc.media_type)
    if manifest_media_type == MediaType.DOCKER_MANIFEST and compression == "gzip":
        return Descriptor(MediaType.DOCKER_LAYER, desc.digest, desc.size)
    if manifest_media_type == MediaType.OCI_MANIFEST:
        mt = {"gzip": MediaType.OCI_LAYER_GZIP, "zstd": MediaType.OCI_LAYER_ZSTD, "": MediaType.OCI_LAYER}
        return Descriptor(mt.get(compression or "", desc.media_type), desc.digest, desc.size)
    return desc
