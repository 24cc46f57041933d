"""Container I/O over the API: attach (hijacked), logs (framed stream), exec create/start/inspect/resize."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag
from dockyard.api.handlers.containers import in_own_thread
from dockyard.api.hijack import Hijacked, hijack
from dockyard.api.streams import frame, json_response
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.runtime import AsyncAttachSocket

__all__ = ["register"]

_STDOUT, _STDERR = 1, 2


def _docker_stream(stream: Any) -> int:
    """conmon's stream ids (2 stdout, 3 stderr) or the runtime's enum -> Docker's (1, 2)."""
    name = getattr(stream, "name", str(stream)).lower()
    return _STDERR if "err" in name else _STDOUT


async def _pump(hj: Hijacked, conn: AsyncAttachSocket, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> None:
    """Client bytes -> the container's stdin; the container's output -> the client, until the output ends."""

    async def from_client() -> None:
        while True:
            data = await hj.read()
            if not data:
                if stdin:
                    conn.close_stdin()
                return
            if stdin:
                try:
                    await conn.send(data)
                except OSError:
                    return

    feeder = asyncio.ensure_future(from_client())
    try:
        while True:
            packet = await conn.recv()
            if packet is None:
                break
            stream, data = packet
            which = _docker_stream(stream)
            if (which == _STDOUT and not stdout) or (which == _STDERR and not stderr):
                continue
            if not await hj.write(data if tty else frame(which, data)):
                break
    finally:
        feeder.cancel()
        conn.close()


def _async_socket(sync_sock: Any) -> AsyncAttachSocket:
    from dockyard.runtime import AsyncAttachSocket

    sock = sync_sock.sock
    sock.setblocking(False)
    return AsyncAttachSocket(sock)


async def attach(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    name = request.match_info["id"]
    record = await in_thread(engine.containers.get, name)
    pending = await in_thread(engine.containers.attach, record.id)
    hj = await hijack(request)
    try:
        sock = await in_own_thread(pending.wait)
    except Exception as exc:
        await hj.write(str(exc).encode() + b"\n")
        hj.close()
        return hj.response
    await _pump(
        hj,
        _async_socket(sock),
        tty=record.config.tty,
        stdin=flag(request, "stdin"),
        stdout=flag(request, "stdout", True),
        stderr=flag(request, "stderr", True),
    )
    hj.close()
    return hj.response


async def logs(request: web.Request) -> web.StreamResponse:
    from dockyard.runtime import LogOptions
    from dockyard.runtime.logs import format_timestamp
    from dockyard.timeutil import parse_timestamp

    engine = engine_of(request)
    name = request.match_info["id"]
    record = await in_thread(engine.containers.get, name)
    tail_raw = request.query.get("tail", "all")
    tail = None if tail_raw in ("", "all") else int(tail_raw)
    since = request.query.get("since")
    until = request.query.get("until")
    options = LogOptions(
        stdout=flag(request, "stdout"),
        stderr=flag(request, "stderr"),
        follow=flag(request, "follow"),
        tail=tail,
        since_ns=int(parse_timestamp(since) * 1e9) if since and since != "0" else None,
        until_ns=int(parse_timestamp(until) * 1e9) if until and until != "0" else None,
    )
    if not options.stdout and not options.stderr:
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    timestamps = flag(request, "timestamps")
    tty = record.config.tty
    response = web.StreamResponse(status=200)
    response.enable_chunked_encoding()
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)
    stop = threading.Event()

    def produce() -> None:
        try:
            for entry in engine.containers.logs(record.id, options):
                if stop.is_set():
                    return
                data = entry.data
                if timestamps:
                    data = format_timestamp(entry.time_ns).encode() + b" " + data
                chunk = data if tty else frame(_docker_stream(entry.stream), data)
                asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(None), loop)

    threading.Thread(target=produce, daemon=True, name="dockyard-api-logs").start()
    try:
        while (chunk := await queue.get()) is not None:
            await response.write(chunk)
        await response.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass
    finally:
        stop.set()
    return response


# -- exec ---------------------------------------------------------------------------------------------------
async def exec_create(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import exec_create_options

    body = await request.json()
    options = exec_create_options(body)
    exec_id = await in_thread(engine_of(request).containers.exec_create, request.match_info["id"], options)
    return json_response({"Id": exec_id}, 201)


async def exec_start(request: web.Request) -> web.StreamResponse:
    from dockyard.runtime import AsyncAttachSocket

    engine = engine_of(request)
    exec_id = request.match_info["id"]
    upgraded = bool(getattr(request.protocol, "_upgraded", False))
    if not upgraded and request.headers.get("Upgrade", "").lower() != "tcp":
        body = await request.json() if request.can_read_body else {}
        if body.get("Detach"):
            console = body.get("ConsoleSize")
            await in_thread(engine.containers.exec_start, exec_id, detach=True,
                            console_size=tuple(console) if console else None)  # fmt: skip
            return web.Response(status=200)
    info = await in_thread(engine.containers.exec_inspect, exec_id)  # 404 before the upgrade
    hj = await hijack(request, {"Api-Version": request.headers.get("Api-Version", "1.41")})
    raw = await hj.body()
    body = json.loads(raw) if raw.strip() else {}
    console = body.get("ConsoleSize")
    if body.get("Detach"):
        await in_thread(engine.containers.exec_start, exec_id, detach=True,
                        console_size=tuple(console) if console else None)  # fmt: skip
        hj.close()
        return hj.response
    handle = await in_thread(engine.containers.exec_start, exec_id, detach=False,
                             console_size=tuple(console) if console else None)  # fmt: skip
    try:
        conn = await AsyncAttachSocket.connect(handle.attach_socket)
        await in_thread(handle.start)
        opts = info.options
        await _pump(hj, conn, tty=opts.tty, stdin=opts.attach_stdin, stdout=True, stderr=True)
        await in_own_thread(lambda: handle.wait(30))
    finally:
        handle.close()
        hj.close()
    return hj.response


async def exec_inspect(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import exec_inspect_json

    info = await in_thread(engine_of(request).containers.exec_inspect, request.match_info["id"])
    return json_response(exec_inspect_json(info))


async def exec_resize(request: web.Request) -> web.Response:
    h = int(request.query.get("h", "0") or 0)
    w = int(request.query.get("w", "0") or 0)
    await in_thread(engine_of(request).containers.exec_resize, request.match_info["id"], h, w)
    return web.Response(status=200)


def register(router: Router) -> None:
    router.add("POST", "/containers/{id}/attach", attach)
    router.add("GET", "/containers/{id}/logs", logs)
    router.add("POST", "/containers/{id}/exec", exec_create)
    router.add("POST", "/exec/{id}/start", exec_start)
    router.add("GET", "/exec/{id}/json", exec_inspect)
    router.add("POST", "/exec/{id}/resize", exec_resize)
