"""Writing Docker's streams: JSON progress messages, multiplexed stdout/stderr frames, hijacked sockets."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["JsonStream", "frame", "json_response"]


def _go_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def json_response(value: Any, status: int = 200) -> web.Response:
    """A JSON body the way dockerd writes it (Go escaping, trailing newline)."""
    return web.Response(body=_go_json(value) + b"\n", status=status, content_type="application/json")


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
            data = _go_json(line) + b"\r\n"
        elif isinstance(line, str):
            data = line.encode()
        else:
            data = line
        self.loop.call_soon_threadsafe(self.queue.put_nowait, data)

    def close_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def pump(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                break
            try:
                await self.response.write(item)
            except (ConnectionResetError, RuntimeError):
                break

    async def run(self, work: Callable[[], None]) -> web.StreamResponse:
        """Run ``work`` in a thread while streaming what it sends; errors become an errorDetail message."""
        from dockyard.errors import DockyardError

        await self.prepare()

        def wrapped() -> None:
            try:
                work()
            except DockyardError as exc:
                self.send_threadsafe({"errorDetail": {"message": exc.message}, "error": exc.message})
            except Exception as exc:
                self.send_threadsafe({"errorDetail": {"message": str(exc)}, "error": str(exc)})
            finally:
                self.close_threadsafe()

        pump = asyncio.ensure_future(self.pump())
        await asyncio.get_running_loop().run_in_executor(None, wrapped)
        await pump
        await self.response.write_eof()
        return self.response
