"""Layer streams in chunks: decompression of every supported kind, the chunk reader tarfile reads through, writeback."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Iterator

import pytest
import zstandard

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.store.layerstream import (
    CHUNK,
    ChunkReader,
    gunzip_chunks,
    plain_chunks,
    start_writeback,
)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for off in range(0, len(data), size):
        yield data[off : off + size]


def feeder(data: bytes, size: int):  # type: ignore[no-untyped-def]
    it = pieces(data, size)
    return lambda: next(it, b"")


def plain(data: bytes, size: int = 1000) -> tuple[bytes, str]:
    chunks, kind = plain_chunks(feeder(data, size))
    return b"".join(bytes(c) for c in chunks), kind


def test_gzip_zstd_and_plain_streams_come_out_as_the_tar() -> None:
    a, b = os.urandom(50_000), b"text " * 20_000
    assert plain(gzip.compress(a)) == (a, "gzip")
    assert plain(gzip.compress(a) + gzip.compress(b) + b"\0" * 512) == (a + b, "gzip")  # members and padding
    zst = zstandard.ZstdCompressor()
    assert plain(zst.compress(a) + zst.compress(b)) == (a + b, "zstd")  # frames
    assert plain(a) == (a, "")
    assert plain(b"") == (b"", "")


def test_first_chunks_smaller_than_the_magic_are_gathered() -> None:
    data = b"hello " * 1000
    assert plain(gzip.compress(data), size=1) == (data, "gzip")
    assert plain(data[:5], size=1) == (data[:5], "")


def test_compressed_bytes_read_are_reported() -> None:
    blob = gzip.compress(os.urandom(30_000))
    seen: list[int] = []
    chunks, _ = plain_chunks(feeder(blob, 4096), on_input=seen.append)
    for _ in chunks:
        pass
    assert seen[-1] == len(blob)
    assert seen == sorted(seen)


def test_bzip2_and_xz_are_refused() -> None:
    for head in (b"BZh91AY&SY", b"\xfd7zXZ\x00\x00"):
        with pytest.raises(InvalidArgument, match="not supported"):
            plain_chunks(feeder(head + b"\0" * 100, 100))


def test_inflated_chunks_are_bounded_even_for_a_compression_bomb() -> None:
    bomb = gzip.compress(b"\0" * (20 * CHUNK), 9)
    sizes = [len(c) for c in gunzip_chunks(pieces(bomb, 1 << 20))]
    assert sum(sizes) == 20 * CHUNK
    assert max(sizes) <= CHUNK


@pytest.mark.parametrize(
    "damage",
    [
        lambda good: good[: len(good) // 2],  # truncated
        lambda good: good[:20] + b"\xff" * 500 + good[520:],  # corrupted
        lambda good: good + b"garbage after the stream",
        lambda good: b"\x1f\x8b" + b"not really gzip" * 10,
    ],
    ids=["truncated", "corrupted", "trailing-garbage", "bad-header"],
)
def test_damaged_gzip_is_corrupt_content(damage) -> None:  # type: ignore[no-untyped-def]
    bad = damage(gzip.compress(os.urandom(20_000)))
    with pytest.raises(CorruptContent, match="damaged compressed data"):
        plain(bad, 777)


def test_damaged_zstd_is_corrupt_content() -> None:
    good = zstandard.ZstdCompressor(write_checksum=True).compress(os.urandom(20_000))
    with pytest.raises(CorruptContent, match="damaged compressed data"):
        plain(good[:40] + b"\xff" * 100 + good[140:])


def test_the_reader_serves_reads_and_copies_across_chunks_and_hashes_everything() -> None:
    data = os.urandom(10_000)
    reader = ChunkReader(pieces(data, 333))
    assert reader.read(10) == data[:10]
    assert reader.read(1000) == data[10:1010]  # spans several chunks
    assert reader.tell() == 1010
    assert reader.seek(2000) == 2000
    with pytest.raises(OSError, match="seek back"):
        reader.seek(100)
    with tempfile.TemporaryFile() as f:
        reader.copy_to(f.fileno(), 5000)
        f.seek(0)
        assert f.read() == data[2000:7000]
    assert reader.tell() == 7000
    reader.drain()
    assert reader.tell() == len(data)
    assert reader.read(10) == b""
    assert reader.diff_id.hex == hashlib.sha256(data).hexdigest()


def test_copying_past_the_end_is_corrupt_content() -> None:
    reader = ChunkReader(pieces(b"x" * 100, 30))
    with tempfile.TemporaryFile() as f, pytest.raises(CorruptContent, match="unexpected end of data"):
        reader.copy_to(f.fileno(), 101)


def test_big_copies_start_writeback_and_land_intact() -> None:
    data = os.urandom(3 * CHUNK + 123)
    reader = ChunkReader(pieces(data, CHUNK))
    with tempfile.TemporaryFile(dir=os.getcwd()) as f:
        reader.copy_to(f.fileno(), len(data))
        f.seek(0)
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    start_writeback(-1, 0, 10)  # a bad descriptor is not worth an error: the final flush is what counts
