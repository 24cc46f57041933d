"""The distribution API against the reference registry: ping, uploads (monolithic, chunked, mount), downloads into
the content store, manifests with digest verification, tags — with Basic and with Bearer (token) auth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.errors import CorruptContent, NotFound, Unauthorized
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.transport import RetryPolicy
from dockyard.store.content import LocalContentStore

from .servers import PASSWORD, USER, Distribution

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CREDS = AuthConfig(username=USER, password=PASSWORD)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def client(
    registry: Distribution, repo: str, *, push: bool = False, creds: AuthConfig | None = CREDS
) -> RegistryClient:
    return RegistryClient(registry.host, repo, credentials=creds, push=push, retry=FAST)


def unique(name: str) -> str:
    return f"dockyard-test/{name}-{os.getpid()}-{os.urandom(3).hex()}"


@pytest.fixture(params=["basic", "token"])
def registry(request: pytest.FixtureRequest) -> Distribution:
    return request.getfixturevalue(f"{request.param}_registry")  # type: ignore[no-any-return]


def test_ping_reports_the_challenge(
    open_registry: Distribution, basic_registry: Distribution, token_registry: Distribution
) -> None:
    with client(open_registry, "x/y") as c:
        p = c.ping()
        assert (p.status_code, p.challenges, p.api_version) == (200, (), "registry/2.0")
        assert p.endpoint.base_url == f"http://{open_registry.host}"  # https failed, http fallback (loopback)
    with client(basic_registry, "x/y") as c:
        p = c.ping()
        assert p.status_code == 401 and [ch.scheme for ch in p.challenges] == ["basic"]
        assert p.challenges[0].realm == "basic-realm"
    with client(token_registry, "x/y") as c:
        p = c.ping()
        assert [ch.scheme for ch in p.challenges] == ["bearer"]
        assert token_registry.token_server is not None
        assert p.challenges[0].realm == token_registry.token_server.realm
        assert p.challenges[0].service == token_registry.token_server.service


def test_monolithic_upload_then_download_into_the_store(registry: Distribution, store: LocalContentStore) -> None:
    data = os.urandom(300_000)
    digest = Digest.of(data)
    repo = unique("mono")
    sent: list[tuple[int, int | None]] = []
    with client(registry, repo, push=True) as c:
        assert c.stat_blob(digest) is None
        result = c.upload_blob(digest, data, progress=lambda done, total: sent.append((done, total)))
        assert (result.digest, result.size, result.mounted) == (digest, len(data), False)
        assert c.stat_blob(digest) == len(data)
        assert c.blob_exists(digest)
    assert sent[-1] == (len(data), len(data))
    got: list[tuple[int, int | None]] = []
    with client(registry, repo) as c:
        writer = store.writer(ref=str(digest), expected=digest, expected_size=len(data))
        with writer:
            assert c.fetch_blob(digest, writer, size=len(data), progress=lambda d, t: got.append((d, t))) == digest
    assert store.read(digest, verify=True) == data
    assert got[0] == (0, len(data)) and got[-1] == (len(data), len(data))
    assert [d for d, _ in got] == sorted(d for d, _ in got)


def test_chunked_upload_from_a_file(registry: Distribution, tmp_path: Path) -> None:
    data = os.urandom(1_000_003)
    path = tmp_path / "layer"
    path.write_bytes(data)
    digest = Digest.of(data)
    repo = unique("chunked")
    with client(registry, repo, push=True) as c, open(path, "rb") as f:
        result = c.upload_blob(digest, f, chunk_size=256 * 1024)
        assert result.size == len(data)
        assert c.read_blob(digest, max_size=2 << 20) == data


def test_wrong_digest_is_refused_by_the_registry(registry: Distribution) -> None:
    with client(registry, unique("wrong"), push=True) as c, pytest.raises(Exception) as info:
        c.upload_blob(Digest.of(b"something else"), b"actual content")
    assert "digest invalid" in str(info.value)


def test_cross_repository_mount(registry: Distribution) -> None:
    data = os.urandom(50_000)
    digest = Digest.of(data)
    source, target = unique("mount-src"), unique("mount-dst")
    with client(registry, source, push=True) as c:
        c.upload_blob(digest, data)
    with client(registry, target, push=True) as c:
        assert c.stat_blob(digest) is None
        result = c.upload_blob(digest, data, mount_from=source)
        assert result.mounted
        assert c.stat_blob(digest) == len(data)
    # a mount that cannot happen falls back to uploading
    other = os.urandom(1000)
    with client(registry, unique("mount-miss"), push=True) as c:
        result = c.upload_blob(Digest.of(other), other, mount_from=unique("nowhere"))
        assert not result.mounted and c.stat_blob(Digest.of(other)) == len(other)
        assert not c.mount_blob(Digest.of(b"never uploaded"), source)


def _image(c: RegistryClient) -> tuple[bytes, Digest]:
    layer = os.urandom(2048)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    c.upload_blob(Digest.of(layer), layer)
    c.upload_blob(Digest.of(config), config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_MANIFEST,
            "config": {"mediaType": MediaType.OCI_CONFIG, "digest": str(Digest.of(config)), "size": len(config)},
            "layers": [{"mediaType": MediaType.OCI_LAYER_GZIP, "digest": str(Digest.of(layer)), "size": len(layer)}],
        },
        indent=3,
    ).encode()
    return manifest, Digest.of(manifest)


def test_manifests_and_tags(registry: Distribution) -> None:
    repo = unique("manifests")
    with client(registry, repo, push=True) as c:
        manifest, digest = _image(c)
        assert c.put_manifest(manifest, MediaType.OCI_MANIFEST, "v1") == digest
        assert c.put_manifest(manifest, MediaType.OCI_MANIFEST, "v2") == digest
        assert c.put_manifest(manifest, MediaType.OCI_MANIFEST) == digest  # by digest
    with client(registry, repo) as c:
        got = c.get_manifest("v1")
        assert (got.data, got.digest, got.media_type, got.size) == (
            manifest,
            digest,
            MediaType.OCI_MANIFEST,
            len(manifest),
        )
        assert c.get_manifest(digest).data == manifest
        head = c.head_manifest("v2")
        assert (head.digest, head.size, head.media_type) == (digest, len(manifest), MediaType.OCI_MANIFEST)
        assert sorted(c.list_tags()) == ["v1", "v2"]
        assert sorted(c.list_tags(page_size=1)) == ["v1", "v2"]
        with pytest.raises(NotFound) as info:
            c.get_manifest("nope")
        assert info.value.message == (
            f"manifest for {registry.host}/{repo}:nope not found: manifest unknown: manifest unknown"
        )
        with pytest.raises(NotFound):
            c.head_manifest("nope")
        missing = Digest.of(b"no such manifest")
        with pytest.raises(NotFound, match=f"manifest for {registry.host}/{repo}@{missing} not found"):
            c.get_manifest(missing)
    with client(registry, repo, push=True) as c:
        c.delete_manifest(digest)
        with pytest.raises(NotFound):
            c.get_manifest("v1")


def test_docker_schema2_manifest_list_accept(registry: Distribution) -> None:
    repo = unique("index")
    with client(registry, repo, push=True) as c:
        manifest, digest = _image(c)
        c.put_manifest(manifest, MediaType.OCI_MANIFEST)
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MediaType.OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": MediaType.OCI_MANIFEST,
                        "digest": str(digest),
                        "size": len(manifest),
                        "platform": {"architecture": "amd64", "os": "linux"},
                    }
                ],
            }
        ).encode()
        c.put_manifest(index, MediaType.OCI_INDEX, "multi")
        got = c.get_manifest("multi")
        assert got.media_type == MediaType.OCI_INDEX and got.digest == Digest.of(index)


def test_missing_or_wrong_credentials(basic_registry: Distribution, token_registry: Distribution) -> None:
    host = basic_registry.host
    with client(basic_registry, "x/y", creds=None) as c, pytest.raises(Unauthorized) as info:
        c.head_manifest("latest")
    assert info.value.message == f'Head "http://{host}/v2/x/y/manifests/latest": no basic auth credentials'
    with client(basic_registry, "x/y", creds=AuthConfig(username=USER, password="wrong")) as c:
        with pytest.raises(Unauthorized) as info:
            c.get_manifest("latest")
        assert info.value.message == "unauthorized: authentication required"
    thost = token_registry.host
    with client(token_registry, "x/y", creds=AuthConfig(username=USER, password="wrong")) as c:
        with pytest.raises(Unauthorized) as info:
            c.get_manifest("latest")
        assert info.value.message == (
            f'Get "http://{thost}/v2/x/y/manifests/latest": unauthorized: incorrect username or password'
        )
    # anonymous token: the token server grants nothing, so the registry refuses
    with client(token_registry, "x/y", creds=None) as c, pytest.raises(Unauthorized):
        c.get_manifest("latest")


def test_bearer_tokens_are_cached_per_scope(token_registry: Distribution) -> None:
    ts = token_registry.token_server
    assert ts is not None
    repo = unique("cache")
    data = os.urandom(100)
    with client(token_registry, repo, push=True) as c:
        before = len(ts.requests)
        c.upload_blob(Digest.of(data), data)
        c.stat_blob(Digest.of(data))
        c.read_blob(Digest.of(data))
        scopes = [q.get("scope") for _, q in ts.requests[before:]]
        assert scopes == [[f"repository:{repo}:pull,push"]], scopes


def test_identity_token_works_without_the_password(token_registry: Distribution) -> None:
    from dockyard.registry.login import verify_login

    status = verify_login(token_registry.host, CREDS)
    assert status.identity_token
    repo = unique("identity")
    data = os.urandom(1000)
    ts = token_registry.token_server
    assert ts is not None
    before = len(ts.requests)
    with client(token_registry, repo, push=True, creds=AuthConfig(identity_token=status.identity_token)) as c:
        c.upload_blob(Digest.of(data), data)
        assert c.read_blob(Digest.of(data)) == data
    methods = {m for m, _ in ts.requests[before:]}
    assert methods == {"POST"}
    form = ts.requests[before][1]
    assert form["grant_type"] == ["refresh_token"] and form["client_id"] == ["dockyard"]


def test_manifest_digest_mismatch_is_refused(registry: Distribution) -> None:
    repo = unique("verify")
    with client(registry, repo, push=True) as c:
        manifest, _digest = _image(c)
        c.put_manifest(manifest, MediaType.OCI_MANIFEST, "v1")
        with pytest.raises(CorruptContent):
            c.put_manifest(manifest, MediaType.OCI_MANIFEST, Digest.of(b"other"))


def test_docker_hub_pulls_go_through_a_mirror(open_registry: Distribution) -> None:
    from .servers import free_port

    repo = unique("mirrored").replace("dockyard-test/", "library/")
    with client(open_registry, repo, push=True) as c:
        manifest, digest = _image(c)
        c.put_manifest(manifest, MediaType.OCI_MANIFEST, "latest")
    dead = f"http://127.0.0.1:{free_port()}"
    with RegistryClient("docker.io", repo, mirrors=[dead, open_registry.url], retry=FAST) as c:
        assert c.get_manifest("latest").digest == digest
        assert c.endpoint.mirror and c.endpoint.base_url == open_registry.url


def test_one_client_serves_parallel_transfers(token_registry: Distribution, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    repo = unique("parallel")
    blobs = [os.urandom(200_000 + i) for i in range(8)]
    store = LocalContentStore(tmp_path / "blobs", tmp_path / "ingest")
    with client(token_registry, repo, push=True) as c:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda b: c.upload_blob(Digest.of(b), b), blobs))

        def fetch(data: bytes) -> Digest:
            d = Digest.of(data)
            with store.writer(ref=str(d), expected=d, expected_size=len(data)) as w:
                return c.fetch_blob(d, w, size=len(data))

        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(fetch, blobs))
    assert got == [Digest.of(b) for b in blobs]
    assert all(store.read(d, verify=True) == b for d, b in zip(got, blobs, strict=True))
