"""What every handler needs: the registry's state, the validated repository name, small responses."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from dockyard.oci.digest import Digest
from dockyard.registry.server.auth import Authenticator, Identity
from dockyard.registry.server.config import RegistryConfig
from dockyard.registry.server.names import validate_name
from dockyard.registry.server.storage import RegistryStorage
from dockyard.registry.server.uploads import UploadSessions

__all__ = [
    "IDENTITY",
    "STATE",
    "RegistryState",
    "base_url",
    "blob_url",
    "empty",
    "identity",
    "manifest_url",
    "repository",
    "state",
    "upload_url",
]


@dataclass(frozen=True)
class RegistryState:
    config: RegistryConfig
    storage: RegistryStorage
    uploads: UploadSessions
    auth: Authenticator


STATE = web.AppKey("dockyard_registry", RegistryState)
IDENTITY = web.RequestKey("dockyard_identity", Identity)


def state(request: web.Request) -> RegistryState:
    return request.app[STATE]


def identity(request: web.Request) -> Identity:
    value = request.get(IDENTITY)
    return value if isinstance(value, Identity) else Identity()


def repository(request: web.Request) -> str:
    return validate_name(request.match_info["name"])


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def blob_url(name: str, digest: Digest) -> str:
    return f"/v2/{name}/blobs/{digest}"


def manifest_url(name: str, reference: str | Digest) -> str:
    return f"/v2/{name}/manifests/{reference}"


def upload_url(name: str, uuid: str) -> str:
    return f"/v2/{name}/blobs/uploads/{uuid}"


def empty(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A response without a body (``Content-Length: 0``)."""
    return web.Response(status=status, headers=headers or {})
