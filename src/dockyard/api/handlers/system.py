"""``/version``, ``/info``, ``/system/df``, ``/events``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.schemas.system import disk_usage_json, info_json, version_json
from dockyard.api.streams import json_response

__all__ = ["register"]


async def version(request: web.Request) -> web.Response:
    return json_response(version_json(await in_thread(engine_of(request).system.version)))


async def info(request: web.Request) -> web.Response:
    return json_response(info_json(await in_thread(engine_of(request).system.info)))


async def disk_usage(request: web.Request) -> web.Response:
    engine = engine_of(request)
    usage = await in_thread(engine.system.disk_usage)
    return json_response(disk_usage_json(usage, engine.settings.layout.volumes))


async def events(request: web.Request) -> web.StreamResponse:
    """An events stream with no events yet: held open until the client leaves (or ``until`` passes)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    until = request.query.get("until")
    try:
        if until:
            import time

            from dockyard.timeutil import parse_timestamp

            await asyncio.sleep(max(0.0, parse_timestamp(until) - time.time()))
        else:
            await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass
    return response


def register(router: Router) -> None:
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("GET", "/system/df", disk_usage)
    router.add("GET", "/events", events)
