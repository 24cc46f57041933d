"""Blob uploads and downloads against the distribution spec with plain httpx: monolithic, POST+PUT, chunked,
resume after a broken connection, status, cancel, cross-repository mount, ranges, digest checks."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from dockyard.registry.server import RegistryThread
from tests.integration.registry_server.support import blob_files, errors, push_blob, sha, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_base_endpoint(http: httpx.Client) -> None:
    r = http.get("/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert r.json() == {}


def test_monolithic_post_with_digest(http: httpx.Client) -> None:
    repo, data = unique(), os.urandom(50_000)
    digest = sha(data)
    r = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/{repo}/blobs/{digest}"
    assert r.headers["Docker-Content-Digest"] == digest
    h = http.head(f"/v2/{repo}/blobs/{digest}")
    assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(data)
    assert h.headers["Docker-Content-Digest"] == digest and h.content == b""
    g = http.get(f"/v2/{repo}/blobs/{digest}")
    assert g.status_code == 200 and g.content == data


def test_post_then_put(http: httpx.Client) -> None:
    repo, data = unique(), os.urandom(3 << 20)
    r = http.post(f"/v2/{repo}/blobs/uploads/")
    assert r.status_code == 202
    assert r.headers["Range"] == "0-0" and r.headers["Docker-Upload-UUID"]
    location = r.headers["Location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/")
    r = http.put(location, params={"digest": sha(data)}, content=data)
    assert r.status_code == 201, r.text
    assert http.get(f"/v2/{repo}/blobs/{sha(data)}").content == data  # large: sendfile path


def test_chunked_upload_with_status_and_out_of_order_chunk(http: httpx.Client) -> None:
    repo, data = unique(), os.urandom(700_000)
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    chunks = [data[:300_000], data[300_000:600_000], data[600_000:]]
    offset = 0
    for chunk in chunks:
        headers = {"Content-Range": f"{offset}-{offset + len(chunk) - 1}", "Content-Type": "application/octet-stream"}
        r = http.patch(location, content=chunk, headers=headers)
        assert r.status_code == 202, r.text
        offset += len(chunk)
        assert r.headers["Range"] == f"0-{offset - 1}"
        location = r.headers["Location"]
        if offset == 600_000:
            status = http.get(location)
            assert status.status_code == 204 and status.headers["Range"] == "0-599999"
            bad = http.patch(location, content=b"x" * 10, headers={"Content-Range": "0-9"})
            assert bad.status_code == 416 and errors(bad) == ["RANGE_INVALID"]
    r = http.put(location, params={"digest": sha(data)})
    assert r.status_code == 201
    assert http.get(f"/v2/{repo}/blobs/{sha(data)}").content == data
    assert http.get(location).status_code == 404  # the session is gone


def test_streamed_patch_without_content_range(http: httpx.Client) -> None:
    """Docker's way: one PATCH with a chunked body, then PUT ?digest= with no body."""
    repo, data = unique(), os.urandom(2_500_000)

    def body():  # type: ignore[no-untyped-def]
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    r = http.patch(location, content=body())
    assert r.status_code == 202 and r.headers["Range"] == f"0-{len(data) - 1}"
    assert http.put(r.headers["Location"], params={"digest": sha(data)}).status_code == 201


def test_resume_after_a_broken_connection(http: httpx.Client, open_registry: RegistryThread) -> None:
    repo, data = unique(), os.urandom(2_000_000)
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    # Send a PATCH announcing 2 MB, deliver 1.2 MB, then drop the connection.
    host, port = urlsplit(open_registry.url).hostname, urlsplit(open_registry.url).port
    with socket.create_connection((host, port)) as s:
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\nContent-Range: 0-{len(data) - 1}\r\n\r\n"
        )
        s.sendall(head.encode() + data[:1_200_000])
        s.shutdown(socket.SHUT_RDWR)
    for _ in range(100):
        status = http.get(location)
        have = int(status.headers["Range"].split("-")[1]) + 1
        if have == 1_200_000:
            break
        time.sleep(0.05)
    assert status.status_code == 204 and have == 1_200_000
    rest = data[have:]
    r = http.patch(location, content=rest, headers={"Content-Range": f"{have}-{len(data) - 1}"})
    assert r.status_code == 202
    assert http.put(r.headers["Location"], params={"digest": sha(data)}).status_code == 201
    assert http.get(f"/v2/{repo}/blobs/{sha(data)}").content == data


def test_wrong_digest_is_refused_and_nothing_stored(http: httpx.Client, storage: Path) -> None:
    repo, data = unique(), os.urandom(10_000)
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    before = blob_files(storage)
    r = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": wrong}, content=data)
    assert r.status_code == 400 and errors(r) == ["DIGEST_INVALID"]
    assert r.json()["errors"][0]["message"] == "provided digest did not match uploaded content"
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    r = http.put(location, params={"digest": wrong}, content=data)
    assert r.status_code == 400 and errors(r) == ["DIGEST_INVALID"]
    assert http.get(location).status_code == 404  # the failed session is cancelled
    assert blob_files(storage) == before
    assert list((storage / "uploads").iterdir()) == []
    for digest in (wrong, sha(data)):
        h = http.get(f"/v2/{repo}/blobs/{digest}")
        assert h.status_code == 404 and errors(h) == ["BLOB_UNKNOWN"]


