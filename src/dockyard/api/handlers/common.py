"""Request parsing shared by handlers: booleans, Docker's ``filters`` JSON, ``X-Registry-Auth``."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from aiohttp import web

from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.registry.auth import AuthConfig

__all__ = ["flag", "parse_filters", "registry_auth"]


def flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() not in ("", "0", "false", "no")


def parse_filters(request: web.Request) -> list[str]:
    """``filters={"dangling":["true"]}`` or ``{"dangling":{"true":true}}`` -> ``["dangling=true"]``."""
    raw = request.query.get("filters")
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"invalid filter: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidArgument("invalid filter: expected a JSON object")
    out = []
    for key, values in data.items():
        if isinstance(values, dict):
            items = [v for v, on in values.items() if on]
        elif isinstance(values, list):
            items = values
        else:
            items = [values]
        out += [f"{key}={v}" for v in items]
    return out


def registry_auth(request: web.Request) -> AuthConfig | None:
    """The credentials a Docker client sends with push/pull: base64url(JSON) in ``X-Registry-Auth``."""
    from dockyard.registry.auth import AuthConfig

    header = request.headers.get("X-Registry-Auth")
    if not header:
        return None
    padded = header + "=" * (-len(header) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not data:
        return None
    return AuthConfig(
        username=str(data.get("username") or ""),
        password=str(data.get("password") or ""),
        server_address=str(data.get("serveraddress") or ""),
        identity_token=str(data.get("identitytoken") or ""),
        registry_token=str(data.get("registrytoken") or ""),
        email=str(data.get("email") or ""),
    )
