"""ImagePusher against an in-memory registry: Docker's lines, skipping and mounting blobs, uploads, the manifest."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.cli.progress import ProgressPrinter
from dockyard.errors import FailedPrecondition, Unavailable
from dockyard.oci.digest import Digest
from dockyard.oci.image import ImageConfig
from dockyard.oci.reference import Reference, parse_reference
from dockyard.registry.client import RegistryClient
from dockyard.registry.progress import LayerProgress, ProgressEvent, PushAux
from dockyard.registry.push import ImagePusher, PushResult
from dockyard.registry.sources import BlobSources
from dockyard.registry.transport import RetryPolicy
from dockyard.settings import Layout
from dockyard.store import ImageRecord, Store
from dockyard.store.commit import ingest_layer_stream, write_image
from tests.support.tarballs import make_tar

from .fakeregistry import FakeRegistry, sha

HOST = "reg.example.com"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(Layout(tmp_path / "root"))
    yield s
    s.db.close()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


def lines(events: list[ProgressEvent]) -> list[str]:
    out = io.StringIO()
    printer = ProgressPrinter(out, terminal=False)
    for event in events:
        printer(event)
    return out.getvalue().splitlines()


def local_image(store: Store, layers: list[dict[str, bytes]], tag: str) -> ImageRecord:
    """An image as a build makes it: gzip blobs from tars, a generated schema2 manifest."""
    with store.lease() as lease:
        blobs = []
        parent = None
        for files in layers:
            tar = make_tar([(name, "file", data) for name, data in files.items()])
            blob = ingest_layer_stream(store, lease, io.BytesIO(tar), parent)
            blobs.append(blob)
            parent = blob.layer.chain_id
        config = ImageConfig(diff_ids=tuple(b.diff_id for b in blobs), created="2024-01-01T00:00:00Z").to_json()
        record, _ = write_image(store, lease, config, blobs, tags=[parse_reference(tag).with_default_tag()])
    return record


def push(
    store: Store,
    registry: FakeRegistry,
    ref: str,
    record: ImageRecord,
    events: list[ProgressEvent] | None = None,
    **options: int,
) -> PushResult:
    reference = parse_reference(f"{HOST}/{ref}").with_default_tag()
    sink = events.append if events is not None else (lambda e: None)
    with RegistryClient(
        HOST,
        reference.path,
        transport=httpx.MockTransport(registry),
        retry=RetryPolicy(2, 0, 0),
        push=True,
        tls_verify=True,
    ) as client:
        pusher = ImagePusher(store, client, sink, sources=BlobSources(store.db), **options)
        return pusher.push(reference, record)


def diff_short(store: Store, record: ImageRecord) -> list[str]:
    """Layer IDs as docker push shows them: diff IDs, top layer first."""
    return [layer.diff_id.short for layer in store.layers.chain(record.top_layer)]


def test_push_prints_docker_lines_and_sends_the_stored_manifest(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"base": b"b" * 3000}, {"app": os.urandom(100_000)}], "friendlyhello")
    events: list[ProgressEvent] = []
    result = push(store, registry, "pango/get-started:part2", record, events)
    manifest = store.content.read(record.manifest_digest)
    top, base = diff_short(store, record)
    assert str(result.digest) == sha(manifest) == str(record.manifest_digest)
    assert lines(events) == [
        f"{top}: Preparing",
        f"{base}: Preparing",
        *[line for line in lines(events)[2:4]],
        f"part2: digest: {result.digest} size: {len(manifest)}",
    ]
    assert sorted(lines(events)[2:4]) == sorted([f"{top}: Pushed", f"{base}: Pushed"])
    assert events[-1] == PushAux("part2", str(result.digest), len(manifest))
    pushing = [e for e in events if isinstance(e, LayerProgress) and e.status == "Pushing"]
    assert pushing and pushing[-1].current == pushing[-1].total
    assert registry.manifests[("pango/get-started", "part2")] == (manifest, record.manifest_media_type)
    again = store.images.get(record.id)
    assert again is not None
    assert [str(d) for d in again.digests] == [f"{HOST}/pango/get-started@{result.digest}"]
    sources = BlobSources(store.db)
    assert all(
        sources.repositories(HOST, d) == ["pango/get-started"]
        for d in store.images.blobs(record.id)
        if d != record.manifest_digest
    )


def test_blobs_the_registry_has_are_not_sent_again(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"a": os.urandom(50_000)}], "x")
    push(store, registry, "r/x:v1", record)
    registry.log.clear()
    events: list[ProgressEvent] = []
    push(store, registry, "r/x:v2", record, events)
    assert lines(events)[1] == f"{diff_short(store, record)[0]}: Layer already exists"
    assert not [entry for entry in registry.log if entry.startswith(("POST", "PATCH"))]
    assert [entry for entry in registry.log if entry.startswith("HEAD")]


def test_a_blob_known_in_another_repository_is_mounted(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"a": os.urandom(50_000)}], "x")
    push(store, registry, "library/busybox:latest", record)
    registry.log.clear()
    events: list[ProgressEvent] = []
    push(store, registry, "pango/get-started:part2", record, events)
    assert lines(events)[1] == f"{diff_short(store, record)[0]}: Mounted from library/busybox"
    posts = [entry for entry in registry.log if entry.startswith("POST")]
    assert posts and all("from=library%2Fbusybox" in entry or "from=library/busybox" in entry for entry in posts)
    assert not [entry for entry in registry.log if entry.startswith(("PATCH", "PUT /v2/pango/get-started/blobs"))]


def test_a_source_that_cannot_mount_is_forgotten_and_the_blob_uploaded(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"a": os.urandom(50_000)}], "x")
    layer = store.images.blobs(record.id)
    sources = BlobSources(store.db)
    for digest in layer:
        sources.add(HOST, "gone/repo", [digest])
    events: list[ProgressEvent] = []
    push(store, registry, "r/x", record, events)
    assert f"{diff_short(store, record)[0]}: Pushed" in lines(events)
    assert all(sources.repositories(HOST, d) == ["r/x"] for d in layer if d != record.manifest_digest)


def test_large_blobs_go_in_chunks(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"big": os.urandom(300_000)}], "x")
    push(store, registry, "r/x", record, chunk_threshold=100_000, chunk_size=128 << 10)
    patches = [entry for entry in registry.log if entry.startswith("PATCH")]
    assert len(patches) == 3  # 300 kB of random data in 128 kB chunks
    assert ("r/x", "latest") in registry.manifests


def test_uploads_beyond_the_parallel_limit_wait(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{f"f{i}": os.urandom(1000)} for i in range(4)], "x")
    events: list[ProgressEvent] = []
    push(store, registry, "r/x", record, events, concurrency=2)
    ids = diff_short(store, record)
    assert [line for line in lines(events) if line.endswith("Waiting")] == [f"{i}: Waiting" for i in ids[2:]]


def test_a_missing_local_blob_is_reported(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"a": b"1"}], "x")
    layer = store.layers.chain(record.top_layer)[0]
    manifest_blobs = [d for d in store.images.blobs(record.id) if d not in (record.id, record.manifest_digest)]
    store.content.delete(manifest_blobs[0])
    with pytest.raises(FailedPrecondition, match="is missing from the local store"):
        push(store, registry, "r/x", record)
    assert layer.path.is_dir()


def test_a_failing_registry_stops_the_push_before_the_manifest(store: Store, registry: FakeRegistry) -> None:
    record = local_image(store, [{"a": os.urandom(10_000)}, {"b": os.urandom(10_000)}], "x")
    registry.fail[("PUT", "/blobs/uploads/")] = 503
    with pytest.raises(Unavailable):
        push(store, registry, "r/x", record)
    assert ("r/x", "latest") not in registry.manifests
    current = store.images.get(record.id)
    assert current is not None and not current.digests


def test_the_pushed_digest_is_what_a_pull_finds(store: Store, registry: FakeRegistry) -> None:
    from dockyard.registry.pull import ImagePuller

    record = local_image(store, [{"a": os.urandom(10_000)}], "x")
    result = push(store, registry, "r/x:v1", record)
    reference: Reference = parse_reference(f"{HOST}/r/x:v1")
    with RegistryClient(HOST, "r/x", transport=httpx.MockTransport(registry), tls_verify=True) as client:
        puller = ImagePuller(store, client, lambda e: None)
        pulled = puller.pull(puller.resolve(reference))
    assert pulled.image.id == record.id and pulled.digest == result.digest and pulled.updated  # a new tag
    assert Digest.parse(sha(registry.manifests[("r/x", "v1")][0])) == result.digest
