"""Crash safety: a registry killed with SIGKILL in the middle of uploads leaves no half blob visible, restarts
clean, and the chunked upload it was receiving resumes from what had arrived."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.integration.registry_server.support import (
    blob_files,
    client,
    errors,
    push_image,
    server_process,
    sha,
    unique,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _start_body(url: str, method: str, path: str, total: int, extra: str = "") -> socket.socket:
    parts = urlsplit(url)
    s = socket.create_connection((parts.hostname, parts.port))
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {total}\r\n{extra}\r\n"
    )
    s.sendall(head.encode())
    return s


def test_sigkill_mid_upload_then_restart(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    repo = unique()
    chunked = os.urandom(4_000_000)
    mono = os.urandom(3_000_000)
    with server_process(storage, "--allow-anonymous-push") as server:
        with client(server.url) as c:
            kept = push_image(c, repo, "kept", [b"committed before the crash"])
            location = c.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
        before = blob_files(storage)
        # A chunked upload and a monolithic one, both half sent when the server dies.
        patch = _start_body(server.url, "PATCH", location, len(chunked), f"Content-Range: 0-{len(chunked) - 1}\r\n")
        patch.sendall(chunked[:2_500_000])
        post = _start_body(server.url, "POST", f"/v2/{repo}/blobs/uploads/?digest={sha(mono)}", len(mono))
        post.sendall(mono[:2_000_000])
        time.sleep(0.5)  # let the server write what it received
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        patch.close()
        post.close()
    assert blob_files(storage) == before  # nothing half-written is a blob
    assert sha(chunked)[7:] not in {d.split(":")[1] for d in blob_files(storage)}
    with server_process(storage, "--allow-anonymous-push") as server, client(server.url) as c:
        assert list((storage / "tmp").iterdir()) == []
        assert c.get(f"/v2/{repo}/manifests/kept").headers["Docker-Content-Digest"] == kept
        for data in (chunked, mono):
            r = c.head(f"/v2/{repo}/blobs/{sha(data)}")
            assert r.status_code == 404
        status = c.get(location)
        assert status.status_code == 204
        have = int(status.headers["Range"].split("-")[1]) + 1
        assert 0 < have <= 2_500_000  # what reached the disk before the kill
        r = c.patch(location, content=chunked[have:], headers={"Content-Range": f"{have}-{len(chunked) - 1}"})
        assert r.status_code == 202, r.text
        assert c.put(r.headers["Location"], params={"digest": sha(chunked)}).status_code == 201
        assert c.get(f"/v2/{repo}/blobs/{sha(chunked)}").content == chunked
        # A finished session is gone; the monolithic one left a session directory that gc/expiry removes.
        assert errors(c.get(location)) == ["BLOB_UPLOAD_UNKNOWN"]


def test_a_second_server_on_the_same_storage_is_refused(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with server_process(storage) as first:
        with pytest.raises(RuntimeError, match="in use by another registry process"), server_process(storage):
            pass
        with client(first.url) as c:
            assert c.get("/v2/").status_code == 200


def test_sigterm_lets_downloads_in_flight_finish(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    repo, data = unique(), os.urandom(40 << 20)
    with server_process(storage, "--allow-anonymous-push") as server:
        with client(server.url) as c:
            location = c.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
            assert c.put(location, params={"digest": sha(data)}, content=data).status_code == 201
            received = bytearray()
            with c.stream("GET", f"/v2/{repo}/blobs/{sha(data)}") as response:
                chunks = response.iter_bytes(1 << 20)
                received += next(chunks)
                assert server.process is not None
                server.process.send_signal(signal.SIGTERM)
                time.sleep(0.3)
                for chunk in chunks:
                    received += chunk
            assert bytes(received) == data
        assert server.process is not None
        assert server.process.wait(20) == 0  # it exits by itself once the download is done
