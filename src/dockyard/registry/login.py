"""Checking credentials against a registry before anyone saves them (dockerd's ``Service.Auth`` / ``loginV2``).

For each endpoint of the server (no mirrors: credentials never go to a mirror) the client sends ``GET /v2/``
through the auth flow: an open registry answers 200 straight away; a Basic registry gets the user name and
password; a Bearer registry sends us to its token service, which must hand out a token for the credentials
(``offline_token=true``, so it may return a refresh token: the identity token). A TLS or connection failure on
``https://`` moves on to ``http://`` for insecure registries; a refusal of the credentials stops at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from dockyard.errors import DockyardError, InvalidArgument, Unauthorized
from dockyard.registry.auth import INDEX_SERVER, AuthConfig
from dockyard.registry.endpoints import DEFAULT_CERTS_DIR, lookup_endpoints
from dockyard.registry.errors import RegistryError, RegistryUnauthorized, go_status
from dockyard.registry.tokens import RegistryAuth
from dockyard.registry.transport import DEFAULT_TIMEOUT, RetryPolicy, open_client, transport_error

__all__ = ["LOGIN_SUCCEEDED", "LoginStatus", "registry_host_for_login", "verify_login"]

log = logging.getLogger(__name__)

LOGIN_SUCCEEDED = "Login Succeeded"


@dataclass(frozen=True)
class LoginStatus:
    status: str
    identity_token: str = ""
    endpoint: str = ""


def registry_host_for_login(server: str) -> str:
    """``127.0.0.1:5000``, ``https://myreg/v2/`` -> the host to log in to; Docker Hub's key -> ``index.docker.io``."""
    if not server or server == INDEX_SERVER:
        return "index.docker.io"
    if not server.startswith(("http://", "https://")):
        server = "https://" + server
    try:
        netloc = urlsplit(server).netloc
    except ValueError as exc:
        raise InvalidArgument(f"unable to parse server address: {exc}") from exc
    if not netloc:
        raise InvalidArgument(f"unable to parse server address: {server!r}")
    return netloc


def verify_login(
    server: str,
    credentials: AuthConfig,
    *,
    insecure_registries: Sequence[str] = (),
    tls_verify: bool | None = None,
    certs_dir: Path = DEFAULT_CERTS_DIR,
    retry: RetryPolicy = RetryPolicy(attempts=2, base_delay=0.2),
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> LoginStatus:
    """Log in to ``server`` with ``credentials``; raises Unauthorized (or Unavailable...) when that fails."""
    host = registry_host_for_login(server)
    endpoints = lookup_endpoints(
        host, insecure_registries=insecure_registries, tls_verify=tls_verify, include_mirrors=False
    )
    last: DockyardError | None = None
    for endpoint in endpoints:
        auth = RegistryAuth(credentials, offline_token=True)
        extra = {} if sleep is None else {"sleep": sleep}
        client = open_client(
            endpoint, auth, certs_dir=certs_dir, retry=retry, timeout=timeout, transport=transport, **extra
        )
        url = endpoint.url("/v2/")
        try:
            log.debug("attempting v2 login to registry endpoint %s", url)
            request = client.build_request("GET", url)
            try:
                response = client.send(request)
            except httpx.HTTPError as exc:
                raise transport_error(exc, request) from exc
            response.close()
            if response.status_code == 200:
                return LoginStatus(LOGIN_SUCCEEDED, auth.refresh_token, endpoint.base_url)
            message = f"login attempt to {url} failed with status: {go_status(response.status_code)}"
            err: RegistryError = (
                RegistryUnauthorized(message) if response.status_code == 401 else RegistryError(message)
            )
            err.status_code = response.status_code
            raise err
        except Unauthorized:
            raise
        except DockyardError as exc:
            log.info("Error logging in to endpoint %s, trying next endpoint: %s", endpoint, exc)
            last = exc
        finally:
            client.close()
    assert last is not None
    raise last
