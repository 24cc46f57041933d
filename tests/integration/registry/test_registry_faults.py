"""Registries that misbehave: wrong bytes, connections cut half-way, 5xx, 429. Nothing unverified gets stored."""

from __future__ import annotations

import os

import pytest

from dockyard.errors import CorruptContent, Unavailable
from dockyard.oci.digest import Digest
from dockyard.registry.client import RegistryClient
from dockyard.registry.transport import RetryPolicy
from dockyard.store.content import LocalContentStore

from .servers import Blob, FaultyRegistry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def client(server: FaultyRegistry, sleeps: list[float] | None = None, attempts: int = 4) -> RegistryClient:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return RegistryClient(
        server.host, "faulty/repo", retry=RetryPolicy(attempts, 0.01, 0.05), sleep=record, tls_verify=False
    )


def blob_requests(server: FaultyRegistry) -> list[dict[str, str]]:
    return [headers for method, path, headers in server.requests if method == "GET" and "/blobs/" in path]


def test_wrong_content_is_refused_and_nothing_stored(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(100_000)
    digest = Digest.parse(faulty.add(Blob(data, serve=os.urandom(len(data)))))
    with client(faulty) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer, pytest.raises(CorruptContent, match="digest mismatch"):
            c.fetch_blob(digest, writer, size=len(data))
    assert not store.exists(digest)
    assert list(store.ingest_dir.iterdir()) == []  # the partial ingest is gone too


def test_oversized_content_is_refused(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(10_000)
    digest = Digest.parse(faulty.add(Blob(data, serve=data + b"trailing garbage")))
    with client(faulty) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer, pytest.raises(CorruptContent):
            c.fetch_blob(digest, writer, size=len(data))
    assert not store.exists(digest)
    assert list(store.ingest_dir.iterdir()) == []


def test_connection_cut_half_way_resumes_with_range(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(2_000_000)
    half = len(data) // 2
    digest = Digest.parse(faulty.add(Blob(data, cut_after=half, cuts_left=1)))
    progress: list[int] = []
    with client(faulty) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer:
            c.fetch_blob(digest, writer, size=len(data), progress=lambda done, total: progress.append(done))
    assert store.read(digest, verify=True) == data
    ranges = [h.get("Range") for h in blob_requests(faulty)]
    assert ranges[0] is None
    assert len(ranges) == 2 and ranges[1] is not None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= half
    assert progress[-1] == len(data)


def test_registry_ignoring_range_restarts_cleanly(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(500_000)
    digest = Digest.parse(faulty.add(Blob(data, cut_after=200_000, cuts_left=1, honour_range=False)))
    with client(faulty) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer:
            c.fetch_blob(digest, writer, size=len(data))
    assert store.read(digest, verify=True) == data


def test_resume_across_attempts_from_the_ingest(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    """A download that gives up keeps its partial ingest; the next attempt (same ref) asks only for the rest."""
    data = os.urandom(1_000_000)
    blob = Blob(data, cut_after=600_000, cuts_left=1, fail_status=503, fails_left=100)
    digest = Digest.parse(faulty.add(blob))
    with client(faulty, attempts=2) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer, pytest.raises(Unavailable):
            c.fetch_blob(digest, writer, size=len(data))
    assert not store.exists(digest)
    partial = [p.stat().st_size for p in store.ingest_dir.iterdir()]
    assert len(partial) == 1 and 0 < partial[0] <= 600_000
    blob.fails_left = 0
    faulty.requests.clear()
    with client(faulty) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        assert writer.offset == partial[0]
        with writer:
            c.fetch_blob(digest, writer, size=len(data))
    assert store.read(digest, verify=True) == data
    assert [h.get("Range") for h in blob_requests(faulty)] == [f"bytes={partial[0]}-"]


def test_server_errors_are_retried(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(1000)
    digest = Digest.parse(faulty.add(Blob(data, fail_status=503, fails_left=2)))
    sleeps: list[float] = []
    with client(faulty, sleeps) as c:
        assert c.read_blob(digest) == data
    assert len(blob_requests(faulty)) == 3
    assert sleeps == [0.01, 0.02]


def test_server_errors_give_up_after_the_bound(faulty: FaultyRegistry) -> None:
    data = os.urandom(1000)
    digest = Digest.parse(faulty.add(Blob(data, fail_status=500, fails_left=100)))
    with client(faulty, attempts=3) as c, pytest.raises(Unavailable) as info:
        c.read_blob(digest)
    assert info.value.message == "received unexpected HTTP status: 500 Internal Server Error"
    assert len(blob_requests(faulty)) == 3


def test_too_many_requests_is_shown_plainly(faulty: FaultyRegistry) -> None:
    data = os.urandom(1000)
    digest = Digest.parse(faulty.add(Blob(data)))
    sleeps: list[float] = []
    with client(faulty, sleeps) as c:
        c.ping()
        faulty.always_429 = True
        with pytest.raises(Unavailable) as info:
            c.read_blob(digest)
    assert info.value.message == "toomanyrequests: You have reached your pull rate limit."
    assert info.value.hint == "the registry asks to retry after 7 seconds"
    assert len(blob_requests(faulty)) == 1 and sleeps == []


def test_unreachable_registry(store: LocalContentStore) -> None:
    from .servers import free_port

    port = free_port()
    c = RegistryClient(f"127.0.0.1:{port}", "x/y", retry=RetryPolicy(2, 0.01, 0.01))
    with c, pytest.raises(Unavailable) as info:
        c.stat_blob(Digest.of(b"x"))
    assert info.value.message == (
        f'Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )


def test_many_cuts_with_progress_in_between_still_finish(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(1_000_000)
    digest = Digest.parse(faulty.add(Blob(data, cut_after=100_000, cuts_left=7)))
    with client(faulty, attempts=3) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer:
            c.fetch_blob(digest, writer, size=len(data))
    assert store.read(digest, verify=True) == data
    assert len(blob_requests(faulty)) == 8


MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'


def test_tampered_manifest_by_digest_is_refused(faulty: FaultyRegistry) -> None:
    wanted = Digest.of(MANIFEST)
    faulty.manifests[str(wanted)] = (MANIFEST.replace(b"[]", b"[ ]"), str(wanted))
    with client(faulty) as c, pytest.raises(CorruptContent) as info:
        c.get_manifest(wanted)
    assert info.value.message == f"manifest verification failed for digest {wanted}"


def test_manifest_by_tag_must_match_the_registrys_digest(faulty: FaultyRegistry) -> None:
    faulty.manifests["v1"] = (MANIFEST, str(Digest.of(b"something else")))
    faulty.manifests["v2"] = (MANIFEST, str(Digest.of(MANIFEST)))
    faulty.manifests["v3"] = (MANIFEST, "")
    with client(faulty) as c:
        with pytest.raises(CorruptContent, match="manifest verification failed"):
            c.get_manifest("v1")
        assert c.get_manifest("v2").digest == Digest.of(MANIFEST)
        assert c.get_manifest("v3").digest == Digest.of(MANIFEST)  # no header: the digest is what we computed
