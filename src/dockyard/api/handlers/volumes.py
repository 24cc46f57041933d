"""``/volumes/...``: list, create, inspect, remove, prune — each a translation of one ``engine.volumes`` call."""

from __future__ import annotations

import json

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag, parse_filters
from dockyard.api.streams import json_response
from dockyard.errors import InvalidArgument

__all__ = ["register"]


def _api_version(request: web.Request) -> tuple[int, int]:
    from dockyard.engine.system import API_VERSION

    text = request.match_info.get("version") or API_VERSION
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor)
    except ValueError:
        return 1, 41


async def list_volumes(request: web.Request) -> web.Response:
    from dockyard.api.schemas.volumes import volume_list
    from dockyard.engine.volumes import VolumeFilters

    filters = VolumeFilters.parse(parse_filters(request))
    volumes = await in_thread(engine_of(request).volumes.list, filters)
    return json_response(volume_list(volumes))


async def create(request: web.Request) -> web.Response:
    from dockyard.api.schemas.volumes import parse_create
    from dockyard.engine.volumes import volume_json

    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from exc
    req = parse_create(body)
    volume = await in_thread(engine_of(request).volumes.create, req.name, req.driver, req.labels, req.options)
    return json_response(volume_json(volume), 201)


async def inspect(request: web.Request) -> web.Response:
    return json_response(await in_thread(engine_of(request).volumes.inspect, request.match_info["name"]))


async def remove(request: web.Request) -> web.Response:
    reports = await in_thread(engine_of(request).volumes.delete, [request.match_info["name"]], flag(request, "force"))
    for report in reports:
        if report.error is not None:
            raise report.error
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    from dockyard.api.schemas.volumes import volume_prune
    from dockyard.engine.volumes import VolumeFilters

    filters = VolumeFilters.parse(parse_filters(request))
    # API 1.42 made prune remove anonymous volumes only; older clients get the old behaviour (all unused ones).
    everything = _api_version(request) < (1, 42)
    report = await in_thread(engine_of(request).volumes.prune, filters, everything)
    return json_response(volume_prune(report))


def register(router: Router) -> None:
    router.add("GET", "/volumes", list_volumes)
    router.add("POST", "/volumes/create", create)
    router.add("POST", "/volumes/prune", prune)
    router.add("GET", "/volumes/{name}", inspect)
    router.add("DELETE", "/volumes/{name}", remove)
