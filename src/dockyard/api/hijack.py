"""Hijacked connections: after ``101 UPGRADED`` the socket carries raw bytes both ways (attach, exec start).

The docker CLI's contract (see the capture reference, INDEX.md gotchas 2-4):

* answer exactly ``HTTP/1.1 101 UPGRADED`` with ``Content-Type: application/vnd.docker.raw-stream``,
  ``Connection: Upgrade``, ``Upgrade: tcp`` (a client that did not ask to upgrade gets a ``200`` and the same
  raw stream);
* the client half-closes its side when stdin ends: that is EOF for the container's stdin, *not* a disconnect —
  output keeps flowing until the container's stream ends, then the server closes.

aiohttp parses an upgrade request's headers and then hands later bytes to a "payload parser" we install; the
body of the request (exec start sends ``{"Detach":false,"Tty":false}``) comes first in that byte stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

__all__ = ["Hijacked", "hijack"]

RAW_STREAM = "application/vnd.docker.raw-stream"


class _Reader:
    """The payload parser aiohttp feeds once upgraded: the request body first, then the client's stream."""

    def __init__(self, body_length: int) -> None:
        self.body_length = body_length
        self.body = bytearray()
        self.body_done = asyncio.Event()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.eof = False
        if body_length <= 0:
            self.body_done.set()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self.body_done.is_set():
            need = self.body_length - len(self.body)
            self.body += data[:need]
            data = data[need:]
            if len(self.body) >= self.body_length:
                self.body_done.set()
        if data:
            self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        if not self.eof:
            self.eof = True
            self.body_done.set()
            self.queue.put_nowait(b"")


class _HalfCloseAware(asyncio.Protocol):
    """Stands between the transport and aiohttp's protocol: a half-close is EOF for our reader, and the
    transport stays open (aiohttp would let it close, losing the output still to come)."""

    def __init__(self, inner: Any, reader: _Reader) -> None:
        self.inner = inner
        self.reader = reader

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class _HijackedResponse(web.StreamResponse):
    """What the handler returns: aiohttp must write nothing more, and close the connection afterwards."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class Hijacked:
    """The raw connection after the upgrade."""

    def __init__(self, request: web.Request, reader: _Reader, upgraded: bool) -> None:
        self.request = request
        self._reader = reader
        self.upgraded = upgraded
        transport = request.transport
        assert transport is not None
        self.transport = transport
        self.response = _HijackedResponse(status=101 if upgraded else 200)
        self.response.force_close()

    async def body(self) -> bytes:
        await self._reader.body_done.wait()
        return bytes(self._reader.body)

    async def read(self) -> bytes:
        """The client's next bytes; ``b""`` once it half-closed (or went away)."""
        if self._reader.eof and self._reader.queue.empty():
            return b""
        return await self._reader.queue.get()

    async def write(self, data: bytes) -> bool:
        """Send bytes; False when the client is gone."""
        if self.transport.is_closing():
            return False
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > (1 << 20):
            protocol: Any = self.request.protocol
            try:
                await protocol._drain_helper()
            except (ConnectionResetError, RuntimeError):
                return False
        return True

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


async def hijack(request: web.Request, extra_headers: dict[str, str] | None = None) -> Hijacked:
    """Take over the connection: write the 101 (or 200) ourselves and read raw bytes from now on."""
    protocol: Any = request.protocol
    upgrade_requested = (
        request.headers.get("Upgrade", "").lower() == "tcp"
        or "upgrade" in request.headers.get("Connection", "").lower()
    )
    upgraded_by_parser = bool(getattr(protocol, "_upgraded", False))
    length = int(request.headers.get("Content-Length", "0") or 0)
    if upgraded_by_parser:
        reader = _Reader(length)
    else:
        # aiohttp parsed the body as usual (no Upgrade header): read it now, then take the raw stream.
        body = await request.read() if length else b""
        reader = _Reader(0)
        reader.body = bytearray(body)
    protocol.set_parser(reader)

    # a half-close from the client is stdin's EOF, not the end of the connection
    transport = request.transport
    assert transport is not None
    transport.set_protocol(_HalfCloseAware(protocol, reader))
    headers = {"Content-Type": RAW_STREAM}
    if upgrade_requested:
        status = "HTTP/1.1 101 UPGRADED"
        headers.update({"Connection": "Upgrade", "Upgrade": "tcp"})
    else:
        status = "HTTP/1.1 200 OK"
    headers.update(extra_headers or {})
    head = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    transport.write(head.encode())
    return Hijacked(request, reader, upgrade_requested)
