"""conmon's attach socket over asyncio, for the API server's hijacked connections (see ``attach.py``)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import FailedPrecondition
from dockyard.runtime.attach import RECV_SIZE, STDIN_CHUNK, Stream, decode_packet, short_socket_path

__all__ = ["AsyncAttachSocket"]


@dataclass
class AsyncAttachSocket:
    """conmon's attach socket over asyncio (non-blocking socket, ``loop.sock_*``)."""

    sock: socket.socket
    stdin_open: bool = True

    @classmethod
    async def connect(cls, path: Path) -> AsyncAttachSocket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        with short_socket_path(path) as name:
            try:
                await loop.sock_connect(sock, name)
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                raise FailedPrecondition(f"attach: the container is not running ({path} is not listening)") from None
        return cls(sock)

    async def recv(self) -> tuple[Stream, bytes] | None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                packet = await loop.sock_recv(self.sock, RECV_SIZE)
            except ConnectionResetError:
                return None
            if not packet:
                return None
            stream, data = decode_packet(packet)
            if data:
                return stream, data

    async def send(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for i in range(0, len(data), STDIN_CHUNK):
            await loop.sock_sendall(self.sock, data[i : i + STDIN_CHUNK])

    def close_stdin(self) -> None:
        if self.stdin_open:
            self.stdin_open = False
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
