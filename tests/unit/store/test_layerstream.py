"""Layer streams in chunks: decompression of every supported kind, the chunk reader tarfile reads through, writeback."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Iterator

import pytest
import zstandard

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.store.layerstream import (
    CHUNK,
    ChunkReader,
    FastTarInfo,
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


def _headers() -> list[bytes]:
    """Headers of every shape tarfile writes or reads: ustar, GNU, PAX, long names, prefixes, base-256 numbers,
    V7 directories, devices, damaged ones."""
    out: list[bytes] = []
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        for name, kind in [
            ("file", tarfile.REGTYPE),
            ("dir/", tarfile.DIRTYPE),
            ("a/" * 60 + "deep", tarfile.REGTYPE),  # a ustar prefix, a GNU long name, a PAX path
            ("link", tarfile.SYMTYPE),
            ("dev", tarfile.CHRTYPE),
            ("fifo", tarfile.FIFOTYPE),
            ("ünïcode", tarfile.REGTYPE),
        ]:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.mtime = kind, 0o4755, 1000, 1001, 1_600_000_000
            info.linkname, info.uname, info.gname = "target", "user", "group"
            info.devmajor, info.devminor = 1, 3
            try:
                block = info.tobuf(fmt, "utf-8", "surrogateescape")
            except ValueError:  # the format cannot hold it
                continue
            out.extend(block[i : i + 512] for i in range(0, len(block), 512))
    big = tarfile.TarInfo("big")
    big.size, big.uid = 10**12, 3_000_000_000  # base-256 in GNU format
    out.append(big.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")[:512])
    v7 = bytearray(tarfile.TarInfo("v7dir/").tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")[:512])
    v7[156:157] = tarfile.AREGTYPE
    v7[148:156] = b"%06o\0 " % (256 + sum(v7[:148]) + sum(v7[156:]))
    out.append(bytes(v7))
    damaged = bytearray(out[0])
    damaged[5] ^= 0xFF
    out.append(bytes(damaged))  # bad checksum
    garbage = bytearray(out[0])
    garbage[100:108] = b"zzzzzzz\0"  # not octal
    garbage[148:156] = b"%06o\0 " % (256 + sum(garbage[:148]) + sum(garbage[156:]))
    out.append(bytes(garbage))
    out.extend([bytes(512), b"", b"short"])
    return out


def _parse(cls: type[tarfile.TarInfo], buf: bytes) -> object:
    try:
        info = cls.frombuf(buf, "utf-8", "surrogateescape")
    except Exception as exc:
        return (type(exc), str(exc))
    fields = ("name", "mode", "uid", "gid", "size", "mtime", "chksum", "type", "linkname", "uname", "gname")
    return tuple(getattr(info, f) for f in (*fields, "devmajor", "devminor"))


def test_the_fast_header_parser_agrees_with_tarfile() -> None:
    headers = _headers()
    assert len(headers) > 20
    for buf in headers:
        assert _parse(FastTarInfo, buf) == _parse(tarfile.TarInfo, buf), buf[:100]


def test_a_layer_reads_the_same_with_the_fast_parser() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for i in range(50):
            info = tarfile.TarInfo(f"d{i % 5}/" + "x" * (i * 4) + f"/f{i}")
            info.size = i
            tar.addfile(info, io.BytesIO(b"y" * i))
    data = buf.getvalue()

    def members(cls: type[tarfile.TarInfo]) -> list[tuple[str, int, int]]:
        reader = ChunkReader(pieces(data, 700))
        with tarfile.TarFile(fileobj=reader, mode="r", tarinfo=cls) as tar:  # type: ignore[arg-type]
            return [(m.name, m.size, m.offset_data) for m in tar]

    assert members(FastTarInfo) == members(tarfile.TarInfo)
