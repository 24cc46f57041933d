"""Pushing images from the store to a registry, with Docker's progress messages.

For each tag: every layer blob (top layer first on screen, as Docker shows them, identified by its diff ID) is
``Preparing``, then — up to ``concurrency`` at a time, the others ``Waiting`` —

* already known to be in the repository from an earlier tag of this push: ``Layer already exists``;
* found by ``HEAD /v2/<name>/blobs/<digest>``: ``Layer already exists``;
* mounted from another repository of the same registry that is known to hold it (``blob_sources``, recorded on
  pulls and pushes): ``Mounted from <repo>``;
* otherwise uploaded from the stored blob — monolithic up to ``chunk_threshold``, in ``chunk_size`` PATCHes above —
  with ``Pushing`` byte counts, then ``Pushed``.

The config blob follows the same path without a line of its own. The manifest goes last, and it is the image's
stored manifest, byte for byte: the blobs it names are exactly the ones just pushed, so the digest is the one the
image was pulled or built with (``docker push`` of the same image gives the same). Then ``<tag>: digest: <d> size:
<n>`` and the aux record, and the digest is recorded as a RepoDigest of the local image.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError, FailedPrecondition
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import parse_image_config
from dockyard.oci.manifest import Manifest
from dockyard.oci.reference import Reference
from dockyard.registry.client import RegistryClient
from dockyard.registry.progress import (
    LayerProgress,
    LayerStatus,
    ProgressSink,
    PushAux,
    mounted_from,
    push_digest,
)
from dockyard.registry.sources import BlobSources
from dockyard.registry.transfers import Cancelled, cancel_on_error, keep_buffers_in_heap
from dockyard.store.images import ImageRecord

if TYPE_CHECKING:
    from dockyard.store import Store

__all__ = ["CHUNK_SIZE", "CHUNK_THRESHOLD", "DEFAULT_UPLOADS", "ImagePusher", "PushResult"]

log = logging.getLogger(__name__)

DEFAULT_UPLOADS = 5  # dockerd's max-concurrent-uploads
CHUNK_THRESHOLD = 256 << 20  # blobs above this are sent in chunks (resumable within the push)
CHUNK_SIZE = 128 << 20
MAX_MOUNT_ATTEMPTS = 3


@dataclass(frozen=True)
class PushResult:
    tag: str
    digest: Digest
    size: int


@dataclass(frozen=True)
class _Blob:
    desc: Descriptor
    id: str  # what the progress line shows ("" for the config: no line)


class ImagePusher:
    """Pushes images to one repository (``client``, opened for push) from ``store``, reporting to ``sink``."""

    def __init__(
        self,
        store: Store,
        client: RegistryClient,
        sink: ProgressSink,
        *,
        concurrency: int = DEFAULT_UPLOADS,
        sources: BlobSources | None = None,
        chunk_threshold: int = CHUNK_THRESHOLD,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.store = store
        self.client = client
        self.sink = sink
        self.concurrency = max(1, concurrency)
        self.sources = sources
        self.chunk_threshold = chunk_threshold
        self.chunk_size = chunk_size
        self._remote: set[Digest] = set()  # blobs known to be in the repository (pushState.remoteLayers)
        self._lock = threading.Lock()
        keep_buffers_in_heap()

    def push(self, reference: Reference, record: ImageRecord) -> PushResult:
        """Push ``record`` as ``reference`` (which has a tag); returns the manifest's digest and size."""
        assert reference.tag is not None
        content = self.store.content
        manifest_bytes = content.read(record.manifest_digest)
        manifest = Manifest.parse(manifest_bytes)
        config = parse_image_config(content.read(manifest.config.digest))
        diff_ids = config.diff_ids if len(config.diff_ids) == len(manifest.layers) else ()
        blobs: dict[Digest, _Blob] = {}
        for i in reversed(range(len(manifest.layers))):  # top layer first, as docker shows them
            desc = manifest.layers[i]
            shown = diff_ids[i].short if diff_ids else desc.digest.short
            blobs.setdefault(desc.digest, _Blob(desc, shown))
        blobs.setdefault(manifest.config.digest, _Blob(manifest.config, ""))
        for blob in blobs.values():
            if not blob.desc.urls and not content.exists(blob.desc.digest):
                raise FailedPrecondition(
                    f"push {reference.familiar}: blob {blob.desc.digest} of image {record.id.short} is missing "
                    "from the local store",
                    hint="pull or rebuild the image, then push again",
                )
        layers = [b for b in blobs.values() if b.id]
        shown_ids: set[str] = set()
        for blob in layers:
            if blob.id not in shown_ids:
                self.sink(LayerProgress(blob.id, LayerStatus.PREPARING))
                shown_ids.add(blob.id)
        for blob in layers[self.concurrency :]:
            self.sink(LayerProgress(blob.id, LayerStatus.WAITING))
        self._push_blobs(list(blobs.values()))
        digest = self.client.put_manifest(manifest_bytes, record.manifest_media_type, reference.tag)
        size = len(manifest_bytes)
        self.sink(push_digest(reference.tag, str(digest), size))
        self.sink(PushAux(reference.tag, str(digest), size))
        images = self.store.images
        current = images.get(record.id)
        if current is not None:
            images.put(current, images.blobs(record.id), (), [reference.repository().with_digest(digest)])
        return PushResult(reference.tag, digest, size)

    # -- blobs -----------------------------------------------------------------------------------------------

    def _push_blobs(self, blobs: list[_Blob]) -> None:
        cancel = threading.Event()
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="push") as pool:
            for blob in blobs:
                future = pool.submit(self._push_blob, blob, cancel)
                future.add_done_callback(lambda f: cancel_on_error(f, cancel))
                futures.append(future)
        errors = [e for e in (f.exception() for f in futures) if e is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])

    def _status(self, blob: _Blob, status: str, current: int | None = None, total: int | None = None) -> None:
        if blob.id:
            self.sink(LayerProgress(blob.id, status, current, total))

    def _push_blob(self, blob: _Blob, cancel: threading.Event) -> None:
        if cancel.is_set():
            raise Cancelled("transfer cancelled")
        desc, client = blob.desc, self.client
        if desc.urls:
            self._status(blob, "Skipped foreign layer")
            return
        with self._lock:
            known = desc.digest in self._remote
        if known or client.stat_blob(desc.digest) is not None:
            self._status(blob, LayerStatus.LAYER_ALREADY_EXISTS)
            self._seen(desc.digest)
            return
        if self._mount(blob):
            return
        size = desc.size

        def progress(done: int, total: int | None) -> None:
            if cancel.is_set():
                raise Cancelled("transfer cancelled")
            self._status(blob, LayerStatus.PUSHING, done, total or size)

        chunk = self.chunk_size if size > self.chunk_threshold else None
        with self.store.content.open(desc.digest) as source:
            client.upload_blob(desc.digest, source, size, progress=progress, chunk_size=chunk)
        self._status(blob, LayerStatus.PUSHED)
        self._seen(desc.digest)

    def _mount(self, blob: _Blob) -> bool:
        if self.sources is None:
            return False
        host, repository, digest = self.client.host, self.client.repository, blob.desc.digest
        for source in self.sources.mount_candidates(host, repository, digest, MAX_MOUNT_ATTEMPTS):
            try:
                mounted = self.client.mount_blob(digest, source)
            except DockyardError as exc:
                log.info("mount %s from %s: %s", digest.short, source, exc)
                mounted = False
            if mounted:
                if blob.id:
                    self.sink(mounted_from(blob.id, source))
                self._seen(digest)
                return True
            log.debug("blob %s is not mountable from %s any more; forgetting that source", digest.short, source)
            self.sources.remove(host, source, digest)
        return False

    def _seen(self, digest: Digest) -> None:
        with self._lock:
            self._remote.add(digest)
        if self.sources is not None:
            self.sources.add(self.client.host, self.client.repository, [digest])
