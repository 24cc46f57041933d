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
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx

from dockyard.registry.endpoints import Endpoint, tls_context
from dockyard.registry.errors import describe_transport_error
from dockyard.registry.transport import _is_loopback

__all__ = [
    "BLOB_CHUNK",
    "HTTP_ON_TLS_PORT",
    "BlobResponse",
    "DirectConnections",
    "answers_tls_in_plain_http",
    "authorize_cached",
    "direct_route",
    "open_blob",
]

log = logging.getLogger(__name__)

BLOB_CHUNK = 1 << 20
HTTP_ON_TLS_PORT = "http: server gave HTTP response to HTTPS client"
_PROBE_TIMEOUT = 5.0


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


def answers_tls_in_plain_http(host: str, timeout: float | None) -> bool:
    """Whether the server at ``host`` (``name[:port]``, 443 by default) answers a TLS hello in plain HTTP: Go's
    ``http: server gave HTTP response to HTTPS client``, the failure Docker's order (``https://`` first, then
    ``http://`` for an insecure registry) expects from a plain-HTTP registry.

    Found with a bare handshake (no certificate checked, no CA bundle loaded: nothing is sent over it) instead of
    building a whole verified client just to see it fail — ~25 ms saved on every command talking to a plain-HTTP
    registry. Anything else (TLS spoken, refused, timed out) is False: the caller then goes its usual way.
    """
    name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not name or not port.isdigit():
        name, port = host, "443"
    name = name.strip("[]")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    limit = _PROBE_TIMEOUT if timeout is None else min(timeout, _PROBE_TIMEOUT)
    try:
        with (
            socket.create_connection((name, int(port)), timeout=limit) as sock,
            context.wrap_socket(sock, server_hostname=name),
        ):
            return False
    except ssl.SSLError as exc:
        return describe_transport_error(exc, host) == HTTP_ON_TLS_PORT
    except (OSError, ValueError):
        return False


def authorize_cached(auth: httpx.Auth, request: httpx.Request) -> bool:
    """Put on ``request`` the Authorization the auth flow would send first, if it needs no request of its own
    (a token it has not fetched yet) to know it."""
    flow = auth.sync_auth_flow(request)
    try:
        first = next(flow)
    except StopIteration:
        return True
    finally:
        flow.close()
    return first is request


class DirectConnections:
    """What a :class:`~dockyard.registry.client.RegistryClient` without a test transport does outside httpx: blob
    bodies (:func:`open_blob`, with one TLS context per endpoint) and the plain-HTTP probe of ``https://``
    endpoints (:func:`answers_tls_in_plain_http`)."""

    def __init__(self, certs_dir: Path, timeout: httpx.Timeout) -> None:
        self.certs_dir = certs_dir
        self.timeout = timeout
        self._tls: dict[Endpoint, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def open(self, endpoint: Endpoint, request: httpx.Request, auth: httpx.Auth) -> BlobResponse | None:
        if endpoint.scheme not in ("http", "https") or not direct_route(endpoint.host):
            return None
        if not authorize_cached(auth, request):
            return None
        context = None
        if endpoint.scheme == "https":
            with self._lock:
                context = self._tls.get(endpoint)
                if context is None:
                    context = self._tls[endpoint] = tls_context(endpoint, self.certs_dir)
        return open_blob(request, context, self.timeout)

    def plain_http(self, endpoint: Endpoint) -> bool:
        """An ``https://`` endpoint that does not verify, of a registry that speaks plain HTTP (the loopback case)."""
        if endpoint.scheme != "https" or endpoint.tls_verify or not direct_route(endpoint.host):
            return False
        return answers_tls_in_plain_http(endpoint.host, self.timeout.connect)
