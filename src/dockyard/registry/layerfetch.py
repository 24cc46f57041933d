"""One layer of a pull: download it into a resumable ingest and unpack it *while* the bytes arrive.

Two threads per layer, joined by a bounded queue of chunks (:class:`ChunkPipe`):

* the **producer** runs the client's resumable :class:`~dockyard.registry.download.Download` into a
  :class:`TeeWriter`, which appends every received byte to the store's ingest (hashing it) and hands the same byte
  to the consumer. A partial ingest left by an earlier attempt — even by another, killed process — is replayed to
  the consumer from disk first, then the download continues with ``Range`` from where the ingest stands.
* the **consumer** decompresses, hashes (diff ID) and extracts the stream into a fresh unpack directory.

Nothing is trusted before the end: the blob digest is checked when the last byte is in (``filesystem layer
verification failed for digest ...`` otherwise, and the ingest is discarded), the diff ID when the tar ends, and the
unpacked directory only becomes a layer when the caller publishes it. The blob stays in the ingest (resumable, not
yet visible) until the caller commits it, just before the image record is written.

The invariant that makes this sound: the consumer has seen exactly the bytes the ingest holds. If a registry
ignores a ``Range`` request and sends the blob from the start again, the ingest starts over and the bytes the
consumer already had are compared (by hash) with the new ones instead of being handed out twice.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import CorruptContent
from dockyard.oci.digest import Digest
from dockyard.registry.transfers import Cancelled, cancel_on_error, keep_buffers_in_heap
from dockyard.store.content import ContentWriter
from dockyard.store.layerstream import (
    WRITEBACK_STEP,
    plain_chunks,
    start_writeback,
)
from dockyard.store.unpack import UnpackResult, unpack_stream

__all__ = [
    "BlobMismatch",
    "Cancelled",
    "ChunkPipe",
    "PipeReader",
    "StreamResult",
    "TeeWriter",
    "cancel_on_error",
    "inflate",
    "keep_buffers_in_heap",
    "stream_layer",
]

log = logging.getLogger(__name__)

_QUEUE_CHUNKS = 16  # megabyte chunks: enough to keep every stage busy
_REPLAY_CHUNK = 1 << 20
_EOF = object()


class BlobMismatch(CorruptContent):
    """The downloaded bytes are not the blob the manifest names (Docker's words: layer verification failed)."""

    def __init__(self, digest: Digest | None) -> None:
        super().__init__(f"filesystem layer verification failed for digest {digest}")
        self.digest = digest


class ChunkPipe:
    """Chunks of bytes from one producer thread to one consumer, with errors travelling in both directions."""

    def __init__(self, cancel: threading.Event, maxsize: int = _QUEUE_CHUNKS) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize)
        self._cancel = cancel
        self._abandoned = threading.Event()

    # -- producer side ------------------------------------------------------------------------------------------
    def put(self, data: bytes) -> None:
        """Hand a chunk over (blocks while the consumer is behind). Dropped once the consumer has given up."""
        while True:
            if self._cancel.is_set():
                raise Cancelled("transfer cancelled")
            if self._abandoned.is_set():
                return
            try:
                self._queue.put(data, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self, error: BaseException | None = None) -> None:
        """End of the stream (``error`` makes the consumer's next read raise it)."""
        item = _EOF if error is None else error
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # -- consumer side ------------------------------------------------------------------------------------------
    def get(self) -> bytes:
        """The next chunk; ``b""`` at the end; raises what the producer failed with."""
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._cancel.is_set():
                    raise Cancelled("transfer cancelled") from None
                continue
            if item is _EOF:
                self._queue.put(_EOF)  # stay at the end for later reads
                return b""
            if isinstance(item, BaseException):
                self._queue.put(item)
                raise item
            assert isinstance(item, bytes)
            return item

    def abandon(self) -> None:
        """The consumer stops reading: the producer's chunks are dropped from now on (it still verifies the blob)."""
        self._abandoned.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


