"""``POST /auth``: check registry credentials (the daemon keeps nothing; the CLI stores them)."""

from __future__ import annotations

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.streams import json_response
from dockyard.errors import DockyardError

__all__ = ["register"]


async def auth(request: web.Request) -> web.Response:
    body = await request.json()
    server = str(body.get("serveraddress") or "")
    username = str(body.get("username") or "")
    password = str(body.get("password") or "")
    engine = engine_of(request)
    try:
        result = await in_thread(engine.distribution.authenticate, server or None, username, password)
    except DockyardError as exc:
        # dockerd answers a failed login with a 500 and the registry's message
        return json_response({"message": exc.message}, 500)
    token = getattr(result, "identity_token", "") or ""
    return json_response({"IdentityToken": token, "Status": "Login Succeeded"})


def register(router: Router) -> None:
    router.add("POST", "/auth", auth)
