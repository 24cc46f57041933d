"""Chunked uploads resume from what the registry confirms after a broken PATCH; monolithic ones start over.

A mock registry keeps distribution's upload rules (Content-Range must start where the upload stands, ``Range:
0-<last>`` in the status answer); the network breaks where the test says.
"""

from __future__ import annotations

import hashlib
import io
import os

import httpx
import pytest

from dockyard.errors import Unavailable
from dockyard.oci.digest import Digest
from dockyard.registry.client import RegistryClient
from dockyard.registry.transport import RetryPolicy


class UploadRegistry:
    def __init__(self, *, break_patch: set[int] | None = None, break_put: int = 0) -> None:
        self.received = bytearray()
        self.break_patch = break_patch or set()
        self.break_put = break_put
        self.patches = 0
        self.log: list[str] = []
        self.stored: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.log.append(f"{method} {path}")
        if path == "/v2/":
            return httpx.Response(200)
        if method == "POST" and path.endswith("/blobs/uploads/"):
            self.received = bytearray()
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u1?_state=s0", "Range": "0-0"})
        if method == "PATCH":
            self.patches += 1
            body = request.read()
            start, _, _end = request.headers["content-range"].partition("-")
            if int(start) != len(self.received):
                return httpx.Response(416)
            if self.patches in self.break_patch:
                self.received += body[: len(body) // 2]  # half of it arrived before the connection broke
                raise httpx.WriteError("Broken pipe", request=request)
            self.received += body
            return httpx.Response(202, headers={"Location": f"/v2/r/blobs/uploads/u1?_state=s{self.patches}"})
        if method == "GET" and "/blobs/uploads/" in path:
            end = max(len(self.received) - 1, 0)
            return httpx.Response(204, headers={"Range": f"0-{end}", "Location": "/v2/r/blobs/uploads/u1?_state=g"})
        if method == "PUT":
            body = request.read()
            if self.break_put:
                self.break_put -= 1
                raise httpx.ReadError("Connection reset by peer", request=request)
            data = bytes(self.received) + body
            digest = request.url.params["digest"]
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "digest invalid"}]})
            self.stored[digest] = data
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        return httpx.Response(404)


def upload_client(reg: UploadRegistry, attempts: int = 4) -> RegistryClient:
    return RegistryClient(
        "reg.example.com",
        "r",
        transport=httpx.MockTransport(reg),
        retry=RetryPolicy(attempts, 0, 0),
        push=True,
        tls_verify=True,
    )


def test_chunked_upload_resumes_after_a_broken_patch() -> None:
    data = os.urandom(1000)
    reg = UploadRegistry(break_patch={2})
    progress: list[int] = []
    with upload_client(reg) as c:
        c.upload_blob(Digest.of(data), io.BytesIO(data), chunk_size=300, progress=lambda d, t: progress.append(d))
    assert reg.stored[str(Digest.of(data))] == data
    assert "GET /v2/r/blobs/uploads/u1" in reg.log  # asked where the upload stood
    assert reg.log.count("POST /v2/r/blobs/uploads/") == 1  # and did not start over
    assert progress[-1] == 1000


def test_monolithic_upload_starts_over_after_a_failure() -> None:
    data = os.urandom(5000)
    reg = UploadRegistry(break_put=1)
    with upload_client(reg) as c:
        c.upload_blob(Digest.of(data), data)
    assert reg.stored[str(Digest.of(data))] == data
    assert reg.log.count("POST /v2/r/blobs/uploads/") == 2


def test_upload_failures_are_bounded() -> None:
    data = os.urandom(100)
    reg = UploadRegistry(break_put=100)
    with upload_client(reg, attempts=3) as c, pytest.raises(Unavailable):
        c.upload_blob(Digest.of(data), data)
    assert reg.log.count("POST /v2/r/blobs/uploads/") == 3
