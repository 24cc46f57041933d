"""A registry that misbehaves on purpose, for the fault tests.

:class:`FaultyRegistry` is a tiny open registry serving ``GET/HEAD /v2/``, blobs and a few manifests; each
:class:`Blob` says how to misbehave: serve the wrong bytes, cut the connection half-way through, answer 503 a few
times; ``always_429`` rate-limits everything. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Blob", "FaultyRegistry"]


@dataclass
class Blob:
    data: bytes
    serve: bytes | None = None  # what is actually sent (wrong content)
    cut_after: int | None = None  # close the connection after this many bytes of a full response
    cuts_left: int = 0  # how many responses get cut
    fail_status: int | None = None  # answer this status ...
    fails_left: int = 0  # ... this many times
    honour_range: bool = True

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


class FaultyRegistry:
    """An open registry serving only ``GET/HEAD /v2/`` and blobs, with injected faults; records requests."""

    def __init__(self) -> None:
        self.blobs: dict[str, Blob] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}  # reference -> (body served, Docker-Content-Digest)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.always_429 = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def add(self, blob: Blob) -> str:
        self.blobs[blob.digest] = blob
        return blob.digest

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                registry.requests.append((self.command, self.path, dict(self.headers.items())))
                if registry.always_429:
                    body = json.dumps(
                        {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}]}
                    ).encode()
                    self._send(429, body, {"Retry-After": "7", "Content-Type": "application/json"})
                    return
                if self.path == "/v2/":
                    self._send(200, b"{}", {"Docker-Distribution-API-Version": "registry/2.0"})
                    return
                digest = self.path.rsplit("/", 1)[-1]
                if "/manifests/" in self.path and digest in registry.manifests:
                    body, header = registry.manifests[digest]
                    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
                    if header:
                        headers["Docker-Content-Digest"] = header
                    self._send(200, body, headers)
                    return
                blob = registry.blobs.get(digest)
                if "/blobs/" not in self.path or blob is None:
                    body = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]})
                    self._send(404, body.encode(), {"Content-Type": "application/json"})
                    return
                if blob.fails_left > 0 and blob.fail_status and blob.cuts_left == 0:  # cuts come first
                    blob.fails_left -= 1
                    self._send(blob.fail_status, b"busy")
                    return
                content = blob.serve if blob.serve is not None else blob.data
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and blob.honour_range:
                    start = int(rng[6:].split("-", 1)[0])
                    part = content[start:]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
                else:
                    part = content
                    self.send_response(200)
                self.send_header("Content-Length", str(len(part)))
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Docker-Content-Digest", blob.digest)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if blob.cut_after is not None and blob.cuts_left > 0:
                    blob.cuts_left -= 1
                    self.wfile.write(part[: blob.cut_after])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(part)

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
