"""The registry server's configuration (what ``dockyard registry serve`` flags set)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_ADDR",
    "DEFAULT_STORAGE",
    "MAX_MANIFEST_SIZE",
    "UPLOAD_EXPIRY",
    "RegistryConfig",
    "parse_addr",
]

DEFAULT_STORAGE = Path("/var/lib/dockyard-registry")
DEFAULT_ADDR = "127.0.0.1:5000"
#: distribution's ``maxManifestBodySize``.
MAX_MANIFEST_SIZE = 4 << 20
UPLOAD_EXPIRY = 7 * 24 * 3600.0  # distribution purges uploads older than 168h


def parse_addr(addr: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (all interfaces) or ``[v6]:port``."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"registry serve: invalid address {addr!r}: expected HOST:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


@dataclass(frozen=True)
class RegistryConfig:
    """How the registry serves and who may do what.

    Without ``htpasswd``, pulls are anonymous and pushes are refused unless ``allow_anonymous_push``. With it,
    every request needs valid credentials unless ``allow_anonymous_pull`` lets anonymous users read.
    ``token_auth`` answers with Bearer challenges pointing at the registry's own ``/token`` service.
    """

    storage: Path = DEFAULT_STORAGE
    host: str = "127.0.0.1"
    port: int = 5000
    htpasswd: Path | None = None
    realm: str = "dockyard-registry"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    read_only: bool = False
    allow_anonymous_push: bool = False
    allow_anonymous_pull: bool = False
    token_auth: bool = False
    token_service: str = "dockyard-registry"
    token_ttl: int = 300
    max_manifest_size: int = MAX_MANIFEST_SIZE
    upload_expiry: float = UPLOAD_EXPIRY
    shutdown_timeout: float = 10.0

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument("registry serve: --tls-cert and --tls-key go together")

    @property
    def anonymous_pull(self) -> bool:
        return self.htpasswd is None or self.allow_anonymous_pull

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"
