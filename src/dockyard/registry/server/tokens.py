"""Short-lived bearer tokens for the registry's own token service: JWTs signed with HMAC-SHA256.

The claims follow distribution's token spec (``iss``, ``sub``, ``aud``, ``exp``, ``nbf``, ``iat``, ``jti`` and
``access: [{"type", "name", "actions"}]``). The key lives in ``<storage>/token.key`` (created ``0600`` on first use)
so tokens survive a restart. Refresh tokens (handed out for ``offline_token=true``) carry no access and
``"typ": "refresh"``; they are only accepted by ``POST /token``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.registry.server.auth import Scope

__all__ = ["TokenClaims", "TokenSigner"]

ISSUER = "dockyard-registry"
REFRESH_TTL = 30 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    access: tuple[Scope, ...]
    expires_at: int
    refresh: bool = False


class TokenSigner:
    """Issues and verifies tokens for one service (``aud``)."""

    def __init__(self, key: bytes, service: str) -> None:
        self.key = key
        self.service = service

    @classmethod
    def from_storage(cls, storage: Path, service: str) -> TokenSigner:
        path = storage / "token.key"
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
        return cls(key, service)

    def _sign(self, claims: dict[str, object]) -> str:
        header = {"typ": "JWT", "alg": "HS256"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        mac = hmac.new(self.key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    def issue(self, subject: str, access: tuple[Scope, ...], ttl: int, *, refresh: bool = False) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": now + ttl,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": [{"type": s.type, "name": s.name, "actions": sorted(s.actions)} for s in access],
        }
        if refresh:
            claims["typ"] = "refresh"
        return self._sign(claims)

    def verify(self, token: str, *, refresh: bool = False) -> TokenClaims | None:
        """The claims of a valid, unexpired token of the wanted kind; ``None`` otherwise."""
        from dockyard.registry.server.auth import Scope

        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            return None
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            return None
        now = time.time()
        try:
            if claims.get("aud") != self.service or float(claims["exp"]) < now or float(claims.get("nbf", 0)) > now:
                return None
            if (claims.get("typ") == "refresh") != refresh:
                return None
            access = tuple(
                Scope(str(a["type"]), str(a["name"]), frozenset(str(x) for x in a["actions"]))
                for a in claims.get("access") or []
            )
            return TokenClaims(str(claims.get("sub") or ""), access, int(claims["exp"]), refresh)
        except (KeyError, TypeError, ValueError):
            return None
