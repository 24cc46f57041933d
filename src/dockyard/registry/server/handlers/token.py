"""``GET /token`` and ``POST /token``: the registry's own token service (when started with ``--token-auth``).

``GET /token?service=&scope=repository:<name>:pull,push[&offline_token=true]`` with optional Basic credentials, and
the OAuth2 form ``POST /token`` (``grant_type=password`` or ``refresh_token``). The token grants the requested
actions the user is allowed (possibly none); wrong credentials are refused with 401.
"""

from __future__ import annotations

import datetime
import json

from aiohttp import web

from dockyard.registry.server.auth import Scope, basic_credentials
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers.common import state
from dockyard.registry.server.names import NAME_RE
from dockyard.registry.server.tokens import REFRESH_TTL, TokenSigner

__all__ = ["get_token", "post_token"]


def _grant(request: web.Request, user: str, scopes: list[str]) -> tuple[Scope, ...]:
    auth = state(request).auth
    out = []
    for value in scopes:
        scope = Scope.parse(value)
        if scope is None:
            continue
        if scope.type == "repository" and NAME_RE.match(scope.name):
            allowed = auth.allowed(user, scope.actions & {"pull", "push", "delete", "*"})
        elif scope.type == "registry" and scope.name == "catalog":
            allowed = frozenset({"*"}) if auth.allowed(user, {"pull"}) else frozenset()
        else:
            continue
        if allowed:
            out.append(Scope(scope.type, scope.name, allowed))
    return tuple(out)


def _signer(request: web.Request) -> TokenSigner:
    signer = state(request).auth.signer
    if signer is None:
        raise web.HTTPNotFound()
    return signer


def _denied(detail: str) -> SpecError:
    return SpecError(ErrorCode.UNAUTHORIZED, detail=detail)


def _reply(request: web.Request, user: str, scopes: list[str], offline: bool, oauth: bool) -> web.Response:
    config = state(request).config
    signer = _signer(request)
    access = _grant(request, user, scopes)
    token = signer.issue(user, access, config.token_ttl)
    body: dict[str, object] = {
        "token": token,
        "access_token": token,
        "expires_in": config.token_ttl,
        "issued_at": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }
    if oauth:
        del body["token"]
        body["scope"] = " ".join(str(s) for s in access)
    if offline and user:
        body["refresh_token"] = signer.issue(user, (), REFRESH_TTL, refresh=True)
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


async def get_token(request: web.Request) -> web.Response:
    _signer(request)
    auth = state(request).auth
    user = ""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        name, password = basic_credentials(header[6:])
        if name or password:
            if not await auth.check_password(name, password):
                raise _denied("invalid username or password")
            user = name
    scopes = request.query.getall("scope", [])
    offline = request.query.get("offline_token", "").lower() == "true"
    return _reply(request, user, scopes, offline, oauth=False)


async def post_token(request: web.Request) -> web.Response:
    signer = _signer(request)
    auth = state(request).auth
    form = await request.post()
    grant = str(form.get("grant_type", ""))
    scopes = str(form.get("scope", "")).split()
    offline = str(form.get("access_type", "")) == "offline"
    if grant == "password":
        user = str(form.get("username", ""))
        if not await auth.check_password(user, str(form.get("password", ""))):
            raise _denied("invalid username or password")
    elif grant == "refresh_token":
        claims = signer.verify(str(form.get("refresh_token", "")), refresh=True)
        if claims is None or auth.users is None or claims.subject not in auth.users.names():
            raise _denied("invalid refresh token")
        user = claims.subject
        offline = False
    else:
        raise SpecError(ErrorCode.UNSUPPORTED, f"unsupported grant_type {grant!r}", status=400)
    return _reply(request, user, scopes, offline, oauth=True)
