"""The streaming pieces of a pull: the decompression stage, the pipe between threads, and layers that are not gzip."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zstandard

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.reference import parse_reference
from dockyard.registry.client import RegistryClient
from dockyard.registry.layerfetch import Cancelled, ChunkPipe, PipeReader, inflate
from dockyard.registry.pull import ImagePuller
from dockyard.settings import Layout
from dockyard.store import Store
from tests.support.tarballs import make_tar

from .fakeregistry import FakeRegistry, make_image, publish, sha


def run_inflate(data: bytes, piece: int = 1000) -> bytes:
    cancel = threading.Event()
    source, sink = ChunkPipe(cancel), ChunkPipe(cancel)

    def feed() -> None:
        for off in range(0, len(data), piece):
            source.put(data[off : off + piece])
        source.finish()

    threads = [threading.Thread(target=feed), threading.Thread(target=inflate, args=(source, sink))]
    for t in threads:
        t.start()
    try:
        return PipeReader(sink).read()
    finally:
        source.abandon()
        for t in threads:
            t.join(10)


def test_gzip_is_inflated_across_members_and_padding() -> None:
    a, b = os.urandom(50_000), b"text " * 20_000
    assert run_inflate(gzip.compress(a)) == a
    assert run_inflate(gzip.compress(a) + gzip.compress(b)) == a + b
    assert run_inflate(gzip.compress(b) + b"\0" * 1024, piece=7) == b


def test_zstd_is_inflated_too_and_plain_tars_pass_through() -> None:
    tar = make_tar([("a", "file", b"x" * 3000)])
    assert run_inflate(tar) == tar
    zst = zstandard.ZstdCompressor()
    assert run_inflate(zst.compress(tar) + zst.compress(tar)) == tar + tar
    assert run_inflate(b"") == b""


def test_the_inflating_thread_hashes_the_tar_and_refuses_other_compressions() -> None:
    tar = make_tar([("a", "file", os.urandom(5000))])
    cancel = threading.Event()
    source, sink = ChunkPipe(cancel), ChunkPipe(cancel)
    source.put(gzip.compress(tar))
    source.finish()
    digest: list[Digest] = []
    inflate(source, sink, digest)
    assert PipeReader(sink).read() == tar
    assert digest == [Digest.of(tar)]
    with pytest.raises(InvalidArgument, match="bzip2 compressed layers are not supported"):
        run_inflate(b"BZh91AY&SY" + b"\0" * 100)


def test_damaged_gzip_is_corrupt_content() -> None:
    good = gzip.compress(os.urandom(20_000))
    with pytest.raises(CorruptContent, match="unexpected end of the gzip stream"):
        run_inflate(good[: len(good) // 2])
    with pytest.raises(CorruptContent, match="damaged compressed data"):
        run_inflate(good[:20] + b"\xff" * 500 + good[520:])
    with pytest.raises(CorruptContent, match="damaged compressed data"):
        run_inflate(good + b"garbage after the stream")


def test_the_pipe_carries_errors_and_cancellation() -> None:
    cancel = threading.Event()
    pipe = ChunkPipe(cancel)
    pipe.put(b"abc")
    pipe.finish(CorruptContent("bad"))
    reader = PipeReader(pipe)
    assert reader.read(3) == b"abc"
    with pytest.raises(CorruptContent, match="bad"):
        reader.read(1)
    other = ChunkPipe(cancel, maxsize=1)
    cancel.set()  # another layer failed: both ends stop
    with pytest.raises(Cancelled):
        other.put(b"x")
    with pytest.raises(Cancelled):
        PipeReader(other).read(1)
    abandoned = ChunkPipe(threading.Event(), maxsize=1)
    abandoned.abandon()  # the consumer gave up: the producer's chunks are dropped, it never blocks
    for _ in range(3):
        abandoned.put(b"x")
    abandoned.finish()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(Layout(tmp_path / "root"))
    yield s
    s.db.close()


@pytest.mark.parametrize("kind", ["zstd", "tar"])
def test_zstd_and_uncompressed_layers(store: Store, kind: str) -> None:
    registry = FakeRegistry()
    tar = make_tar([("data/file", "file", os.urandom(100_000)), ("data/small", "file", b"hello")])
    if kind == "zstd":
        blob, media = zstandard.ZstdCompressor().compress(tar), "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, media = tar, "application/vnd.oci.image.layer.v1.tar"
    image = make_image([(blob, "sha256:" + hashlib.sha256(tar).hexdigest())], oci=True)
    image.manifest = image.manifest.replace(b"application/vnd.oci.image.layer.v1.tar+gzip", media.encode())
    publish(registry, "r/x", image)
    with RegistryClient("reg.example.com", "r/x", transport=httpx.MockTransport(registry), tls_verify=True) as c:
        puller = ImagePuller(store, c, lambda e: None)
        result = puller.pull(puller.resolve(parse_reference("reg.example.com/r/x:latest")))
    layer = store.layers.chain(result.image.top_layer)[0]
    assert (layer.path / "data" / "small").read_bytes() == b"hello"
    assert store.content.read(result.image.manifest_digest) == image.manifest
    assert sha(blob) in {str(d) for d in store.images.blobs(result.image.id)}


def test_a_gzip_layer_made_of_several_members(store: Store) -> None:
    registry = FakeRegistry()
    tar = make_tar([("a", "file", os.urandom(30_000)), ("b", "file", b"b" * 30_000)])
    blob = gzip.compress(tar[:10_000]) + gzip.compress(tar[10_000:])
    publish(registry, "r/x", make_image([(blob, "sha256:" + hashlib.sha256(tar).hexdigest())]))
    with RegistryClient("reg.example.com", "r/x", transport=httpx.MockTransport(registry), tls_verify=True) as c:
        puller = ImagePuller(store, c, lambda e: None)
        result = puller.pull(puller.resolve(parse_reference("reg.example.com/r/x:latest")))
    layer = store.layers.chain(result.image.top_layer)[0]
    assert (layer.path / "b").read_bytes() == b"b" * 30_000
    assert io.BytesIO(blob).read(2) == b"\x1f\x8b"
