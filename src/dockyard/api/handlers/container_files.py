"""Container files over the API: archive (``docker cp``), export, changes (``docker diff``), ``POST /commit``."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag
from dockyard.api.streams import json_response
from dockyard.errors import InvalidArgument

__all__ = ["register"]

_STAT_HEADER = "X-Docker-Container-Path-Stat"


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidArgument("path is required")
    return path


async def archive_head(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import archive_stat_header

    info = await in_thread(engine_of(request).containers.archive_stat, request.match_info["id"], _path(request))
    return web.Response(status=200, headers={_STAT_HEADER: archive_stat_header(info)})


async def _stream_file_from(request: web.Request, work: object, headers: dict[str, str]) -> web.StreamResponse:
    """Run ``work(out)`` in a thread writing a tar into a pipe; stream the pipe to the client."""
    read_fd, write_fd = os.pipe()
    loop = asyncio.get_running_loop()
    error: list[BaseException] = []

    def produce() -> None:
        with os.fdopen(write_fd, "wb") as out:
            try:
                work(out)  # type: ignore[operator]
            except BaseException as exc:
                error.append(exc)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar", **headers})
    response.enable_chunked_encoding()
    await response.prepare(request)
    with os.fdopen(read_fd, "rb") as src:
        while chunk := await loop.run_in_executor(None, src.read, 1 << 20):
            await response.write(chunk)
    await response.write_eof()
    return response


async def archive_get(request: web.Request) -> web.StreamResponse:
    from dockyard.api.schemas.containers import archive_stat_header

    engine = engine_of(request)
    name, path = request.match_info["id"], _path(request)
    info = await in_thread(engine.containers.archive_stat, name, path)  # 404 before streaming
    return await _stream_file_from(
        request, lambda out: engine.containers.archive_get(name, path, out), {_STAT_HEADER: archive_stat_header(info)}
    )


async def archive_put(request: web.Request) -> web.Response:
    engine = engine_of(request)
    name, path = request.match_info["id"], _path(request)
    with tempfile.TemporaryFile() as tmp:
        async for chunk in request.content.iter_chunked(1 << 20):
            tmp.write(chunk)
        tmp.seek(0)
        await in_thread(engine.containers.archive_put, name, path, tmp)
    return web.Response(status=200)


async def export(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    name = request.match_info["id"]
    await in_thread(engine.containers.get, name)
    return await _stream_file_from(request, lambda out: engine.containers.export(name, out), {})


async def changes(request: web.Request) -> web.Response:
    from dockyard.api.schemas.containers import changes_json

    result = await in_thread(engine_of(request).containers.diff, request.match_info["id"])
    return json_response(changes_json(result) or None)


async def commit(request: web.Request) -> web.Response:
    from dockyard.engine.containers.commit import CommitOptions

    container = request.query.get("container", "")
    repo = request.query.get("repo", "")
    tag = request.query.get("tag", "")
    reference = (f"{repo}:{tag}" if tag else repo) or None
    options = CommitOptions(
        reference=reference,
        author=request.query.get("author", ""),
        message=request.query.get("comment", ""),
        changes=tuple(request.query.getall("changes", [])),
        pause=flag(request, "pause", True),
    )
    image_id = await in_thread(engine_of(request).containers.commit, container, options)
    return json_response({"Id": image_id}, 201)


def register(router: Router) -> None:
    router.add("HEAD", "/containers/{id}/archive", archive_head)
    router.add("GET", "/containers/{id}/archive", archive_get)
    router.add("PUT", "/containers/{id}/archive", archive_put)
    router.add("GET", "/containers/{id}/export", export)
    router.add("GET", "/containers/{id}/changes", changes)
    router.add("POST", "/commit", commit)