class PipeReader(io.RawIOBase):
    """A readable stream over a :class:`ChunkPipe` (what ``unpack_layer`` reads)."""

    def __init__(self, pipe: ChunkPipe) -> None:
        self.pipe = pipe
        self._pending = memoryview(b"")
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            chunk = self.pipe.get()
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.count += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes: a whole chunk as it came when it fits (no buffer of ``size`` bytes is made)."""
        if size is None or size < 0:
            return self.readall()
        if not size:
            return b""
        if not self._pending:
            chunk = self.pipe.get()
            if len(chunk) <= size:
                self.count += len(chunk)
                return chunk
            self._pending = memoryview(chunk)
        out = self._pending[:size].tobytes()
        self._pending = self._pending[size:]
        self.count += len(out)
        return out

    def drain(self) -> None:
        self._pending = memoryview(b"")
        while self.pipe.get():
            pass


class TeeWriter:
    """A :class:`~dockyard.registry.client.BlobWriter` that feeds both the ingest and a :class:`ChunkPipe`.

    ``commit`` only *verifies* (size and digest) and ends the stream; publishing the blob is the caller's business
    (``ContentWriter.commit``), once the whole image is in.
    """

    def __init__(
        self,
        ingest: ContentWriter,
        pipe: ChunkPipe,
        size: int,
        cancel: threading.Event,
        on_verifying: Callable[[], None] | None = None,
    ) -> None:
        assert ingest.expected is not None
        self.on_verifying = on_verifying
        self.ingest = ingest
        self.pipe = pipe
        self.size = size
        self.cancel = cancel
        self.expected: Digest | None = ingest.expected
        self.handed = 0  # bytes the consumer has been given
        self._prefix: tuple[int, Digest] | None = None  # after a restart: what the consumer already saw
        self._recheck = hashlib.sha256()
        self.verified = False
        self.offset = ingest.offset  # mirrors the ingest's count (the download resumes from here)
        self._flushed = ingest.offset  # the ingest's bytes below this are on their way to disk
        self._flush_fd = -1

    def replay(self) -> None:
        """Give the consumer what a previous attempt left in the ingest (it is already part of the hash)."""
        remaining = self.ingest.offset
        if not remaining:
            return
        with open(self.ingest.path, "rb") as f:
            while remaining > 0:
                chunk = f.read(min(_REPLAY_CHUNK, remaining))
                if not chunk:
                    raise CorruptContent(f"blob {self.expected}: partial download shrank while it was read")
                remaining -= len(chunk)
                self.pipe.put(chunk)
                self.handed += len(chunk)

    def write(self, data: bytes | memoryview) -> None:
        if self.cancel.is_set():
            raise Cancelled("transfer cancelled")
        start = self.ingest.offset
        try:
            self.ingest.write(data)
        except CorruptContent:  # more bytes than the manifest says
            raise BlobMismatch(self.expected) from None
        self.offset = self.ingest.offset
        if self.offset - self._flushed >= WRITEBACK_STEP:
            self._writeback()
        chunk = bytes(data)
        if self._prefix is not None:
            length, digest = self._prefix
            seen = min(len(chunk), max(0, length - start))
            if seen:
                self._recheck.update(chunk[:seen])
            if start + seen >= length:
                if Digest("sha256", self._recheck.hexdigest()) != digest:
                    raise CorruptContent(f"blob {self.expected}: content changed while it was being downloaded")
                self._prefix = None
            chunk = chunk[seen:]
        if chunk:
            self.pipe.put(chunk)
            self.handed += len(chunk)

    def _writeback(self) -> None:
        """Have the disk start on what was written since the last call (the ingest is fsynced at its commit)."""
        if self._flush_fd < 0:
            try:
                self._flush_fd = os.open(self.ingest.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self._flushed = self.offset  # not worth failing for
                return
        start_writeback(self._flush_fd, self._flushed, self.offset - self._flushed)
        self._flushed = self.offset

    def close(self) -> None:
        if self._flush_fd >= 0:
            os.close(self._flush_fd)
            self._flush_fd = -1

    def truncate(self) -> None:
        """The registry starts over: check the bytes the consumer already has instead of handing them out again."""
        if self.handed and self._prefix is None:
            self._prefix = (self.handed, self.ingest.digest)
            self._recheck = hashlib.sha256()
        self.ingest.truncate()
        self.offset = self._flushed = 0

    def commit(self) -> Digest:
        if self.on_verifying is not None:
            self.on_verifying()
        if self._prefix is not None or self.ingest.offset != self.size or self.ingest.digest != self.expected:
            self.abort()
            raise BlobMismatch(self.expected)
        self.verified = True
        self.pipe.finish()
        assert self.expected is not None
        return self.expected

    def abort(self) -> None:
        self.ingest.abort()
        self.pipe.finish(BlobMismatch(self.expected))


@dataclass(frozen=True)
class StreamResult:
    """A layer streamed into ``diff_dir`` (``unpack`` None when only the diff ID was computed)."""

    unpack: UnpackResult | None
    diff_id: Digest


Fetch = Callable[[TeeWriter], Digest]
"""Runs the download into the writer and returns the verified digest (``RegistryClient.fetch_blob``-like)."""


def stream_layer(
    ingest: ContentWriter,
    size: int,
    fetch: Fetch,
    target: Path | None,
    expected_diff_id: Digest,
    cancel: threading.Event,
    *,
    on_verifying: Callable[[], None] | None = None,
    on_verified: Callable[[], None] | None = None,
) -> StreamResult:
    """Download into ``ingest`` (resuming it) and, at the same time, unpack into ``target``.

    Three threads: the download (this function starts it), the decompression (likewise), and the extraction (the
    caller's thread). With ``target`` None the stream is only decompressed and hashed (the layer exists, the blob
    is wanted). Raises what went wrong first: a digest mismatch (ingest discarded), a diff ID mismatch, a transport
    error (ingest kept for a later resume), or :class:`Cancelled`.
    """
    compressed = ChunkPipe(cancel)
    plain = ChunkPipe(cancel)
    tee = TeeWriter(ingest, compressed, size, cancel, on_verifying)
    outcome: list[BaseException | None] = []
    digest: list[Digest] = []  # the diff ID, from the inflating thread

    def produce() -> None:
        try:
            tee.replay()
            fetch(tee)
            if on_verified is not None:
                on_verified()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
            compressed.finish(exc)

    threads = [
        threading.Thread(target=produce, name=f"fetch-{ingest.expected}", daemon=True),
        threading.Thread(
            target=inflate, args=(compressed, plain, digest), name=f"inflate-{ingest.expected}", daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        try:
            if target is None:
                while plain.get():
                    pass
                result = StreamResult(None, digest[0])
            else:
                unpacked = unpack_stream(plain.get, target, diff_id=lambda: digest[0])
                result = StreamResult(unpacked, unpacked.diff_id)
        except BaseException as exc:
            plain.abandon()
            if not isinstance(exc, CorruptContent):
                cancel.set()  # no reason to finish the download
            for thread in threads:
                thread.join()
            failed = outcome[0] if outcome else None
            if failed is not None and not isinstance(failed, Cancelled):
                raise failed from None  # the blob itself was bad or unreachable: that is the real cause
            raise
        for thread in threads:
            thread.join()
    finally:
        if any(thread.is_alive() for thread in threads):
            cancel.set()
            for thread in threads:
                thread.join()
        tee.close()
    failed = outcome[0] if outcome else None
    if failed is not None:
        raise failed
    if result.diff_id != expected_diff_id:
        raise CorruptContent(
            f"unpack layer: diff ID mismatch: expected {expected_diff_id}, content hashes to {result.diff_id}"
        )
    return result


def inflate(source: ChunkPipe, sink: ChunkPipe, digest: list[Digest] | None = None) -> None:
    """Decompress a layer (gzip, zstd or none) from ``source`` into ``sink`` and hash it, in a thread of its own.

    The diff ID is appended to ``digest`` before the end of the stream is signalled, so the consumer finds it there
    once it has read everything; hashing here rather than in the extracting thread takes it off the longest path.
    On damaged data the error goes to ``sink`` while ``source`` is still drained, so the download can finish and
    tell whether the blob itself was wrong (the better explanation).
    """
    try:
        chunks, _ = plain_chunks(source.get)
        h = hashlib.sha256()
        for out in chunks:
            h.update(out)
            sink.put(bytes(out) if isinstance(out, bytearray) else out)  # type: ignore[arg-type]
        if digest is not None:
            digest.append(Digest("sha256", h.hexdigest()))
        sink.finish()
    except BaseException as exc:
        source.abandon()
        sink.finish(exc)
