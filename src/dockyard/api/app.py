"""The Docker Engine API server: aiohttp on a unix socket (or TCP), over the same engine as the CLI.

Every route is served both unversioned and under ``/v1.xx/``; ``HEAD``/``GET /_ping`` answer with the
``Api-Version`` header the docker CLI negotiates from. Handlers are thin: parse the request, call one engine
service (in a worker thread — the engine is synchronous), encode with ``api.schemas``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from dockyard import __version__
from dockyard.api.errors import status_for
from dockyard.api.streams import json_response
from dockyard.engine import Engine
from dockyard.engine.system import API_VERSION
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["ENGINE_KEY", "Router", "create_app", "engine_of", "in_thread", "serve"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENGINE_KEY = web.AppKey("engine", Engine)
SERVER = f"dockyard/{__version__} (linux)"
_VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"


def engine_of(request: web.Request) -> Engine:
    return request.app[ENGINE_KEY]


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, partial(func, *args, **kwargs))


class Router:
    """Registers each route with and without the ``/vX.Y`` prefix."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)
        self.app.router.add_route(method, _VERSION_PREFIX + path, handler)


@web.middleware
async def _docker_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404 and exc.text and "404: Not Found" in exc.text:
            response = json_response({"message": "page not found"}, 404)
        elif exc.status == 405:
            response = json_response({"message": "method not allowed"}, 405)
        else:
            raise
    except DockyardError as exc:
        response = json_response({"message": exc.message}, status_for(exc))
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        response = json_response({"message": str(exc) or type(exc).__name__}, 500)
    if not response.prepared:
        response.headers.setdefault("Api-Version", API_VERSION)
        response.headers.setdefault("Docker-Experimental", "false")
        response.headers.setdefault("Ostype", "linux")
        response.headers.setdefault("Server", SERVER)
    return response


async def _ping(request: web.Request) -> web.Response:
    headers = {
        "Api-Version": API_VERSION,
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
        "Docker-Experimental": "false",
        "Ostype": "linux",
        "Builder-Version": "1",
    }
    body = b"" if request.method == "HEAD" else b"OK"
    return web.Response(body=body, headers=headers, content_type="text/plain", charset="utf-8")


def create_app(engine: Engine) -> web.Application:
    app = web.Application(middlewares=[_docker_headers], client_max_size=1 << 40)
    app[ENGINE_KEY] = engine
    router = Router(app)
    router.add("GET", "/_ping", _ping)
    router.add("HEAD", "/_ping", _ping)
    from dockyard.api.handlers import register_all

    register_all(router)
    return app


def parse_host(uri: str) -> tuple[str, str | int]:
    """``unix:///path`` -> ("unix", path); ``tcp://host:port`` -> ("tcp", (host, port))."""
    if uri.startswith("unix://"):
        return "unix", uri[len("unix://") :]
    m = re.fullmatch(r"tcp://([^:]+|\[[^\]]+\]):(\d+)", uri)
    if m:
        return m.group(1), int(m.group(2))
    if uri.startswith("/"):
        return "unix", uri
    raise InvalidArgument(f"service: invalid listen address {uri!r} (use unix:///path or tcp://host:port)")


async def _serve(engine: Engine, uris: list[str], ready: Callable[[str], None] | None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # engine calls block (SQLite, runc, conmon): give them enough threads for many concurrent clients
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="api"))
    app = create_app(engine)
    access = logging.getLogger("dockyard.api.access") if log.isEnabledFor(logging.DEBUG) else None
    runner = web.AppRunner(app, access_log=access, handle_signals=True)
    await runner.setup()
    sites: list[web.BaseSite] = []
    for uri in uris:
        kind, where = parse_host(uri)
        if kind == "unix":
            path = Path(str(where))
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                path.unlink()
            site: web.BaseSite = web.UnixSite(runner, str(path))
            await site.start()
            os.chmod(path, 0o660)
        else:
            site = web.TCPSite(runner, kind, int(where))
            await site.start()
        sites.append(site)
        if ready:
            ready(uri)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def serve(engine: Engine, uris: list[str], ready: Callable[[str], None] | None = None) -> None:
    """Serve the API until interrupted."""
    try:
        asyncio.run(_serve(engine, uris, ready))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
