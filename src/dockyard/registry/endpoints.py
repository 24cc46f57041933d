"""Which URLs to try for a registry host, and with what TLS — Docker's ``lookupV2Endpoints``.

* Docker Hub (``docker.io``, ``index.docker.io``): each ``registry-mirrors`` entry first (pulls only), then
  ``https://registry-1.docker.io``. Credentials are looked up under ``https://index.docker.io/v1/``.
* Any other host: ``https://<host>`` with TLS verified against the system CAs plus
  ``/etc/docker/certs.d/<host>/*.crt``, presenting ``*.cert``/``*.key`` client pairs found there.
* An *insecure* host — listed in ``insecure-registries`` (by name or CIDR), or resolving to ``127.0.0.0/8`` like
  Docker's default, or asked for with ``tls_verify=False`` — gets ``https://`` without verification, then
  ``http://`` as a fallback, in that order, exactly as dockerd does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_CERTS_DIR",
    "DOCKER_HUB_REGISTRY",
    "Endpoint",
    "is_insecure_registry",
    "lookup_endpoints",
    "normalize_registry_host",
    "tls_context",
]

DEFAULT_CERTS_DIR = Path("/etc/docker/certs.d")
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_DEFAULT_INSECURE_CIDRS = (ipaddress.ip_network("127.0.0.0/8"),)


@dataclass(frozen=True)
class Endpoint:
    """One way of reaching a registry: a base URL (``https://host:port`` plus an optional path) and TLS mode."""

    scheme: str
    host: str
    path: str = ""
    tls_verify: bool = True
    mirror: bool = False
    official: bool = False

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path.rstrip('/')}"

    def url(self, path: str) -> str:
        """``path`` below the base, e.g. ``url("/v2/")``."""
        return self.base_url + path

    @property
    def secure(self) -> bool:
        return self.scheme == "https" and self.tls_verify

    def __str__(self) -> str:
        return self.base_url


def normalize_registry_host(host: str) -> str:
    """``index.docker.io`` and ``registry-1.docker.io`` are ``docker.io``; others are kept as written."""
    return "docker.io" if host.lower() in _HUB_HOSTS else host


def _split_host_port(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.index("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _resolve(hostname: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(hostname)]
    if hostname == "localhost":
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    out = []
    for info in infos:
        with contextlib.suppress(ValueError):
            out.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
    return out


def is_insecure_registry(host: str, insecure_registries: Sequence[str] = ()) -> bool:
    """Docker's ``isSecureIndex`` inverted: listed by name, or every lookup lands in an insecure CIDR."""
    networks = list(_DEFAULT_INSECURE_CIDRS)
    for entry in insecure_registries:
        entry = entry.strip()
        if "://" in entry:
            entry = urlsplit(entry).netloc
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if entry.rstrip("/") == host:
            return True
    addresses = _resolve(_split_host_port(host))
    return any(any(addr in net for net in networks) for addr in addresses)


def lookup_endpoints(
    host: str,
    *,
    insecure_registries: Sequence[str] = (),
    mirrors: Sequence[str] = (),
    tls_verify: bool | None = None,
    include_mirrors: bool = True,
) -> list[Endpoint]:
    """The endpoints to try, in order. ``tls_verify=False`` forces insecure mode; True forbids it."""
    host = normalize_registry_host(host)
    if host == "docker.io":
        out = []
        if include_mirrors:
            for mirror in mirrors:
                if "://" not in mirror:
                    if mirror.startswith("/"):
                        raise InvalidArgument(f"invalid mirror server address {mirror!r}")
                    mirror = "https://" + mirror
                parts = urlsplit(mirror)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    raise InvalidArgument(f"invalid mirror server address {mirror!r}")
                insecure = parts.scheme == "http" or is_insecure_registry(parts.netloc, insecure_registries)
                out.append(Endpoint(parts.scheme, parts.netloc, parts.path, tls_verify=not insecure, mirror=True))
        out.append(Endpoint("https", DOCKER_HUB_REGISTRY, official=True))
        return out
    if tls_verify is None:
        insecure = is_insecure_registry(host, insecure_registries)
    else:
        insecure = not tls_verify
    endpoints = [Endpoint("https", host, tls_verify=not insecure)]
    if insecure:
        endpoints.append(Endpoint("http", host, tls_verify=False))
    return endpoints


def _certs_for(host: str, certs_dir: Path) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """``*.crt`` CA files and ``(*.cert, *.key)`` client pairs under ``certs_dir/<host>`` (ReadCertsDirectory)."""
    directory = certs_dir / host
    cas: list[Path] = []
    pairs: list[tuple[Path, Path]] = []
    if not directory.is_dir():
        return cas, pairs
    for f in sorted(directory.iterdir()):
        if f.name.endswith(".crt"):
            cas.append(f)
        elif f.name.endswith(".cert"):
            key = f.with_name(f.name[: -len(".cert")] + ".key")
            if not key.exists():
                raise InvalidArgument(
                    f"missing key {key.name} for client certificate {f.name}. "
                    "CA certificates must use the extension .crt"
                )
            pairs.append((f, key))
        elif f.name.endswith(".key"):
            cert = f.with_name(f.name[: -len(".key")] + ".cert")
            if not cert.exists():
                raise InvalidArgument(f"missing client certificate {cert.name} for key {f.name}")
    return cas, pairs


def tls_context(endpoint: Endpoint, certs_dir: Path = DEFAULT_CERTS_DIR) -> ssl.SSLContext:
    """TLS for an https endpoint: system CAs plus the host's certs.d CAs and client certificate."""
    ctx = ssl.create_default_context()
    cas, pairs = _certs_for(endpoint.host, certs_dir)
    for ca in cas:
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise InvalidArgument(f"unable to load CA certificate {ca}: {exc}") from exc
    for cert, key in pairs[:1]:
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise InvalidArgument(f"unable to load client certificate {cert}: {exc}") from exc
    if not endpoint.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
