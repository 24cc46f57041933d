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
    """Docker's event stream: the past events ``since``/``until`` ask for, then new ones as any dockyard process
    records them (the log is polled), one JSON object a line, until ``until`` passes or the client leaves."""
    import json
    import time

    from dockyard.api.handlers.common import parse_filters
    from dockyard.engine.events import EventFilter, EventLog
    from dockyard.errors import InvalidArgument
    from dockyard.timeutil import parse_timestamp

    now = time.time()
    bounds: list[float | None] = []
    for key in ("since", "until"):
        value = request.query.get(key, "")
        try:
            bounds.append(parse_timestamp(value, now) if value else None)
        except ValueError:
            raise InvalidArgument(f'failed to parse value as time or duration: "{value}"') from None
    since, until = bounds
    match = EventFilter(parse_filters(request))
    log = await in_thread(EventLog, engine_of(request).database)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)

    async def send(batch: list[tuple[int, dict[str, object]]]) -> int:
        last = 0
        lines = []
        for seq, ev in batch:
            last = seq
            if match.matches(ev):
                lines.append(json.dumps(ev, separators=(",", ":")) + "\n")
        if lines:
            await response.write("".join(lines).encode())
        return last

    try:
        last = await in_thread(log.last_seq)
        if since is not None or until is not None:
            last = max(last, await send(await in_thread(log.since, since=since, until=until)))
        while until is None or time.time() <= until:
            await asyncio.sleep(_POLL_INTERVAL)
            if request.transport is None or request.transport.is_closing():
                break  # the client left (aiohttp does not cancel the handler for it)
            last = max(last, await send(await in_thread(log.since, after_seq=last, until=until)))
    except (asyncio.CancelledError, ConnectionResetError):
        pass
    return response


_POLL_INTERVAL = 0.2


def register(router: Router) -> None:
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("GET", "/system/df", disk_usage)
    router.add("GET", "/events", events)
