"""Layer unpacking: decompress a layer tar, hash it (the diff ID) and extract it into an overlay lower directory.

A layer is an (optionally gzip- or zstd-compressed) tar. :func:`unpack_layer` (a file) and :func:`unpack_stream`
(chunks as they arrive, from a download) go through it once: decompress, hash the uncompressed bytes (the diff ID),
and hand every entry to the safe extractor (:class:`dockyard.store.extract.Extractor`), which refuses anything that
would write outside the target directory and turns OCI whiteouts into overlayfs ones. :func:`decompressed` wraps a
file in the streaming decompressor its magic bytes ask for.

Bytes travel in chunks of about a megabyte (:mod:`dockyard.store.layerstream`): the tar is read from the
decompressed chunks, and file contents are written straight from them.
"""

from __future__ import annotations

import errno
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.store.extract import OPAQUE_WHITEOUT as OPAQUE_WHITEOUT
from dockyard.store.extract import OPAQUE_XATTR as OPAQUE_XATTR
from dockyard.store.extract import WHITEOUT_PREFIX as WHITEOUT_PREFIX
from dockyard.store.extract import Extractor
from dockyard.store.fsutil import disk_error
from dockyard.store.layerstream import (
    CHUNK,
    ChunkReader,
    FastTarInfo,
    NextChunk,
    damaged,
    detect_compression,
    plain_chunks,
)

__all__ = ["UnpackResult", "decompressed", "detect_compression", "unpack_layer", "unpack_stream"]

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class UnpackResult:
    diff_id: Digest
    size: int  # bytes of regular-file content, what Docker reports as a layer's size
    compressed_size: int


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


def decompressed(f: IO[bytes]) -> tuple[IO[bytes], str]:
    """Wrap ``f`` (positioned at the start of a layer) in a streaming decompressor chosen by magic bytes."""
    buffered = f if isinstance(f, io.BufferedReader) else io.BufferedReader(_CountingReader(f), CHUNK)
    head = buffered.peek(8)[:8]
    kind = detect_compression(head)
    if kind == "gzip":
        try:
            from isal import igzip

            return igzip.IGzipFile(fileobj=buffered, mode="rb"), kind  # type: ignore[return-value]
        except ImportError:  # pragma: no cover - isal is a dependency, but stay usable without it
            import gzip

            return gzip.GzipFile(fileobj=buffered, mode="rb"), kind  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True), kind
    if kind in ("bzip2", "xz"):
        raise InvalidArgument(f"unpack layer: {kind} compressed layers are not supported")
    return buffered, kind


def unpack_layer(
    src: BinaryIO,
    target: str | os.PathLike[str],
    *,
    allow_devices: bool = False,
    expected_diff_id: Digest | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> UnpackResult:
    """Extract the layer in ``src`` into the (existing, normally empty) directory ``target``.

    Raises :class:`CorruptContent` for a damaged or hostile archive or a diff ID mismatch; the caller
    removes ``target`` in that case (it is always a fresh temporary directory). ``on_progress`` is told how many
    bytes of ``src`` have been read.
    """
    return unpack_stream(
        lambda: src.read(CHUNK),
        target,
        allow_devices=allow_devices,
        expected_diff_id=expected_diff_id,
        on_progress=on_progress,
    )


def unpack_stream(
    next_chunk: NextChunk,
    target: str | os.PathLike[str],
    *,
    allow_devices: bool = False,
    expected_diff_id: Digest | None = None,
    on_progress: Callable[[int], None] | None = None,
    diff_id: Callable[[], Digest] | None = None,
) -> UnpackResult:
    """:func:`unpack_layer` for a layer that arrives in chunks (``next_chunk()``, empty at the end).

    With ``diff_id``, the chunks are the tar itself, decompressed and hashed by whoever produces them (another
    thread): nothing is decompressed or hashed here, and ``diff_id()`` gives the digest once the stream has ended.
    """
    count = 0

    def counted(n: int) -> None:
        nonlocal count
        count = n
        if on_progress is not None:
            on_progress(n)

    root_fd = os.open(target, _O_DIR)
    try:
        if diff_id is None:
            chunks, _ = plain_chunks(next_chunk, on_input=counted)
        else:
            chunks = _counted_chunks(next_chunk, counted)
        reader = ChunkReader(chunks, hashing=diff_id is None)
        extractor = Extractor(root_fd, allow_devices, reader)
        try:
            try:
                tar = tarfile.TarFile(fileobj=reader, mode="r", tarinfo=FastTarInfo)  # type: ignore[arg-type]
                while (member := tar.next()) is not None:
                    tar.members.clear()  # type: ignore[attr-defined]  # nothing looks members up again: flat memory
                    extractor.extract(member)
                reader.drain()  # tar padding after the end-of-archive marker is part of the diff ID
            except CorruptContent:
                raise
            except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                    raise disk_error(exc, "unpack layer") from exc
                if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                    raise CorruptContent(f"unpack layer: {exc}") from exc
                raise CorruptContent(f"unpack layer: damaged archive: {exc or type(exc).__name__}") from exc
            except Exception as exc:
                if damaged(exc):  # a decoder's own exception type for corrupt data
                    raise CorruptContent(f"unpack layer: damaged compressed data: {exc}") from exc
                raise
            extractor.finish()
        finally:
            extractor.close()
    finally:
        os.close(root_fd)
    digest = reader.diff_id if diff_id is None else diff_id()
    if expected_diff_id is not None and digest != expected_diff_id:
        raise CorruptContent(f"unpack layer: diff ID mismatch: expected {expected_diff_id}, content hashes to {digest}")
    return UnpackResult(diff_id=digest, size=extractor.size, compressed_size=count)


def _counted_chunks(next_chunk: NextChunk, counted: Callable[[int], None]) -> Iterator[bytes | bytearray | memoryview]:
    total = 0
    while chunk := next_chunk():
        total += len(chunk)
        counted(total)
        yield chunk
