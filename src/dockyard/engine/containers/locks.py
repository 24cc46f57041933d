"""One lock per container, shared by every dockyard process of a state root: ``flock`` on
``<root>/locks/containers/<id>``. The kernel drops it when its holder dies, so ``kill -9`` never leaves a
container locked; every holder re-reads the container's row after taking it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import Unavailable

__all__ = ["ContainerLocks"]


class ContainerLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._held: dict[str, int] = {}  # container ID -> depth, for re-entrancy within this process
        self._fds: dict[str, int] = {}
        self._guard = threading.RLock()
        self._thread_locks: dict[str, threading.RLock] = {}

    def _path(self, container_id: str) -> Path:
        return self.directory / container_id

    def _thread_lock(self, container_id: str) -> threading.RLock:
        with self._guard:
            return self._thread_locks.setdefault(container_id, threading.RLock())

    def _acquire(self, container_id: str, blocking: bool, timeout: float | None) -> bool:
        tlock = self._thread_lock(container_id)
        if not tlock.acquire(blocking=blocking, timeout=-1 if timeout is None or not blocking else timeout):
            return False
        if self._held.get(container_id):
            self._held[container_id] += 1
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(container_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking and deadline is None else fcntl.LOCK_NB))
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                        raise
                    if not blocking or (deadline is not None and time.monotonic() >= deadline):
                        os.close(fd)
                        tlock.release()
                        return False
                    time.sleep(0.02)
        except BaseException:
            os.close(fd)
            tlock.release()
            raise
        self._fds[container_id] = fd
        self._held[container_id] = 1
        return True

    def _release(self, container_id: str) -> None:
        depth = self._held.get(container_id, 0) - 1
        if depth <= 0:
            self._held.pop(container_id, None)
            fd = self._fds.pop(container_id, None)
            if fd is not None:
                os.close(fd)
        else:
            self._held[container_id] = depth
        self._thread_lock(container_id).release()

    @contextmanager
    def hold(self, container_id: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the container's lock (re-entrant in this process); Unavailable after ``timeout`` seconds."""
        if not self._acquire(container_id, True, timeout):
            raise Unavailable(f"container {container_id[:12]}: another dockyard process is busy with it")
        try:
            yield
        finally:
            self._release(container_id)

    @contextmanager
    def try_hold(self, container_id: str) -> Iterator[bool]:
        """Take the lock if it is free now; yields whether it was taken."""
        got = self._acquire(container_id, False, None)
        try:
            yield got
        finally:
            if got:
                self._release(container_id)

    def forget(self, container_id: str) -> None:
        """Remove the lock file of a removed container (call while holding it)."""
        try:
            self._path(container_id).unlink()
        except FileNotFoundError:
            pass
        with self._guard:
            if not self._held.get(container_id):
                self._thread_locks.pop(container_id, None)
