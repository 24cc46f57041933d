"""Pulling one image from a registry into the store, with Docker's progress messages.

:meth:`ImagePuller.resolve` fetches what the tag or digest points at (an index resolves to the manifest for the
wanted platform, attestation manifests never match); nothing is printed before it succeeds, so ``manifest
unknown`` comes out as a plain error. :meth:`ImagePuller.pull` then does the rest under one store lease:

1. the config blob (verified), whose ``rootfs.diff_ids`` give each layer's chain ID;
2. per layer, in order: ``Already exists`` when that chain is unpacked and its blob stored; otherwise ``Pulling fs
   layer`` (and ``Waiting`` beyond the parallel downloads);
3. up to ``concurrency`` layers at a time are downloaded into resumable ingests and unpacked *while* they download
   (:mod:`dockyard.registry.layerfetch`), or unpacked from the store when only the layer is missing;
4. layers are published base first as they complete (``Pull complete``), then the blobs are committed, and the
   image record is written last — with the registry's manifest bytes, the tag, and ``repo@digest``.

A pull that fails or is killed leaves no image and no visible layer (the lease lets GC take what it made); the
partial and the complete-but-uncommitted ingests stay, so the next pull of the same blobs downloads only what is
missing.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import CorruptContent, InvalidArgument, NotFound, Unavailable
from dockyard.oci.descriptor import Descriptor, Platform, host_platform
from dockyard.oci.digest import Digest
from dockyard.oci.image import parse_image_config
from dockyard.oci.manifest import Index, Manifest
from dockyard.oci.mediatypes import MediaType, is_index, is_manifest, layer_compression
from dockyard.oci.reference import Reference
from dockyard.registry.client import RegistryClient
from dockyard.registry.layerfetch import (
    BlobMismatch,
    Cancelled,
    TeeWriter,
    cancel_on_error,
    keep_buffers_in_heap,
    stream_layer,
)
from dockyard.registry.progress import LayerProgress, LayerStatus, ProgressSink, digest_status, pulling_from
from dockyard.registry.responses import ManifestResponse
from dockyard.registry.sources import BlobSources
from dockyard.store.commit import (
    LayerBlob,
    discard_unpack_dir,
    find_layer,
    new_unpack_dir,
    publish_layer,
    write_image,
)
from dockyard.store.content import ContentWriter
from dockyard.store.images import ImageRecord
from dockyard.store.layers import chain_of
from dockyard.store.leases import Lease, LeaseKind
from dockyard.store.unpack import unpack_layer

if TYPE_CHECKING:
    from dockyard.store import Store

__all__ = ["DEFAULT_DOWNLOADS", "ImagePuller", "PullResult", "ResolvedImage"]

log = logging.getLogger(__name__)

DEFAULT_DOWNLOADS = 3  # dockerd's max-concurrent-downloads
_INGEST_POLL = 0.2
_SCHEMA1 = (MediaType.DOCKER_MANIFEST_V1_SIGNED, "application/vnd.docker.distribution.manifest.v1+json")
SCHEMA1_ERROR = (
    "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support is disabled "
    "by default and will be removed in an upcoming release. Suggest the author of {ref} to upgrade the image to the "
    "OCI Format or Docker Image manifest v2, schema 2. More information at "
    "https://docs.docker.com/go/deprecated-image-specs/"
)


@dataclass(frozen=True)
class ResolvedImage:
    """What a reference points at on the registry: ``top`` (manifest or index) and the platform manifest."""

    reference: Reference
    top: ManifestResponse
    manifest: ManifestResponse
    parsed: Manifest
    from_index: bool

    @property
    def repo_digest(self) -> Reference:
        """``repo@<top digest>``: what RepoDigests shows and what ``pull repo@digest`` finds again."""
        return self.reference.repository().with_digest(self.top.digest)


@dataclass(frozen=True)
class PullResult:
    image: ImageRecord
    digest: Digest
    """The digest the tag points at (an index's digest for a multi-platform image): the ``Digest:`` line."""
    updated: bool
    """The tag (or digest reference) now points at another image than before: ``Downloaded newer image``."""


class _Mode(StrEnum):
    EXISTS = "exists"  # layer unpacked and blob stored: nothing to do
    BLOB = "blob"  # layer unpacked, blob missing: download and verify it (diff ID hashed, nothing unpacked)
    LOCAL = "local"  # blob available locally, layer missing: unpack it from disk
    FETCH = "fetch"  # download and unpack while downloading


@dataclass(eq=False)
class _Job:
    index: int
    desc: Descriptor
    diff_id: Digest
    parent: Digest | None
    mode: _Mode
    found: LayerBlob | None = None
    primary: _Job | None = None  # an earlier layer of the image with the same blob
    ingest: ContentWriter | None = None
    diff_dir: Path | None = None
    size: int = 0
    blob_path: Path | None = None
    shared: bool = False  # a later layer of the image has the same blob
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def id(self) -> str:
        return self.desc.digest.short


class ImagePuller:
    """Pulls images of one repository (``client``) into ``store``, reporting to ``sink``."""

    def __init__(
        self,
        store: Store,
        client: RegistryClient,
        sink: ProgressSink,
        *,
        platform: Platform | None = None,
        concurrency: int = DEFAULT_DOWNLOADS,
        sources: BlobSources | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.sink = sink
        self.platform = platform
        self.concurrency = max(1, concurrency)
        self.sources = sources
        keep_buffers_in_heap()

    # -- resolving -----------------------------------------------------------------------------------------------

    def resolve(self, reference: Reference) -> ResolvedImage:
        """Fetch the manifest ``reference`` names (and, for an index, the one for the platform). Prints nothing."""
        ref: str | Digest
        if reference.digest is not None:
            ref = reference.digest
        elif reference.tag is not None:
            ref = reference.tag
        else:
            raise InvalidArgument(f"pull {reference}: a tag or a digest is needed")
        top = self.client.get_manifest(ref)
        manifest = top
        if is_index(top.media_type):
            index = Index.parse(top.data)
            want = self.platform or host_platform()
            choices = [d for d in index.manifests if is_manifest(d.media_type) or not d.media_type]
            chosen = Index(tuple(choices), index.media_type).select(want)
            if chosen is None:
                raise NotFound(f"no matching manifest for {want} in the manifest list entries")
            manifest = self.client.get_manifest(chosen.digest)
        if manifest.media_type in _SCHEMA1:
            raise InvalidArgument(SCHEMA1_ERROR.format(ref=reference.familiar))
        if not is_manifest(manifest.media_type):
            raise InvalidArgument("unsupported manifest format")
        parsed = Manifest.parse(manifest.data)
        for layer in parsed.layers:
            if layer_compression(layer.media_type) is None:
                raise InvalidArgument(f"unsupported media type {layer.media_type}")
        return ResolvedImage(reference, top, manifest, parsed, manifest is not top)

    # -- pulling -------------------------------------------------------------------------------------------------

    def pull(self, resolved: ResolvedImage) -> PullResult:
        reference = resolved.reference
        shown = str(reference.digest) if reference.digest is not None else str(reference.tag)
        self.sink(pulling_from(shown, reference.path))
        tags = [reference] if reference.digest is None else []
        images = self.store.images
        before = images.by_tag(reference) if reference.digest is None else images.by_digest(reference)
        with self.store.lease() as lease:
            image_id = resolved.parsed.config.digest
            existing = images.get(image_id)
            if existing is not None:
                images.put(existing, images.blobs(image_id), tags, [resolved.repo_digest])
                record = images.get(image_id) or existing
            else:
                record = self._pull_image(resolved, lease, tags)
        if self.sources is not None:
            digests = [resolved.parsed.config.digest, *(layer.digest for layer in resolved.parsed.layers)]
            self.sources.add(self.client.host, self.client.repository, digests)
        self.sink(digest_status(str(resolved.top.digest)))
        return PullResult(record, resolved.top.digest, before is None or before.id != record.id)

    def _config(self, resolved: ResolvedImage) -> bytes:
        digest = resolved.parsed.config.digest
        try:
            config = self.client.read_blob(digest)
        except CorruptContent:
            raise CorruptContent(f"image config verification failed for digest {digest}") from None
        parsed = parse_image_config(config)
        if len(parsed.diff_ids) != len(resolved.parsed.layers):
            raise CorruptContent("layers from manifest don't match image configuration")
        if self.platform is not None and not resolved.from_index:
            actual = Platform(parsed.os, parsed.architecture, parsed.variant)
            if parsed.os and parsed.architecture and not actual.matches(self.platform):
                raise NotFound(
                    f"image with reference {resolved.reference.familiar} was found but does not match the specified "
                    f"platform: wanted {self.platform}, actual: {actual}"
                )
        return config

    def _plan(self, resolved: ResolvedImage, diff_ids: tuple[Digest, ...], lease: Lease) -> list[_Job]:
        content = self.store.content
        jobs: list[_Job] = []
        first: dict[Digest, _Job] = {}
        parent: Digest | None = None
        for i, (desc, diff_id) in enumerate(zip(resolved.parsed.layers, diff_ids, strict=True)):
            lease.add(LeaseKind.BLOB, str(desc.digest))
            found = find_layer(self.store, lease, desc, parent, diff_id)
            have_blob = content.exists(desc.digest)
            earlier = first.get(desc.digest)
            if found is not None:
                mode = _Mode.EXISTS if have_blob or earlier is not None else _Mode.BLOB
            else:
                mode = _Mode.LOCAL if have_blob or earlier is not None else _Mode.FETCH
            job = _Job(i, desc, diff_id, parent, mode, found)
            if earlier is not None and mode is not _Mode.EXISTS and not have_blob:
                job.primary = earlier  # the blob comes with the earlier layer, which stores it right away
                earlier.shared = True
            first.setdefault(desc.digest, job)
            jobs.append(job)
            parent = chain_of(parent, diff_id)
        return jobs

    def _pull_image(self, resolved: ResolvedImage, lease: Lease, tags: list[Reference]) -> ImageRecord:
        config = self._config(resolved)
        jobs = self._plan(resolved, parse_image_config(config).diff_ids, lease)
        queued = 0
        for job in jobs:
            if job.mode is _Mode.EXISTS:
                self.sink(LayerProgress(job.id, LayerStatus.ALREADY_EXISTS))
                continue
            self.sink(LayerProgress(job.id, LayerStatus.PULLING_FS_LAYER))
            queued += 1
            if queued > self.concurrency:
                self.sink(LayerProgress(job.id, LayerStatus.WAITING))
        cancel = threading.Event()
        futures: dict[int, Future[None]] = {}
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="pull") as pool:
                for job in jobs:
                    if job.mode is not _Mode.EXISTS:
                        future = pool.submit(self._run, job, cancel)
                        future.add_done_callback(lambda f: cancel_on_error(f, cancel))
                        futures[job.index] = future
                try:
                    layers = self._publish(jobs, futures, lease)
                except BaseException:
                    cancel.set()
                    raise
            for job in jobs:  # every blob verified: make them visible (leased since planning)
                if job.ingest is not None:
                    job.ingest.commit()
                    job.ingest = None
            record, _ = write_image(
                self.store,
                lease,
                config,
                layers,
                tags=tags,
                manifest=resolved.manifest.data,
                manifest_media_type=resolved.manifest.media_type,
                repo_digests=[resolved.repo_digest],
            )
            return record
        except Cancelled as exc:
            raise _first_cause(exc, jobs, futures) from None
        finally:
            for job in jobs:
                if job.diff_dir is not None:
                    discard_unpack_dir(job.diff_dir)
                if job.ingest is not None:
                    job.ingest.close()  # kept: a later pull resumes (or just commits) it

    def _publish(self, jobs: list[_Job], futures: dict[int, Future[None]], lease: Lease) -> list[LayerBlob]:
        """Layers base first, each as soon as it and everything below it are ready."""
        out: list[LayerBlob] = []
        for job in jobs:
            if job.mode is _Mode.EXISTS:
                assert job.found is not None
                out.append(job.found)
                continue
            futures[job.index].result()
            if job.diff_dir is not None:
                self.sink(LayerProgress(job.id, LayerStatus.EXTRACTING, job.desc.size, job.desc.size))
                diff_dir, job.diff_dir = job.diff_dir, None
                out.append(publish_layer(self.store, lease, job.desc, job.parent, job.diff_id, job.size, diff_dir))
            else:
                assert job.found is not None
                out.append(job.found)
            self.sink(LayerProgress(job.id, LayerStatus.PULL_COMPLETE))
        return out

    # -- one layer (worker thread) -------------------------------------------------------------------------------

    def _run(self, job: _Job, cancel: threading.Event) -> None:
        try:
            if cancel.is_set():
                raise Cancelled("transfer cancelled")
            if job.primary is not None:
                while not job.primary.done.wait(0.1):
                    if cancel.is_set():
                        raise Cancelled("transfer cancelled")
                if job.primary.blob_path is None:
                    raise Cancelled("transfer cancelled")
                if job.mode is not _Mode.EXISTS:
                    self._unpack_file(job, job.primary.blob_path)
                return
            if job.mode is _Mode.LOCAL:
                self._unpack_file(job, self.store.content.path(job.desc.digest))
                return
            ingest = self._open_ingest(job, cancel)
            if ingest is None:  # another process stored the blob meanwhile
                if job.mode is _Mode.FETCH:
                    self._unpack_file(job, self.store.content.path(job.desc.digest))
                job.blob_path = self.store.content.path(job.desc.digest)
                return
            job.ingest = ingest
            self._fetch(job, ingest, cancel)
        except BaseException as exc:
            if job.diff_dir is not None:
                discard_unpack_dir(job.diff_dir)
                job.diff_dir = None
            if job.ingest is not None:
                if isinstance(exc, CorruptContent):
                    job.ingest.abort()
                else:
                    job.ingest.close()
                job.ingest = None
            raise
        finally:
            job.done.set()

    def _open_ingest(self, job: _Job, cancel: threading.Event) -> ContentWriter | None:
        """The resumable ingest for the blob, or None once it is stored; waits while another process writes it."""
        content, digest = self.store.content, job.desc.digest
        waited = False
        while True:
            if content.exists(digest):
                return None
            try:
                ingest = content.writer(ref=str(digest), expected=digest, expected_size=job.desc.size)
            except Unavailable:
                if cancel.is_set():
                    raise Cancelled("transfer cancelled") from None
                if not waited:
                    log.info("blob %s: another process is downloading it; waiting", digest)
                    waited = True
                time.sleep(_INGEST_POLL)
                continue
            if content.exists(digest):  # committed by the other process just before we got the lock
                ingest.abort()
                return None
            if ingest.offset:
                log.info("blob %s: resuming from %d bytes already downloaded", digest.short, ingest.offset)
            return ingest

    def _fetch(self, job: _Job, ingest: ContentWriter, cancel: threading.Event) -> None:
        resumed = ingest.offset > 0
        try:
            self._stream(job, ingest, cancel)
        except BlobMismatch:
            if not resumed:
                raise
            # what an earlier attempt left was not this blob's beginning (dockerd retries in this case too)
            log.info("blob %s: the resumed download does not verify; downloading it again", job.desc.digest.short)
            job.ingest = None
            if job.diff_dir is not None:
                discard_unpack_dir(job.diff_dir)
                job.diff_dir = None
            again = self._open_ingest(job, cancel)
            if again is None:
                raise
            job.ingest = again
            self._stream(job, again, cancel)

    def _stream(self, job: _Job, ingest: ContentWriter, cancel: threading.Event) -> None:
        target = new_unpack_dir(self.store) if job.mode is _Mode.FETCH else None
        job.diff_dir = target
        size = job.desc.size

        def fetch(writer: TeeWriter) -> Digest:
            def progress(done: int, total: int | None) -> None:
                if done:  # docker's first line already has bytes
                    self.sink(LayerProgress(job.id, LayerStatus.DOWNLOADING, done, total or size))

            return self.client.fetch_blob(job.desc.digest, writer, size=size, progress=progress)

        result = stream_layer(
            ingest,
            size,
            fetch,
            target,
            job.diff_id,
            cancel,
            on_verifying=lambda: self.sink(LayerProgress(job.id, LayerStatus.VERIFYING_CHECKSUM)),
            on_verified=lambda: self.sink(LayerProgress(job.id, LayerStatus.DOWNLOAD_COMPLETE)),
        )
        job.size = result.unpack.size if result.unpack is not None else 0
        if job.shared:  # the later layer reads it from the store
            ingest.commit()
            job.ingest = None
            job.blob_path = self.store.content.path(job.desc.digest)
        else:
            job.blob_path = ingest.path

    def _unpack_file(self, job: _Job, path: Path) -> None:
        target = new_unpack_dir(self.store)
        job.diff_dir = target
        total = job.desc.size
        with open(path, "rb") as f:
            result = unpack_layer(
                f,
                target,
                expected_diff_id=job.diff_id,
                on_progress=lambda n: self.sink(LayerProgress(job.id, LayerStatus.EXTRACTING, n, total)),
            )
        job.size = result.size
        job.blob_path = path


def _first_cause(exc: Cancelled, jobs: list[_Job], futures: dict[int, Future[None]]) -> BaseException:
    """The error to report: the first layer failure that is not a mere consequence of cancelling the others."""
    for job in jobs:
        future = futures.get(job.index)
        if future is None or not future.done() or future.cancelled():
            continue
        failed = future.exception()
        if failed is not None and not isinstance(failed, Cancelled):
            return failed
    return exc