def test_malformed_digests(http: httpx.Client) -> None:
    repo = unique()
    r = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": "sha256:xyz"}, content=b"a")
    assert r.status_code == 400 and errors(r) == ["DIGEST_INVALID"]
    assert errors(http.get(f"/v2/{repo}/blobs/md5:abc")) == ["DIGEST_INVALID"]
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    assert errors(http.put(location, content=b"a")) == ["DIGEST_INVALID"]  # no ?digest=


def test_last_chunk_with_put(http: httpx.Client) -> None:
    repo, data = unique(), os.urandom(100_000)
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    location = http.patch(location, content=data[:60_000], headers={"Content-Range": "0-59999"}).headers["Location"]
    bad = http.put(location, params={"digest": sha(data)}, content=data[60_000:], headers={"Content-Range": "0-39999"})
    assert bad.status_code == 416 and errors(bad) == ["RANGE_INVALID"]
    r = http.put(
        location, params={"digest": sha(data)}, content=data[60_000:], headers={"Content-Range": "60000-99999"}
    )
    assert r.status_code == 201
    assert http.get(f"/v2/{repo}/blobs/{sha(data)}").content == data


def test_empty_blob(http: httpx.Client) -> None:
    repo = unique()
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    assert http.put(location, params={"digest": sha(b"")}).status_code == 201
    r = http.get(f"/v2/{repo}/blobs/{sha(b'')}")
    assert r.status_code == 200 and r.content == b"" and r.headers["Docker-Content-Digest"] == sha(b"")


def test_size_mismatch_on_put(http: httpx.Client) -> None:
    repo = unique()
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    r = http.patch(location, content=b"abc", headers={"Content-Range": "0-9"})
    assert r.status_code == 416 and errors(r) == ["RANGE_INVALID"]


def test_cancel_upload(http: httpx.Client) -> None:
    repo = unique()
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    assert http.patch(location, content=b"abc").status_code == 202
    assert http.delete(location).status_code == 204
    r = http.get(location)
    assert r.status_code == 404 and errors(r) == ["BLOB_UPLOAD_UNKNOWN"]
    assert errors(http.get(f"/v2/{repo}/blobs/uploads/not-a-uuid")) == ["BLOB_UPLOAD_UNKNOWN"]


def test_upload_sessions_belong_to_their_repository(http: httpx.Client) -> None:
    location = http.post(f"/v2/{unique()}/blobs/uploads/").headers["Location"]
    uuid = location.rsplit("/", 1)[1]
    assert errors(http.get(f"/v2/{unique()}/blobs/uploads/{uuid}")) == ["BLOB_UPLOAD_UNKNOWN"]


def test_cross_repository_mount(http: httpx.Client) -> None:
    source, target, data = unique("src"), unique("dst"), os.urandom(20_000)
    digest = push_blob(http, source, data)
    assert http.head(f"/v2/{target}/blobs/{digest}").status_code == 404  # repositories see only their blobs
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": source})
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/{target}/blobs/{digest}" and r.headers["Docker-Content-Digest"] == digest
    assert http.get(f"/v2/{target}/blobs/{digest}").content == data
    # Unknown blob or source: a normal upload session instead.
    missing = sha(b"not there")
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": missing, "from": source})
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["Location"]
    r = http.post(f"/v2/{unique()}/blobs/uploads/", params={"mount": digest, "from": unique("nowhere")})
    assert r.status_code == 202


def test_ranges(http: httpx.Client) -> None:
    repo, data = unique(), os.urandom(3_000_000)
    digest = push_blob(http, repo, data)
    url = f"/v2/{repo}/blobs/{digest}"
    r = http.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = http.get(url, headers={"Range": "bytes=2999000-"})
    assert r.status_code == 206 and r.content == data[2_999_000:]
    r = http.get(url, headers={"Range": "bytes=-10"})
    assert r.content == data[-10:]
    r = http.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"


def test_delete_blob(http: httpx.Client) -> None:
    repo = unique()
    digest = push_blob(http, repo, b"delete me")
    r = http.delete(f"/v2/{repo}/blobs/{digest}")
    assert r.status_code == 202
    assert http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404
    assert errors(http.delete(f"/v2/{repo}/blobs/{digest}")) == ["BLOB_UNKNOWN"]


def test_name_invalid(http: httpx.Client) -> None:
    for name in ("UPPER/case", "a//b", "-lead", "a" * 256):
        r = http.get(f"/v2/{name}/tags/list")
        assert r.status_code == 400 and errors(r) == ["NAME_INVALID"], name


def test_many_parallel_uploads_and_downloads(http: httpx.Client, open_registry: RegistryThread) -> None:
    import concurrent.futures

    repo = unique()
    blobs = [os.urandom(200_000 + i) for i in range(24)]

    def roundtrip(data: bytes) -> bool:
        with httpx.Client(base_url=open_registry.url, timeout=60) as c:
            digest = push_blob(c, repo, data)
            return c.get(f"/v2/{repo}/blobs/{digest}").content == data

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        assert all(pool.map(roundtrip, blobs))
