"""Blob bodies over a bare ``http.client`` connection: a megabyte per read, straight from the socket.

httpx (through httpcore and h11) hands a response body over in 64 kB pieces, copied twice on the way; for the
hundreds of megabytes of a layer that is much of the CPU a download costs, and all of it holding the GIL that the
decompression and extraction threads need. So for the one request that carries bulk data — a blob ``GET`` —
:meth:`RegistryClient.open_blob <dockyard.registry.client.RegistryClient.open_blob>` sends the very same request
(same URL and headers, the Authorization the auth flow already has — never a new token —, the same TLS context)
on a connection of its own, when no proxy and no test transport is involved.

Only the happy path is handled here: a ``200`` or ``206`` answer. Anything else — a failure to connect or to send,
a ``401``, a redirect, an error status — closes the connection and :func:`open_blob` returns None, and the caller
makes that attempt with httpx, which handles every case (retries, auth challenges, redirects, error bodies) as
before. Once the body flows, failures are raised as the httpx exceptions the resume logic already knows
(``ReadError``, ``ReadTimeout``, ``RemoteProtocolError``), with the request attached for the error message.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import urllib.request
from collections.abc import Iterator

import httpx

from dockyard.registry.transport import _is_loopback

__all__ = ["BLOB_CHUNK", "BlobResponse", "direct_route", "open_blob"]

log = logging.getLogger(__name__)

BLOB_CHUNK = 1 << 20


def direct_route(host: str) -> bool:
    """Whether a request to ``host`` (``name[:port]``) goes straight to it: loopback, or no proxy is configured for
    it in the environment (httpx would use one otherwise)."""
    if _is_loopback(host):
        return True
    proxies = urllib.request.getproxies()
    if not proxies:
        return True
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 or host.startswith("[") else host
    return bool(urllib.request.proxy_bypass(name))


class BlobResponse:
    """A ``200``/``206`` blob response whose body is read in :data:`BLOB_CHUNK` pieces."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse, request: httpx.Request):
        self._conn = conn
        self._response = response
        self.request = request
        self.status_code = response.status
        self.headers = httpx.Headers(response.getheaders())

    def iter_bytes(self) -> Iterator[bytes]:
        """The body in pieces of about :data:`BLOB_CHUNK`; what arrived before a failure is handed out first."""
        response = self._response
        pending: list[bytes] = []
        size = 0
        failure: httpx.TransportError | None = None
        while True:
            try:
                data = response.read1(BLOB_CHUNK)  # one recv, straight into the returned bytes
            except (OSError, http.client.HTTPException) as exc:
                failure = self._failure(exc)
                break
            if not data:
                break
            pending.append(data)
            size += len(data)
            if size >= BLOB_CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)
        if failure is None and response.length:  # Content-Length not reached: the connection was closed early
            failure = httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body "
                f"(incomplete, {response.length} bytes missing)",
                request=self.request,
            )
        if failure is not None:
            raise failure

    def _failure(self, exc: BaseException) -> httpx.TransportError:
        request = self.request
        out: httpx.TransportError
        if isinstance(exc, TimeoutError):
            out = httpx.ReadTimeout(str(exc) or "timed out", request=request)
        elif isinstance(exc, http.client.IncompleteRead):
            out = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
        else:
            out = httpx.ReadError(str(exc) or type(exc).__name__, request=request)
        out.__cause__ = exc
        return out

    def close(self) -> None:
        self._response.close()
        self._conn.close()


def open_blob(request: httpx.Request, context: ssl.SSLContext | None, timeout: httpx.Timeout) -> BlobResponse | None:
    """Send ``request`` (a GET, fully authorized) directly; the response if it is ``200`` or ``206``, else None."""
    url = request.url
    port = url.port or (443 if url.scheme == "https" else 80)
    connect = timeout.connect if timeout.connect is not None else socket.getdefaulttimeout()
    conn: http.client.HTTPConnection
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.host, port, timeout=connect, context=context)
    else:
        conn = http.client.HTTPConnection(url.host, port, timeout=connect)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(timeout.read)
        target = url.raw_path.decode("ascii")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}  # as httpx sends them
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.debug("GET %s directly: %s; going through httpx", url, exc)
        conn.close()
        return None
    if response.status not in (200, 206):
        log.debug("GET %s directly: HTTP %d; going through httpx", url, response.status)
        response.close()
        conn.close()
        return None
    return BlobResponse(conn, response, request)
