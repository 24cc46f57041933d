"""Attaching to a container's stdio through conmon's attach socket, in three layers:

* a sans-IO core: conmon's packet format (SOCK_SEQPACKET; each packet's first byte names the stream: 2 stdout,
  3 stderr; stdin goes the other way unframed), Docker's 8-byte stream frames (``[stream,0,0,0,len32]``) for the
  API server and logs, and detach-key detection (``ctrl-p,ctrl-q``);
* :class:`AttachSocket`: a blocking client, with :func:`pump` moving bytes between it and file descriptors
  (the CLI: ``run``, ``start -a``, ``attach``, ``exec``);
* ``attach_async.AsyncAttachSocket``: the same over asyncio (the API server's hijacked connections).

Half-close matters: closing the client's write side (``close_stdin``) makes conmon close the container's stdin
(unless it was started with ``--leave-stdin-open``), while output keeps flowing until the container exits.
Resizing a terminal goes through the control FIFO, not the socket: :func:`resize`.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum, StrEnum
from pathlib import Path

from dockyard.errors import FailedPrecondition, InvalidArgument

__all__ = [
    "AttachSocket",
    "DetachKeys",
    "FrameDecoder",
    "PumpResult",
    "Stream",
    "decode_packet",
    "docker_frame",
    "pump",
    "resize",
    "short_socket_path",
]

STDIN_CHUNK = 16384  # conmon reads stdin packets into a 32 KiB buffer; stay well inside it
RECV_SIZE = 65536  # a packet is at most 8192 bytes of output plus the stream byte
_CONMON_STREAMS = {1: 0, 2: 1, 3: 2}  # conmon STDIN_PIPE/STDOUT_PIPE/STDERR_PIPE -> Docker's numbering
_FRAME = struct.Struct(">BxxxL")


class Stream(IntEnum):
    """Docker's stream numbers (the first byte of an 8-byte frame)."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2


def decode_packet(packet: bytes) -> tuple[Stream, bytes]:
    """One conmon attach packet -> (stream, payload)."""
    if not packet:
        raise InvalidArgument("attach: empty packet")
    stream = _CONMON_STREAMS.get(packet[0])
    if stream is None:
        raise InvalidArgument(f"attach: unknown stream {packet[0]} from conmon")
    return Stream(stream), packet[1:]


def docker_frame(stream: Stream, data: bytes) -> bytes:
    """Docker's multiplexed framing (non-TTY attach and logs): header + payload."""
    return _FRAME.pack(int(stream), len(data)) + data


class FrameDecoder:
    """Incremental decoder of Docker's 8-byte framed stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Stream, bytes]]:
        self._buffer += data
        out = []
        while len(self._buffer) >= _FRAME.size:
            stream, length = _FRAME.unpack_from(self._buffer)
            if len(self._buffer) < _FRAME.size + length:
                break
            out.append((Stream(stream), bytes(self._buffer[_FRAME.size : _FRAME.size + length])))
            del self._buffer[: _FRAME.size + length]
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


_KEY_NAMES = {"ctrl-@": 0, "ctrl-[": 27, "ctrl-\\": 28, "ctrl-]": 29, "ctrl-^": 30, "ctrl-_": 31}


class DetachKeys:
    """Docker's detach sequence (default ``ctrl-p,ctrl-q``): :meth:`feed` passes stdin through and tells when
    the whole sequence was typed. A partial match is held back until the next byte decides."""

    def __init__(self, spec: str = "ctrl-p,ctrl-q") -> None:
        self.sequence = self.parse(spec)
        self._held = b""

    @staticmethod
    def parse(spec: str) -> bytes:
        out = bytearray()
        for key in spec.split(","):
            k = key.strip().lower()
            if len(k) == 1:
                out.append(ord(key.strip()))
            elif k in _KEY_NAMES:
                out.append(_KEY_NAMES[k])
            elif k.startswith("ctrl-") and len(k) == 6 and "a" <= k[5] <= "z":
                out.append(ord(k[5]) - ord("a") + 1)
            else:
                raise InvalidArgument(f"Unknown character: '{key}'")
        return bytes(out)

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward now, whether the detach sequence was completed)."""
        if not self.sequence:
            return data, False
        out = bytearray()
        for byte in data:
            candidate = self._held + bytes([byte])
            if self.sequence.startswith(candidate):
                if candidate == self.sequence:
                    self._held = b""
                    return bytes(out), True
                self._held = candidate
            else:
                out += candidate
                self._held = b""
        return bytes(out), False


