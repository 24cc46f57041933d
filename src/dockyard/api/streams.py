"""Writing Docker's streams: JSON progress messages, multiplexed stdout/stderr frames, hijacked sockets."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["JsonStream", "frame", "go_json_bytes", "json_response"]


def go_json_bytes(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def json_response(value: Any, status: int = 200) -> web.Response:
    """A JSON body the way dockerd writes it (Go escaping, trailing newline)."""
    return web.Response(body=go_json_bytes(value) + b"\n", status=status, content_type="application/json")


def frame(stream: int, data: bytes) -> bytes:
    """stdcopy framing: ``[stream, 0, 0, 0, uint32 BE length] + payload`` (1 stdout, 2 stderr)."""
    return struct.pack(">BxxxI", stream, len(data)) + data


class JsonStream:
    """A chunked ``application/json`` response of one JSON object per chunk, each ending with ``\\r\\n``.

    Engine code runs in a worker thread and calls :meth:`send_threadsafe`; the messages are written in order.
    """

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        self.response.enable_chunked_encoding()
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def prepare(self) -> None:
        await self.response.prepare(self.request)

    def send_threadsafe(self, line: bytes | str | dict[str, Any]) -> None:
        if isinstance(line, dict):
            data = go_json_bytes(line) + b"\r\n"
        elif isinstance(line, str):
            data = line.encode()
        else:
            data = line
        self.loop.call_soon_threadsafe(self.queue.put_nowait, data)

    def close_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def run(self, work: Callable[[], None]) -> web.StreamResponse:
        """Run ``work`` in a thread while streaming what it sends.

        The response starts with the first message: an error raised before any output is an ordinary HTTP
        error (a 404 for ``manifest unknown``, as dockerd answers); after that it becomes an ``errorDetail``
        message in the stream.
        """
        from dockyard.errors import DockyardError

        failure: list[BaseException] = []

        def wrapped() -> None:
            try:
                work()
            except BaseException as exc:
                failure.append(exc)
            finally:
                self.close_threadsafe()

        job = asyncio.get_running_loop().run_in_executor(None, wrapped)
        first = await self.queue.get()
        if first is None and failure:
            await job
            raise failure[0]
        await self.prepare()
        item = first
        while item is not None:
            try:
                await self.response.write(item)
            except (ConnectionResetError, RuntimeError):
                break
            item = await self.queue.get()
        await job
        if failure:
            exc = failure[0]
            message = exc.message if isinstance(exc, DockyardError) else str(exc)
            try:
                await self.response.write(
                    go_json_bytes({"errorDetail": {"message": message}, "error": message}) + b"\r\n"
                )
            except (ConnectionResetError, RuntimeError):
                pass
        try:
            await self.response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return self.response
