"""``/containers/...``: create, list, inspect, start, stop, restart, kill, pause, remove, wait, rename, resize,
top, stats, prune. Streams (attach, logs, exec) are in ``container_streams``; files (archive, export, changes,
commit) in ``container_files``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag, parse_filters
from dockyard.api.streams import json_response
from dockyard.errors import Conflict, DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers import ItemReport

__all__ = ["in_own_thread", "register"]

T = TypeVar("T")


async def in_own_thread(func: Callable[[], T]) -> T:
    """Run a call that may block for a long time (wait, attach) in a thread of its own, not the pool."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = func()
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, daemon=True, name="dockyard-api-wait").start()
    return await future


def _single(reports: Sequence[ItemReport]) -> None:
    """A batch verb called with one name: turn its error back into a status."""
    report = reports[0]
    if report.ok:
        return
    message = report.error
    if message.startswith("No such container"):
        raise NotFound(message)
    if any(s in message for s in ("is not running", "is paused", "is not paused", "already", "cannot", "conflict")):
        raise Conflict(message)
    raise DockyardError(message)


async def create(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import create_options
    from dockyard.engine.containers import NoSuchImage

    body = await request.json()
    options = create_options(body, request.query.get("name", ""))
    engine = engine_of(request)
    try:
        result = await in_thread(engine.containers.create, options)
    except NoSuchImage as exc:
        raise NotFound(exc.message) from None
    return json_response({"Id": result.id, "Warnings": list(result.warnings)}, 201)


async def list_containers(request: web.Request) -> web.Response:
    engine = engine_of(request)
    limit = int(request.query.get("limit", "-1") or -1)
    size = flag(request, "size")

    def work() -> list[dict[str, Any]]:
        from dockyard.api.schemas.containers import container_summary
        from dockyard.engine.containers.endpoints import endpoint_views

        svc = engine.containers
        summaries = svc.list(all=flag(request, "all"), limit=limit, filters=parse_filters(request), size=size)
        now = time.time()
        volumes = engine.settings.layout.volumes
        return [
            container_summary(s, now, endpoint_views(svc, s.record), volumes_root=volumes) for s in summaries
        ]  # the networks with their addresses and gateways, as dockerd lists them (testcontainers reads them)

    return json_response(await in_thread(work))


async def inspect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return json_response(
        await in_thread(engine.containers.inspect, request.match_info["id"], size=flag(request, "size"))
    )


_FAILED_STARTS: dict[str, tuple[int, str, asyncio.Event]] = {}


def _start_waiter(container_id: str) -> tuple[int, str, asyncio.Event]:
    entry = _FAILED_STARTS.get(container_id)
    if entry is None:
        entry = (0, "", asyncio.Event())
        _FAILED_STARTS[container_id] = entry
    return entry


async def start(request: web.Request) -> web.Response:
    """Start; when that fails, the waiters of this run learn it (as dockerd's state change tells them) and an
    ``--rm`` container is removed, so ``docker run`` ends with the start's exit code instead of waiting."""
    from dockyard.engine.containers import ContainerStatus, RemoveOptions

    engine = engine_of(request)
    name = request.match_info["id"]
    record = await in_thread(engine.containers.get, name)
    if record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return web.Response(status=304)
    try:
        await in_thread(engine.containers.start, name)
    except DockyardError as exc:
        code = int(getattr(exc, "exit_code", 125) or 125)
        _, _, event = _start_waiter(record.id)
        _FAILED_STARTS[record.id] = (code, exc.message, event)
        event.set()
        if record.options.auto_remove:
            await in_thread(engine.containers.remove, [record.id], RemoveOptions(force=True))
        raise
    return web.Response(status=204)


def _timeout(request: web.Request) -> int | None:
    value = request.query.get("t") or request.query.get("timeout")
    return int(value) if value not in (None, "") else None


async def stop(request: web.Request) -> web.Response:
    from dockyard.engine.containers import ContainerStatus, StopOptions

    engine = engine_of(request)
    name = request.match_info["id"]
    record = await in_thread(engine.containers.get, name)
    if not record.status.active and record.status is not ContainerStatus.CREATED:
        return web.Response(status=304)
    options = StopOptions(timeout=_timeout(request), signal=request.query.get("signal", ""))
    _single(await in_own_thread(lambda: engine.containers.stop([name], options)))
    return web.Response(status=204)


async def restart(request: web.Request) -> web.Response:
    from dockyard.engine.containers import StopOptions

    engine = engine_of(request)
    options = StopOptions(timeout=_timeout(request), signal=request.query.get("signal", ""))
    _single(await in_own_thread(lambda: engine.containers.restart([request.match_info["id"]], options)))
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    from dockyard.engine.containers import KillOptions

    engine = engine_of(request)
    options = KillOptions(signal=request.query.get("signal") or "KILL")
    _single(await in_thread(engine.containers.kill, [request.match_info["id"]], options))
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    _single(await in_thread(engine_of(request).containers.pause, [request.match_info["id"]]))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    _single(await in_thread(engine_of(request).containers.unpause, [request.match_info["id"]]))
    return web.Response(status=204)


async def remove(request: web.Request) -> web.Response:
    from dockyard.engine.containers import RemoveOptions

    engine = engine_of(request)
    options = RemoveOptions(force=flag(request, "force"), volumes=flag(request, "v"))
    _single(await in_own_thread(lambda: engine.containers.remove([request.match_info["id"]], options)))
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    """Headers at once (the CLI starts the container only after it has them), the exit code when it comes."""
    from dockyard.engine.containers import WaitCondition

    engine = engine_of(request)
    name = request.match_info["id"]
    condition = WaitCondition(request.query.get("condition") or "not-running")
    record = await in_thread(engine.containers.get, name)  # 404 before streaming starts
    # the current run's token only while it runs: an exited container's old token would end the wait at once
    # (docker start -a on an exited container waits for the *next* exit)
    token = record.run_token if condition is not WaitCondition.NOT_RUNNING and record.status.active else None
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    error: str | None = None
    code = 0
    _, _, failed = _start_waiter(record.id)
    waiter = asyncio.ensure_future(in_own_thread(lambda: engine.containers.wait(record.id, condition, run_token=token)))
    failure = asyncio.ensure_future(failed.wait())
    try:
        done, _ = await asyncio.wait({waiter, failure}, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            code = waiter.result()
        else:
            code = _FAILED_STARTS.get(record.id, (125, "", failed))[0]  # the start's error went to its caller
    except DockyardError as exc:
        error = exc.message
    finally:
        failure.cancel()
        _FAILED_STARTS.pop(record.id, None)
    from dockyard.api.schemas.containers import wait_json
    from dockyard.api.streams import go_json_bytes

    try:
        await response.write(go_json_bytes(wait_json(code, error)) + b"\n")
        await response.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass  # `docker run -d` leaves without reading its wait
    return response


async def rename(request: web.Request) -> web.Response:
    new = request.query.get("name", "")
    await in_thread(engine_of(request).containers.rename, request.match_info["id"], new)
    return web.Response(status=204)


async def update(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import update_options

    options = update_options(await request.json())
    warnings = await in_thread(engine_of(request).containers.update, request.match_info["id"], options)
    return json_response({"Warnings": warnings})


async def resize(request: web.Request) -> web.Response:
    h = int(request.query.get("h", "0") or 0)
    w = int(request.query.get("w", "0") or 0)
    await in_thread(engine_of(request).containers.resize, request.match_info["id"], h, w)
    return web.Response(status=200)


async def top(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import top_json

    result = await in_thread(
        engine_of(request).containers.top, request.match_info["id"], request.query.get("ps_args", "")
    )
    return json_response(top_json(result))


async def stats(request: web.Request) -> web.StreamResponse:
    from dockyard.api.schemas.stats import stats_json

    engine = engine_of(request)
    name = request.match_info["id"]
    one_shot = not flag(request, "stream", True) or flag(request, "one-shot")
    previous = None
    if one_shot:
        sample = await in_thread(engine.containers.stats, name)
        return json_response(stats_json(sample, None, time.time()))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    from dockyard.api.streams import go_json_bytes

    try:
        while True:
            sample = await in_thread(engine.containers.stats, name)
            await response.write(go_json_bytes(stats_json(sample, previous, time.time())) + b"\n")
            previous = sample
            await asyncio.sleep(1)
    except (ConnectionResetError, RuntimeError, DockyardError):
        pass
    return response


async def prune(request: web.Request) -> web.Response:
    report = await in_thread(engine_of(request).containers.prune, parse_filters(request))
    return json_response({"ContainersDeleted": list(report.deleted) or None, "SpaceReclaimed": report.space_reclaimed})


def register(router: Router) -> None:
    router.add("POST", "/containers/create", create)
    router.add("GET", "/containers/json", list_containers)
    router.add("POST", "/containers/prune", prune)
    router.add("GET", "/containers/{id}/json", inspect)
    router.add("POST", "/containers/{id}/start", start)
    router.add("POST", "/containers/{id}/stop", stop)
    router.add("POST", "/containers/{id}/restart", restart)
    router.add("POST", "/containers/{id}/kill", kill)
    router.add("POST", "/containers/{id}/pause", pause)
    router.add("POST", "/containers/{id}/unpause", unpause)
    router.add("POST", "/containers/{id}/wait", wait)
    router.add("POST", "/containers/{id}/rename", rename)
    router.add("POST", "/containers/{id}/update", update)
    router.add("POST", "/containers/{id}/resize", resize)
    router.add("GET", "/containers/{id}/top", top)
    router.add("GET", "/containers/{id}/stats", stats)
    router.add("DELETE", "/containers/{id}", remove)
    from dockyard.api.handlers import container_files, container_streams

    container_streams.register(router)
    container_files.register(router)
