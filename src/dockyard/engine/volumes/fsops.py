"""Filesystem steps of the volume service: durable directory operations, locks, moving trees aside safely."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from dockyard.engine.volumes.driver import unmount_volume
from dockyard.errors import FailedPrecondition
from dockyard.store.fsutil import disk_error as store_disk_error
from dockyard.store.fsutil import fsync_dir, syncfs

__all__ = ["disk_error", "fsync_dir", "locked", "remove_tree", "syncfs", "trash_pid"]

log = logging.getLogger(__name__)


def trash_pid(entry: str) -> int:
    """The process ID in ``.trash-<pid>-<random>-<name>``; 0 if there is none."""
    try:
        return int(entry.split("-")[1])
    except (IndexError, ValueError):
        return 0


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive flock(2) on a directory for the duration of the block (released if the process dies)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Delete a directory already moved aside (never following a mount point into another filesystem)."""
    import shutil

    from dockyard.store.mounts import mounts_under

    for point in mounts_under(path):
        unmount_volume(Path(point))
    if mounts_under(path):
        log.warning("not removing %s: something is still mounted below it", path)
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def disk_error(exc: OSError, what: str) -> Exception:
    """No space / read-only file system in plain words (the store's wording); anything else as it is."""
    err = store_disk_error(exc, what)
    if err is exc:
        where = f" {exc.filename}" if exc.filename else ""
        return FailedPrecondition(f"{what}:{where}: {exc.strerror or exc}")
    return err