@contextmanager
def short_socket_path(path: Path) -> Iterator[str]:
    """A connectable name for ``path``: unix socket names are limited to 107 bytes, so longer ones go through
    ``/proc/self/fd/<dir fd>/<name>`` (as conmon binds them)."""
    if len(os.fsencode(path)) < 100:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def connect_socket(sock: socket.socket, path: Path) -> None:
    with short_socket_path(path) as name:
        try:
            sock.connect(name)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise FailedPrecondition(f"attach: the container is not running ({path} is not listening)") from None


class AttachSocket:
    """A blocking connection to conmon's attach socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.stdin_open = True

    @classmethod
    def connect(cls, path: Path) -> AttachSocket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        connect_socket(sock, path)
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, data: bytes) -> None:
        for i in range(0, len(data), STDIN_CHUNK):
            self.sock.sendall(data[i : i + STDIN_CHUNK])

    def close_stdin(self) -> None:
        if self.stdin_open:
            self.stdin_open = False
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def recv(self) -> tuple[Stream, bytes] | None:
        """The next output packet, or None at the end (the container exited or conmon closed us)."""
        while True:
            try:
                packet = self.sock.recv(RECV_SIZE)
            except ConnectionResetError:
                return None
            if not packet:
                return None
            stream, data = decode_packet(packet)
            if data:
                return stream, data

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AttachSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PumpResult(StrEnum):
    EXITED = "exited"  # the output ended: the container (or exec) is done
    DETACHED = "detached"  # the user typed the detach keys


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def pump(
    conn: AttachSocket,
    *,
    stdin: int | None = None,
    stdout: int | None = 1,
    stderr: int | None = 2,
    detach_keys: DetachKeys | None = None,
) -> PumpResult:
    """Move bytes until the container's output ends: ``stdin`` (an fd, or None) to the socket (EOF half-closes
    it), stdout/stderr packets to their fds (None discards). Blocking, for the CLI; put a TTY in raw mode first."""
    sel = selectors.DefaultSelector()
    sel.register(conn.fileno(), selectors.EVENT_READ, "conn")
    if stdin is not None:
        sel.register(stdin, selectors.EVENT_READ, "stdin")
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "stdin":
                    assert stdin is not None
                    data = os.read(stdin, STDIN_CHUNK)
                    if data and detach_keys is not None:
                        data, detached = detach_keys.feed(data)
                        if detached:
                            conn.send(data)
                            return PumpResult.DETACHED
                    if not data:
                        sel.unregister(stdin)
                        conn.close_stdin()
                        continue
                    try:
                        conn.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        sel.unregister(stdin)
                    continue
                packet = conn.recv()
                if packet is None:
                    return PumpResult.EXITED
                stream, data = packet
                target = stdout if stream is Stream.STDOUT else stderr
                if target is not None:
                    _write_all(target, data)
    finally:
        sel.close()


def resize(ctl: Path, height: int, width: int) -> None:
    """Resize the container's (or exec's) terminal through conmon's control FIFO."""
    try:
        fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, OSError) as exc:
        raise FailedPrecondition(f"resize terminal: the container is not running ({exc.strerror})") from None
    try:
        os.write(fd, f"1 {height} {width}\n".encode())
    finally:
        os.close(fd)
