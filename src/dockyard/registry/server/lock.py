"""The storage lock: one registry process (server or gc) per storage directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import FailedPrecondition

__all__ = ["lock_storage"]


@contextlib.contextmanager
def lock_storage(storage: Path, what: str) -> Iterator[None]:
    """Hold the storage's exclusive lock; ``FailedPrecondition`` when a server (or gc) already holds it."""
    storage.mkdir(parents=True, exist_ok=True)
    fd = os.open(storage / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise FailedPrecondition(
                f"{what}: storage {storage} is in use by another registry process (pid {holder})",
                hint="stop the running registry first",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
