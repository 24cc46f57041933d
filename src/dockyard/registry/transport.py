"""HTTP to registries: one ``httpx.Client`` per endpoint, with TLS, bounded retries and the auth flow.

:func:`open_client` builds the client for an :class:`~dockyard.registry.endpoints.Endpoint`: its TLS context
(system CAs + ``certs.d``; none for insecure endpoints), :class:`RetryingTransport` underneath, and a
:class:`~dockyard.registry.tokens.RegistryAuth` on top. Proxies come from the environment as in Docker, except
for loopback registries. :func:`ping` does ``GET /v2/`` without credentials and records the challenge.

Retries: connection failures (refused, reset, DNS hiccups — never TLS verification failures) are retried for any
request whose body can be sent again; read failures and ``500/502/503/504`` only for idempotent methods. Delays
grow exponentially from ``RetryPolicy.base_delay`` up to ``max_delay``, ``attempts`` in all; a ``Retry-After``
within ``max_delay`` is honoured. ``429 Too Many Requests`` is not retried: it is reported plainly
(``toomanyrequests: ...`` with the Retry-After in the hint), as Docker does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import ssl
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx

from dockyard import __version__
from dockyard.registry.challenge import Challenge
from dockyard.registry.endpoints import DEFAULT_CERTS_DIR, Endpoint, tls_context
from dockyard.registry.errors import (
    RegistryError,
    RegistryNotFound,
    RegistryUnavailable,
    describe_transport_error,
    error_from_response,
    url_error,
)
from dockyard.registry.tokens import RegistryAuth

__all__ = [
    "NO_RETRY",
    "USER_AGENT",
    "PingResult",
    "RetryPolicy",
    "RetryingTransport",
    "check_response",
    "open_client",
    "ping",
    "transport_error",
]

log = logging.getLogger(__name__)

USER_AGENT = f"dockyard/{__version__} (linux)"
#: Request extension: how many attempts this request may take (``{"dockyard.attempts": 1}`` = no retry).
ATTEMPTS_EXTENSION = "dockyard.attempts"
NO_RETRY = {ATTEMPTS_EXTENSION: 1}
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


def _is_tls_failure(exc: BaseException) -> bool:
    cur: BaseException | None = exc
    seen = 0
    while cur is not None and seen < 10:
        if isinstance(cur, ssl.SSLError):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    text = str(exc)
    return "SSL" in text or "CERTIFICATE" in text or "WRONG_VERSION_NUMBER" in text


class RetryingTransport(httpx.BaseTransport):
    """Wraps a transport with bounded exponential-backoff retries (see the module docstring)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.extensions.get(ATTEMPTS_EXTENSION, self.policy.attempts))
        replayable = isinstance(request.stream, httpx.ByteStream)
        idempotent = request.method in _IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= limit or not replayable or _is_tls_failure(exc):
                    raise
                log.debug("%s %s: %s; retrying", request.method, request.url, exc)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout) as exc:
                if attempt >= limit or not (replayable and idempotent):
                    raise
                log.debug("%s %s: %s; retrying", request.method, request.url, exc)
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= limit or not (replayable and idempotent):
                    return response
                wait = self.policy.delay(attempt)
                retry_after = response.headers.get("retry-after", "")
                with contextlib.suppress(ValueError):
                    wait = max(wait, min(self.policy.max_delay, float(retry_after)))
                response.close()
                log.debug("%s %s: HTTP %d; retrying in %.2fs", request.method, request.url, response.status_code, wait)
                self.sleep(wait)
                continue
            self.sleep(self.policy.delay(attempt))

    def close(self) -> None:
        self.inner.close()


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 or host.startswith("[") else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


DEFAULT_TIMEOUT = httpx.Timeout(connect=15.0, read=60.0, write=60.0, pool=60.0)


def open_client(
    endpoint: Endpoint,
    auth: RegistryAuth | None = None,
    *,
    certs_dir: Path = DEFAULT_CERTS_DIR,
    retry: RetryPolicy = RetryPolicy(),
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client for one endpoint. ``transport`` replaces the network (tests); retries wrap it either way."""
    if transport is None:
        verify: ssl.SSLContext | bool = tls_context(endpoint, certs_dir) if endpoint.scheme == "https" else False
        transport = httpx.HTTPTransport(verify=verify, trust_env=not _is_loopback(endpoint.host))
    return httpx.Client(
        transport=RetryingTransport(transport, retry, sleep),
        auth=auth,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=not _is_loopback(endpoint.host),
    )


def transport_error(exc: httpx.HTTPError, request: httpx.Request | None = None) -> RegistryUnavailable:
    """A network failure as a RegistryUnavailable worded like Go's ``url.Error``."""
    req = request
    if req is None:
        with contextlib.suppress(RuntimeError):
            req = exc.request
    if req is None:
        return RegistryUnavailable(str(exc))
    host = req.url.netloc.decode("ascii")
    if ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:{req.url.port or (443 if req.url.scheme == 'https' else 80)}"
    return RegistryUnavailable(url_error(req.method, str(req.url), describe_transport_error(exc, host)))


def check_response(response: httpx.Response, *, ok: tuple[int, ...] = (200,)) -> None:
    """Raise the registry's error (read from the body) unless the status is one of ``ok``."""
    if response.status_code in ok:
        return
    if response.request.method == "HEAD":
        # No body to read: word it from the status alone.
        generic = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND", 429: "TOOMANYREQUESTS"}
        code = generic.get(response.status_code)
        if code == "NOT_FOUND":
            missing = RegistryNotFound("not found")
            missing.status_code = 404
            raise missing
        body = json.dumps({"errors": [{"code": code, "message": ""}]}).encode() if code else b""
        raise error_from_response(response.status_code, body, retry_after=response.headers.get("retry-after"))
    body = b""
    with contextlib.suppress(httpx.HTTPError):
        body = response.read()[: 1 << 20]
    raise error_from_response(response.status_code, body, retry_after=response.headers.get("retry-after"))


@dataclass(frozen=True)
class PingResult:
    """What ``GET /v2/`` said: the endpoint that answered, its challenges (none: open registry)."""

    endpoint: Endpoint
    status_code: int
    challenges: tuple[Challenge, ...]
    api_version: str = ""

    @property
    def needs_auth(self) -> bool:
        return bool(self.challenges)


def ping(client: httpx.Client, endpoint: Endpoint, auth: RegistryAuth | None = None) -> PingResult:
    """``GET /v2/`` without credentials (one attempt); records the challenge in ``auth``."""
    url = endpoint.url("/v2/")
    request = client.build_request("GET", url, extensions=dict(NO_RETRY))
    try:
        response = client.send(request, auth=None)
    except httpx.HTTPError as exc:
        raise transport_error(exc, request) from exc
    with closing(response):
        response.read()
    if response.status_code not in (200, 401):
        err: RegistryError = error_from_response(response.status_code, response.content)
        raise type(err)(url_error("GET", url, err.message), err.hint)
    challenges: list[Challenge] = []
    if auth is not None:
        challenges = auth.add_challenges(request.url, response)
    elif response.status_code == 401:
        from dockyard.registry.challenge import parse_challenges

        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
    return PingResult(
        endpoint, response.status_code, tuple(challenges), response.headers.get("docker-distribution-api-version", "")
    )
