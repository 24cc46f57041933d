"""A minimal inotify (via libc, ctypes) and pidfd wait: how the runtime learns that a file changed or a process
ended without polling in a sleep loop."""

from __future__ import annotations

import os
import select
import struct
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_MODIFY",
    "IN_MOVED_TO",
    "Inotify",
    "pidfd",
    "wait_readable",
]

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


@cache
def _libc() -> Any:
    import ctypes  # only inotify needs it; pidfd waits do not

    return ctypes.CDLL(None, use_errno=True)  # the process's own libc; find_library would fork ldconfig


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


class Inotify:
    """``with Inotify() as ino: ino.watch(dir, IN_MOVED_TO); ino.wait(timeout)`` -> names of changed entries."""

    def __init__(self) -> None:
        fd = _libc().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = _errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd

    def watch(self, path: Path, mask: int) -> int:
        wd = _libc().inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            err = _errno()
            raise OSError(err, os.strerror(err), str(path))
        return int(wd)

    def fileno(self) -> int:
        return self.fd

    def read(self) -> list[str]:
        """The names in the events queued now (empty if none); never blocks."""
        names: list[str] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
                names.append(os.fsdecode(raw.rstrip(b"\0")))
                offset += _EVENT.size + length

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (readable once it exits), or None if the process is gone already."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def wait_readable(fds: list[int], timeout: float | None) -> list[int]:
    """The fds of ``fds`` that became readable within ``timeout`` seconds (None: wait for ever)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    events = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
    return [fd for fd, _ in events]
