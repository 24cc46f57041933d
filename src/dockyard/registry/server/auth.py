"""Who may do what: htpasswd (bcrypt) users, Basic challenges, Bearer tokens from the registry's own ``/token``.

Policy: an authenticated user may pull, push and delete everywhere. An anonymous user may pull when the registry
has no htpasswd file or ``--allow-anonymous-pull`` was given, and push only with ``--allow-anonymous-push``.
With an htpasswd file, ``GET /v2/`` always challenges anonymous clients so that they learn how to log in.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dockyard.registry.server.config import RegistryConfig
from dockyard.registry.server.errors import Detail, ErrorCode, SpecError
from dockyard.registry.server.tokens import TokenSigner

__all__ = ["Action", "Authenticator", "Htpasswd", "Identity", "Scope", "basic_credentials"]

log = logging.getLogger(__name__)

_CACHE_SECONDS = 300.0


class Action(StrEnum):
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"


@dataclass(frozen=True)
class Scope:
    """``repository:<name>:<actions>`` (or ``registry:catalog:*``)."""

    type: str
    name: str
    actions: frozenset[str]

    @classmethod
    def parse(cls, value: str) -> Scope | None:
        kind, _, rest = value.partition(":")
        name, _, actions = rest.rpartition(":")
        if not kind or not name:
            return None
        return cls(kind, name, frozenset(a for a in actions.split(",") if a))

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


@dataclass(frozen=True)
class Identity:
    """The requester: a user name, or ``""`` for anonymous; ``token_access`` when it came with a Bearer token."""

    user: str = ""
    token_access: frozenset[Scope] | None = None

    @property
    def anonymous(self) -> bool:
        return not self.user


class Htpasswd:
    """An htpasswd file of bcrypt entries (``htpasswd -Bbn``), reloaded when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, bytes] = {}
        self._ok: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size)
        if self._stamp == stamp:
            return
        users: dict[str, bytes] = {}
        for number, line in enumerate(self.path.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not hashed.startswith(("$2y$", "$2a$", "$2b$")):
                log.warning("%s:%d: skipped: only bcrypt entries (htpasswd -B) are supported", self.path, number)
                continue
            users[user] = hashed.encode()
        with self._lock:
            self._users, self._stamp, self._ok = users, stamp, {}

    def names(self) -> frozenset[str]:
        with contextlib.suppress(OSError):
            self.reload()
        return frozenset(self._users)

    def check(self, user: str, password: str) -> bool:
        """Whether the password is right (bcrypt; successes are remembered a few minutes)."""
        import bcrypt

        try:
            self.reload()
        except OSError as exc:
            log.error("cannot read %s: %s", self.path, exc)
            return False
        hashed = self._users.get(user)
        if hashed is None:
            return False
        key = (user, hashlib.sha256(password.encode()).digest())
        now = time.monotonic()
        if self._ok.get(key, 0.0) > now:
            return True
        # bcrypt 4+ rejects the $2y$ prefix Apache writes; it is the same algorithm as $2b$.
        candidate = b"$2b$" + hashed[4:] if hashed.startswith(b"$2y$") else hashed
        try:
            ok = bcrypt.checkpw(password.encode(), candidate)
        except ValueError:
            ok = False
        if ok:
            with self._lock:
                self._ok[key] = now + _CACHE_SECONDS
        return ok


class Authenticator:
    """Turns a request's ``Authorization`` header into an :class:`Identity` and checks it against a scope."""

    def __init__(self, config: RegistryConfig, signer: TokenSigner | None = None) -> None:
        self.config = config
        self.users = Htpasswd(config.htpasswd) if config.htpasswd else None
        self.signer = signer

    # -- identity ----------------------------------------------------------------------------------------

    async def identify(self, authorization: str | None, base_url: str) -> Identity:
        """The requester, or ``UNAUTHORIZED`` when the credentials are wrong (never for missing ones).

        ``base_url`` is the registry as the client reached it (``http://host:port``), for the token realm.
        """
        if not authorization:
            return Identity()
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.signer is not None:
            claims = self.signer.verify(value.strip())
            if claims is None:
                raise self.challenge(base_url, error="invalid_token")
            return Identity(claims.subject, frozenset(claims.access))
        if scheme == "basic":
            user, password = basic_credentials(value)
            if (not user and not password) or (self.users is None and self.signer is None):
                # "Basic Og==" (":") is how some clients say they have no credentials; without an htpasswd
                # file there is nobody to log in as, and credentials meant for elsewhere are ignored.
                return Identity()
            if self.signer is None and await self.check_password(user, password):
                return Identity(user)
            raise self.challenge(base_url, detail="invalid username or password")
        raise self.challenge(base_url, detail=f"unsupported authorization scheme {scheme!r}")

    async def check_password(self, user: str, password: str) -> bool:
        if self.users is None:
            return False
        return await asyncio.to_thread(self.users.check, user, password)

    # -- policy ------------------------------------------------------------------------------------------

    def allowed(self, user: str, actions: Iterable[str]) -> frozenset[str]:
        """Which of ``actions`` the user (``""`` = anonymous) may do on any repository."""
        if user and self.users is not None:
            return frozenset(actions)
        anonymous = set()
        if self.config.anonymous_pull:
            anonymous |= {Action.PULL, "*"}
        if self.config.allow_anonymous_push:
            anonymous |= {Action.PUSH, Action.DELETE}
        return frozenset(a for a in actions if a in anonymous)

    def authorize(self, identity: Identity, scope: Scope | None, base_url: str) -> None:
        """Raise 401 (with a challenge) or 403 unless ``identity`` may act on ``scope`` (``None``: ``/v2/``)."""
        if identity.token_access is not None:
            if scope is None or _covered(identity.token_access, scope):
                return
            raise self.challenge(base_url, scope, error="insufficient_scope")
        if scope is None:
            if identity.anonymous and (self.users is not None or self.signer is not None):
                raise self.challenge(base_url)
            return
        if self.signer is not None:
            raise self.challenge(base_url, scope)  # token mode: every request needs a token, anonymous ones included
        if self.allowed(identity.user, scope.actions) >= scope.actions:
            return
        if identity.anonymous and self.users is not None:
            raise self.challenge(base_url, scope)
        raise SpecError(
            ErrorCode.DENIED,
            detail="this registry refuses anonymous pushes: start it with --htpasswd (or --allow-anonymous-push)",
        )

    def can(self, identity: Identity, scope: Scope) -> bool:
        try:
            self.authorize(identity, scope, "")
        except SpecError:
            return False
        return True

    def challenge(
        self, base_url: str, scope: Scope | None = None, *, error: str = "", detail: Detail = None
    ) -> SpecError:
        """A 401 ``UNAUTHORIZED`` whose ``WWW-Authenticate`` says how to authenticate."""
        if self.signer is not None:
            parts = [f'realm="{base_url}/token"', f'service="{self.config.token_service}"']
            if scope is not None:
                parts.append(f'scope="{scope}"')
            if error:
                parts.append(f'error="{error}"')
            header = "Bearer " + ",".join(parts)
        else:
            header = f'Basic realm="{self.config.realm}"'
        if detail is None and scope is not None:
            detail = [{"Type": scope.type, "Name": scope.name, "Action": a} for a in sorted(scope.actions)]
        return SpecError(ErrorCode.UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": header})


def basic_credentials(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", "\x00invalid"
    user, _, password = decoded.partition(":")
    return user, password


def _covered(granted: frozenset[Scope], need: Scope) -> bool:
    have: set[str] = set()
    for scope in granted:
        if scope.type == need.type and scope.name == need.name:
            have |= scope.actions
    return "*" in have or need.actions <= have
