"""ADD <url>: names, and downloads kept between builds (revalidated with ETag / Last-Modified)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dockyard.build.remote import RemoteCache, filename_for
from dockyard.errors import InvalidArgument, Unavailable


def test_filename_for() -> None:
    assert filename_for("https://example.com/pkg/tool-1.0.tar.gz") == "tool-1.0.tar.gz"
    assert filename_for("https://example.com/a%20b.txt?x=1") == "a b.txt"
    assert filename_for("https://example.com/") == ""
    assert filename_for("https://example.com/", 'attachment; filename="dl/data.bin"') == "data.bin"


class Origin:
    def __init__(self) -> None:
        self.body = b"version 1\n"
        self.etag = '"v1"'
        self.requests: list[dict[str, str]] = []


@pytest.fixture
def origin() -> Iterator[tuple[Origin, str]]:
    state = Origin()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(dict(self.headers))
            if self.path == "/missing":
                self.send_response(404)
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", state.etag)
            self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_download_then_not_modified_then_changed(tmp_path: Path, origin: tuple[Origin, str]) -> None:
    state, base = origin
    cache = RemoteCache(tmp_path / "remote")
    first = cache.fetch(f"{base}/files/data.txt")
    assert first.filename == "data.txt" and first.path.read_bytes() == b"version 1\n"
    assert first.mtime == 1445412480.0
    second = cache.fetch(f"{base}/files/data.txt")
    assert state.requests[-1]["If-None-Match"] == '"v1"'
    assert second.digest == first.digest
    state.body, state.etag = b"version 2\n", '"v2"'
    third = cache.fetch(f"{base}/files/data.txt")
    assert third.digest != first.digest and third.path.read_bytes() == b"version 2\n"


def test_errors(tmp_path: Path, origin: tuple[Origin, str]) -> None:
    _, base = origin
    cache = RemoteCache(tmp_path / "remote")
    with pytest.raises(Unavailable, match=r"failed to GET .*/missing with status 404"):
        cache.fetch(f"{base}/missing")
    with pytest.raises(InvalidArgument, match="only http and https"):
        cache.fetch("ftp://example.com/x")
    with pytest.raises(Unavailable, match="failed to GET"):
        cache.fetch("http://127.0.0.1:9/nothing-listens-here")
