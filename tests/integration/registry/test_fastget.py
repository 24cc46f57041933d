"""Blob bodies read straight from the socket: the same request as httpx would send, httpx whenever it is needed."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from dockyard.oci.digest import Digest
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.fastget import BLOB_CHUNK, answers_tls_in_plain_http, direct_route, open_blob
from dockyard.registry.transport import DEFAULT_TIMEOUT, RetryPolicy
from dockyard.store.content import LocalContentStore

from .servers import PASSWORD, USER, Blob, Distribution, FaultyRegistry, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def blob_gets(server: FaultyRegistry) -> list[dict[str, str]]:
    return [headers for method, path, headers in server.requests if method == "GET" and "/blobs/" in path]


def fetch(c: RegistryClient, store: LocalContentStore, data: bytes) -> Digest:
    digest = Digest.of(data)
    with store.writer(ref=str(digest), expected=digest, expected_size=len(data)) as writer:
        return c.fetch_blob(digest, writer, size=len(data))


def test_a_blob_comes_in_megabyte_pieces_with_httpxs_headers(faulty: FaultyRegistry) -> None:
    data = os.urandom(3 * BLOB_CHUNK + 5)
    digest = faulty.add(Blob(data))
    with RegistryClient(faulty.host, "fast/repo", tls_verify=False) as c:
        response = c.open_blob(f"blobs/{digest}", {"Accept-Encoding": "identity", "Range": "bytes=0-"})
        assert response is not None
        try:
            assert response.status_code == 206
            pieces = list(response.iter_bytes())
        finally:
            response.close()
    assert b"".join(pieces) == data
    assert all(len(p) >= BLOB_CHUNK for p in pieces[:-1])
    sent = blob_gets(faulty)[-1]
    assert sent["Range"] == "bytes=0-"  # header names as httpx sends them
    assert sent["User-Agent"].startswith("dockyard/")
    assert sent["Accept-Encoding"] == "identity"


def test_anything_but_a_200_or_206_is_left_to_httpx(faulty: FaultyRegistry, store: LocalContentStore) -> None:
    data = os.urandom(100_000)
    digest = faulty.add(Blob(data, fail_status=401, fails_left=1))
    with RegistryClient(faulty.host, "fast/repo", tls_verify=False, retry=FAST) as c:
        assert fetch(c, store, data) == Digest.parse(digest)
    assert len(blob_gets(faulty)) == 2  # the direct attempt saw the 401, httpx made the request again
    assert store.read(Digest.parse(digest), verify=True) == data


def test_a_cut_hands_out_what_arrived_and_the_download_resumes_from_there(
    faulty: FaultyRegistry, store: LocalContentStore
) -> None:
    data = os.urandom(3 * BLOB_CHUNK)
    cut = BLOB_CHUNK + BLOB_CHUNK // 2
    digest = faulty.add(Blob(data, cut_after=cut, cuts_left=1))
    with RegistryClient(faulty.host, "fast/repo", tls_verify=False, retry=FAST) as c:
        assert fetch(c, store, data) == Digest.parse(digest)
    ranges = [h.get("Range") for h in blob_gets(faulty)]
    assert ranges == [None, f"bytes={cut}-"]


class _Redirecting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        """``/v2/`` answered here, blobs redirected to the registry (as to a CDN)."""
        if "/blobs/" in self.path:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def redirector(faulty: FaultyRegistry) -> Iterator[str]:
    handler = type("Handler", (_Redirecting,), {"target": f"http://{faulty.host}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_redirect_is_followed_by_httpx(faulty: FaultyRegistry, redirector: str, store: LocalContentStore) -> None:
    data = os.urandom(50_000)
    faulty.add(Blob(data))
    request = httpx.Request("GET", f"http://{redirector}/v2/fast/repo/blobs/{Digest.of(data)}")
    assert open_blob(request, None, DEFAULT_TIMEOUT) is None
    with RegistryClient(redirector, "fast/repo", tls_verify=False, retry=FAST) as c:
        assert fetch(c, store, data) == Digest.of(data)


def test_nothing_listening_is_left_to_httpx() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    request = httpx.Request("GET", f"http://127.0.0.1:{port}/v2/x/blobs/sha256:{'0' * 64}")
    assert open_blob(request, None, DEFAULT_TIMEOUT) is None


def test_the_cached_token_is_used_but_never_fetched(token_registry: Distribution) -> None:
    repo = f"dockyard-test/fast-{os.getpid()}-{os.urandom(3).hex()}"
    data = os.urandom(10_000)
    digest = Digest.of(data)
    creds = AuthConfig(username=USER, password=PASSWORD)
    with RegistryClient(token_registry.host, repo, credentials=creds, push=True, retry=FAST) as c:
        c.upload_blob(digest, data)
    with RegistryClient(token_registry.host, repo, credentials=creds, retry=FAST) as c:
        assert c.open_blob(f"blobs/{digest}", {}) is None  # no token yet: that takes httpx's auth flow
        assert c.read_blob(digest) == data  # ... which fetches it
        response = c.open_blob(f"blobs/{digest}", {})
        assert response is not None
        try:
            assert b"".join(response.iter_bytes()) == data
        finally:
            response.close()


def test_proxies_and_test_transports_keep_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert direct_route("127.0.0.1:5000")
    assert direct_route("localhost:5000")
    assert not direct_route("registry.example.com")
    monkeypatch.setenv("no_proxy", "registry.example.com")
    assert direct_route("registry.example.com")
    mock = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x"))
    with RegistryClient("registry.example.com", "r", transport=mock, tls_verify=True) as c:
        assert c.open_blob(f"blobs/sha256:{'0' * 64}", {}) is None


def test_tls_with_the_ca_and_client_certificate_of_certs_d(tmp_path: Path, store: LocalContentStore) -> None:
    """The direct connection uses the endpoint's TLS context: verified with the CA from certs.d, and the client
    certificate a registry may require."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("none", tls=True, require_client_cert=True) as registry:
        tf = registry.tls_files
        assert tf is not None
        host_dir = tmp_path / "certs.d" / registry.host
        host_dir.mkdir(parents=True)
        for source, name in ((tf.ca, "ca.crt"), (tf.client_cert, "client.cert"), (tf.client_key, "client.key")):
            shutil.copy(source, host_dir / name)
        data = os.urandom(BLOB_CHUNK + 1000)
        digest = Digest.of(data)
        certs = tmp_path / "certs.d"
        with RegistryClient(registry.host, "tls/fast", tls_verify=True, certs_dir=certs, push=True, retry=FAST) as c:
            c.upload_blob(digest, data)
        with RegistryClient(registry.host, "tls/fast", tls_verify=True, certs_dir=certs, retry=FAST) as c:
            assert c.endpoint.secure
            response = c.open_blob(f"blobs/{digest}", {})
            assert response is not None  # not left to httpx
            response.close()
            assert fetch(c, store, data) == digest
        assert store.read(digest, verify=True) == data
        # an unverifiable certificate: no direct connection (httpx then reports the failure in Docker's words)
        request = httpx.Request("GET", f"https://{registry.host}/v2/tls/fast/blobs/{digest}")
        assert open_blob(request, ssl.create_default_context(), DEFAULT_TIMEOUT) is None


def test_a_plain_http_registry_is_told_from_a_tls_one_without_building_an_https_client(
    faulty: FaultyRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert answers_tls_in_plain_http(faulty.host, 5)
    opened: list[str] = []
    with RegistryClient(faulty.host, "fast/repo", retry=FAST) as c:
        real = c._open
        monkeypatch.setattr(c, "_open", lambda endpoint: opened.append(endpoint.scheme) or real(endpoint))
        assert c.endpoint.scheme == "http"  # https first, as Docker, found to be plain HTTP by a bare handshake
    assert opened == ["http"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = f"127.0.0.1:{s.getsockname()[1]}"
    assert not answers_tls_in_plain_http(free, 5)  # nothing listening: not for the probe to decide


def test_a_tls_registry_on_loopback_is_not_mistaken_for_plain_http(tmp_path: Path) -> None:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("none", tls=True) as registry:
        assert not answers_tls_in_plain_http(registry.host, 5)
        with RegistryClient(registry.host, "tls/probe", certs_dir=tmp_path, retry=FAST) as c:
            assert c.endpoint.scheme == "https" and not c.endpoint.tls_verify
