"""A layer tar as a stream of large chunks: decompression, the diff ID, and a reader that writes file data straight
from the chunks.

Extraction used to read a layer through half a dozen stacked Python file objects (counting, buffering,
decompressing, hashing, tarfile's own record buffer), copying every byte at each level. Here bytes move in chunks of
about a megabyte:

* :func:`plain_chunks` turns the chunks of a (gzip-, zstd- or un-) compressed layer into the chunks of its tar;
* :class:`ChunkReader` hashes and counts every tar byte as it goes by (the diff ID covers the whole stream, padding
  after the end-of-archive marker included), serves ``tarfile`` its headers (``read``/``tell``/forward ``seek``)
  and copies file contents to a file descriptor from memoryviews of the chunks — one ``os.write`` per chunk, no
  other copy. ``hashlib``, ``os.write`` and the decompressors release the GIL on such buffers, so the threads of a
  pull (download, inflate, extract) really run at the same time.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tarfile
from collections.abc import Callable, Iterator
from typing import IO, Self, cast

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest

__all__ = [
    "CHUNK",
    "WRITEBACK_STEP",
    "ChunkReader",
    "FastTarInfo",
    "NextChunk",
    "detect_compression",
    "gunzip_chunks",
    "plain_chunks",
    "start_writeback",
]

CHUNK = 1 << 20
"""Compressed bytes read at a time, and the most decompressed bytes produced at a time."""

NextChunk = Callable[[], bytes | bytearray | memoryview]
"""The next chunk of a stream; empty at its end."""

_DECODER_MODULES = ("zlib", "zstandard", "isal", "gzip")

WRITEBACK_STEP = 8 << 20
"""Big files have their pages sent to disk every this many bytes (see :func:`start_writeback`)."""
_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range: Callable[[int, int, int, int], int] | None = None
_sync_file_range_loaded = False


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``length`` bytes of ``fd`` from ``offset`` to disk, without waiting (``sync_file_range`` with
    ``SYNC_FILE_RANGE_WRITE``).

    A layer is made durable with one ``syncfs`` before it is published, and a blob with an ``fsync``: left to the
    end, that flush of hundreds of megabytes takes as long as the download. Started as the bytes are written, the
    disk works while the CPUs download, inflate and hash, and the final flush finds little left to do. Durability
    does not depend on it (the flush is still made); where the call is unavailable it does nothing.
    """
    global _sync_file_range, _sync_file_range_loaded
    if not _sync_file_range_loaded:
        _sync_file_range_loaded = True
        try:
            import ctypes

            func = ctypes.CDLL("libc.so.6", use_errno=True).sync_file_range
            func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            func.restype = ctypes.c_int
            _sync_file_range = func
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            _sync_file_range = None
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def detect_compression(head: bytes | bytearray | memoryview) -> str:
    head = bytes(head[:8])
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return ""


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` is a decompressor's complaint about its input."""
    return type(exc).__module__.split(".")[0] in _DECODER_MODULES or isinstance(exc, EOFError)


def _iterate(next_chunk: NextChunk) -> Iterator[bytes | bytearray | memoryview]:
    while chunk := next_chunk():
        yield chunk


def plain_chunks(
    next_chunk: NextChunk, *, on_input: Callable[[int], None] | None = None
) -> tuple[Iterator[bytes | bytearray | memoryview], str]:
    """The uncompressed chunks of the stream ``next_chunk`` reads, and its compression (``""``, gzip or zstd).

    ``on_input(n)`` is told how many (compressed) bytes have been read so far. bzip2 and xz are refused.
    """
    count = 0

    def counted() -> bytes | bytearray | memoryview:
        nonlocal count
        chunk = next_chunk()
        count += len(chunk)
        if on_input is not None and chunk:
            on_input(count)
        return chunk

    head = counted()
    while 0 < len(head) < 8:  # tiny first chunks (tests feed byte by byte): enough to tell the format
        more = counted()
        if not more:
            break
        head = bytes(head) + bytes(more)
    kind = detect_compression(head)
    if kind in ("bzip2", "xz"):
        raise InvalidArgument(f"unpack layer: {kind} compressed layers are not supported")

    def rest() -> Iterator[bytes | bytearray | memoryview]:
        if head:
            yield head
            yield from _iterate(counted)

    if kind == "gzip":
        return gunzip_chunks(rest()), kind
    if kind == "zstd":
        return _unzstd_chunks(rest()), kind
    return rest(), kind


def gunzip_chunks(chunks: Iterator[bytes | bytearray | memoryview]) -> Iterator[bytes]:
    """Inflate a gzip stream — all its members, zero padding after the last — in chunks of at most :data:`CHUNK`.

    Damage (a bad header or checksum, a truncated stream, garbage after it) is :class:`CorruptContent`.
    """
    try:
        from isal import isal_zlib as zlib_impl
    except ImportError:  # pragma: no cover - isal is a dependency
        import zlib as zlib_impl  # type: ignore[no-redef]

    bad = cast("type[Exception]", zlib_impl.error)
    inflater = zlib_impl.decompressobj(31)
    try:
        for chunk in chunks:
            data: bytes | bytearray | memoryview = chunk
            while data:
                if inflater.eof:  # another gzip member follows (or padding)
                    if not bytes(data).strip(b"\0"):
                        break
                    inflater = zlib_impl.decompressobj(31)
                out = inflater.decompress(data, CHUNK)
                if out:
                    yield out
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
        # what the inflater still holds back once the input is done
        while not inflater.eof:
            out = inflater.decompress(b"", CHUNK)
            if not out:
                break
            yield out
    except bad as exc:
        raise CorruptContent(f"unpack layer: damaged compressed data: {exc}") from exc
    if not inflater.eof:
        raise CorruptContent("unpack layer: damaged compressed data: unexpected end of the gzip stream")


class _ChunkFile:
    """``read(n)`` over an iterator of chunks (what zstandard's stream reader pulls from)."""

    def __init__(self, chunks: Iterator[bytes | bytearray | memoryview]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return b""
            self._pending = memoryview(chunk)
        n = len(self._pending) if size is None or size < 0 else size
        out = self._pending[:n].tobytes()
        self._pending = self._pending[n:]
        return out


def _unzstd_chunks(chunks: Iterator[bytes | bytearray | memoryview]) -> Iterator[bytes]:
    import zstandard

    source = cast("IO[bytes]", _ChunkFile(chunks))
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=CHUNK, read_across_frames=True)
    try:
        while out := reader.read(CHUNK):
            yield out
    except zstandard.ZstdError as exc:
        raise CorruptContent(f"unpack layer: damaged compressed data: {exc}") from exc


class ChunkReader:
    """A forward-only file over the chunks of a tar stream, hashing every byte (the diff ID).

    ``tarfile.TarFile(fileobj=reader, mode="r")`` reads headers through :meth:`read` and skips with :meth:`seek`;
    file contents go to disk with :meth:`copy_to`.
    """

    mode = "rb"

    def __init__(self, chunks: Iterator[bytes | bytearray | memoryview], *, hashing: bool = True) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")
        self._pos = 0
        self._offset = 0  # stream position of self._view[self._pos]
        self._hash = hashlib.sha256() if hashing else None
        self._eof = False

    @property
    def diff_id(self) -> Digest:
        """The sha256 of every byte taken from the chunks so far (all of them after :meth:`drain`)."""
        if self._hash is None:
            raise ValueError("ChunkReader: not hashing")
        return Digest("sha256", self._hash.hexdigest())

    def _fill(self) -> bool:
        """Make the next chunk current; False at the end of the stream."""
        while not self._eof:
            chunk = next(self._chunks, b"")
            if not chunk:
                self._eof = True
                break
            if self._hash is not None:
                self._hash.update(chunk)
            self._view = memoryview(chunk).cast("B")
            self._pos = 0
            return True
        self._view = memoryview(b"")
        self._pos = 0
        return False

    def tell(self) -> int:
        return self._offset

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise ValueError("ChunkReader.read needs a size")
        available = len(self._view) - self._pos
        if size <= available:  # the common case: a header inside the current chunk
            out = self._view[self._pos : self._pos + size].tobytes()
            self._pos += size
            self._offset += size
            return out
        parts: list[bytes] = []
        wanted = size
        while wanted:
            available = len(self._view) - self._pos
            if not available:
                if not self._fill():
                    break
                continue
            n = min(available, wanted)
            parts.append(self._view[self._pos : self._pos + n].tobytes())
            self._pos += n
            self._offset += n
            wanted -= n
        return b"".join(parts)

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            pos += self._offset
        elif whence != os.SEEK_SET:
            raise OSError("ChunkReader: only forward seeks")
        if pos < self._offset:
            raise OSError(f"ChunkReader: cannot seek back from {self._offset} to {pos}")
        self.skip(pos - self._offset)
        return self._offset

    def skip(self, size: int) -> int:
        """Pass over ``size`` bytes (hashed all the same); returns how many there were."""
        done = 0
        while done < size:
            available = len(self._view) - self._pos
            if not available:
                if not self._fill():
                    break
                continue
            n = min(available, size - done)
            self._pos += n
            self._offset += n
            done += n
        return done

    def copy_to(self, fd: int, size: int, offset: int = 0) -> None:
        """Write the next ``size`` bytes to ``fd`` (whose position is ``offset``), straight from the chunks.

        The pages of a big file start going to disk as it is written (:func:`start_writeback`).
        """
        remaining = size
        flushed = written = 0
        while remaining:
            available = len(self._view) - self._pos
            if not available:
                if not self._fill():
                    raise CorruptContent("unpack layer: damaged archive: unexpected end of data")
                continue
            n = min(available, remaining)
            view = self._view[self._pos : self._pos + n]
            while view:
                view = view[os.write(fd, view) :]
            self._pos += n
            self._offset += n
            remaining -= n
            written += n
            if written - flushed >= WRITEBACK_STEP:
                start_writeback(fd, offset + flushed, written - flushed)
                flushed = written
        if flushed or written >= CHUNK:
            start_writeback(fd, offset + flushed, written - flushed)

    def drain(self) -> None:
        """Read (and hash) whatever follows: the diff ID is the digest of the whole stream."""
        self._offset += len(self._view) - self._pos
        self._pos = len(self._view)
        while self._fill():
            self._offset += len(self._view)
            self._pos = len(self._view)


_FIELDS = struct.Struct("100s8s8s8s12s12s8sc100s8x32s32s8s8s155s12x")
_EMPTY_BLOCK = bytes(tarfile.BLOCKSIZE)
_InvalidHeaderError: type[Exception] = tarfile.InvalidHeaderError  # type: ignore[attr-defined]
_EOFHeaderError: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


def _number(field: bytes) -> int:
    """``tarfile.nti``: an octal number field (base-256 ones are left to tarfile)."""
    if field[:1] in (b"\x80", b"\xff"):
        return int(tarfile.nti(field))  # type: ignore[attr-defined]
    end = field.find(b"\0")
    digits = (field if end < 0 else field[:end]) or b"0"
    try:
        return int(digits, 8)
    except ValueError:  # tarfile's exact rules for the rest: ASCII, str.strip()
        pass
    try:
        return int(digits.decode("ascii").strip() or "0", 8)
    except ValueError:
        raise _InvalidHeaderError("invalid header") from None


class FastTarInfo(tarfile.TarInfo):
    """``tarfile.TarInfo`` with a header parser three times as fast (one ``struct`` unpack, the checksum summed
    in C): the same fields, the same errors, in the same order; old GNU sparse headers are left to tarfile."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        if len(buf) != tarfile.BLOCKSIZE or buf[156:157] == tarfile.GNUTYPE_SPARSE:
            return super().frombuf(buf, encoding, errors)
        if buf == _EMPTY_BLOCK:
            raise _EOFHeaderError("end of file header")
        fields = _FIELDS.unpack(buf)
        chksum = _number(fields[6])
        if chksum != 256 + sum(buf) - sum(buf[148:156]) and chksum not in tarfile.calc_chksums(buf):  # type: ignore[attr-defined]
            raise _InvalidHeaderError("bad checksum")
        nts = tarfile.nts  # type: ignore[attr-defined]
        obj = cls()
        obj.name = nts(fields[0], encoding, errors)
        obj.mode = _number(fields[1])
        obj.uid = _number(fields[2])
        obj.gid = _number(fields[3])
        obj.size = _number(fields[4])
        obj.mtime = _number(fields[5])
        obj.chksum = chksum
        obj.type = fields[7]
        obj.linkname = nts(fields[8], encoding, errors)
        obj.uname = nts(fields[9], encoding, errors)
        obj.gname = nts(fields[10], encoding, errors)
        obj.devmajor = _number(fields[11])
        obj.devminor = _number(fields[12])
        prefix = nts(fields[13], encoding, errors)
        if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):  # a V7 directory
            obj.type = tarfile.DIRTYPE
        if obj.isdir():
            obj.name = obj.name.rstrip("/")
        if prefix and obj.type not in tarfile.GNU_TYPES:  # a ustar long name
            obj.name = prefix + "/" + obj.name
        return obj
