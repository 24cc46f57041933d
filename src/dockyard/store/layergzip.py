"""gzip for layer blobs, the way pigz makes it: blocks compressed in parallel, and stored when they do not shrink.

The result is one ordinary gzip member (any gzip reader takes it). The tar is cut in :data:`BLOCK` pieces; each is
deflated on its own by isal at level 1 with the 32 kB before it as a preset dictionary — matches across block
boundaries are kept — and ended with a sync flush (an empty stored block that byte-aligns it), so the pieces simply
follow each other. A piece that does not shrink by at least 1/128 is written as stored deflate blocks instead: five
bytes of overhead per 64 kB, inflated at memory speed rather than Huffman-decoded — what Go's ``compress/flate`` (so
Docker) writes for random or already-compressed data. isal's own streaming compressor Huffman-codes such data at
level 1, and inflating that is three to five times slower. A final empty block, the CRC-32 and the length end the
member.

Each piece depends only on its bytes and the 32 kB before it, so the output is the same whatever the number of
threads; isal releases the GIL, so the pieces really are compressed at the same time.
"""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from dockyard.oci.digest import Digest

__all__ = ["BLOCK", "gzip_blocks"]

BLOCK = 4 << 20
_WINDOW = 32 << 10
_STORED_MAX = 65535
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0, OS unknown
_LAST = b"\x01\x00\x00\xff\xff"  # a final, empty stored block


def _stored(data: memoryview) -> bytes:
    parts: list[bytes | memoryview] = []
    for off in range(0, len(data), _STORED_MAX):
        piece = data[off : off + _STORED_MAX]
        parts.append(struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF))
        parts.append(piece)
    return b"".join(parts)


def _deflate(block: bytes, dictionary: bytes, level: int) -> bytes:
    """The block as byte-aligned, non-final deflate data."""
    from isal import isal_zlib

    if dictionary:
        c = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15, zdict=dictionary)
    else:
        c = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    out = c.compress(block) + c.flush(isal_zlib.Z_SYNC_FLUSH)
    if len(out) > len(block) - len(block) // 128:
        return _stored(memoryview(block))
    return out


def gzip_blocks(
    read: Callable[[int], bytes],
    write: Callable[[bytes], object],
    *,
    threads: int = 2,
    level: int = 1,
) -> tuple[Digest, int]:
    """Compress what ``read(n)`` returns (until it returns nothing) into ``write``; returns the sha256 and the size
    of the *uncompressed* stream (a layer's diff ID)."""
    from isal import isal_zlib

    h = hashlib.sha256()
    total = 0
    crc = 0
    write(_HEADER)
    pending: deque[Future[bytes]] = deque()
    dictionary = b""
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="gzip") as pool:
        while block := _read_full(read, BLOCK):
            h.update(block)
            crc = isal_zlib.crc32(block, crc)
            total += len(block)
            pending.append(pool.submit(_deflate, block, dictionary, level))
            dictionary = block[-_WINDOW:]
            while len(pending) > 2 * max(1, threads):
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
    write(_LAST)
    write(struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF))
    return Digest("sha256", h.hexdigest()), total


def _read_full(read: Callable[[int], bytes], size: int) -> bytes:
    first = read(size)
    if len(first) >= size or not first:
        return first
    parts = [first]
    got = len(first)
    while got < size:
        more = read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)
