"""Small filesystem helpers shared by the store and the layers above it: fsync a directory, atomic write, safe
removal, and paths resolved inside a root filesystem as if it were ``/``."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from dockyard.errors import InvalidArgument, Unavailable

__all__ = ["MAX_SCOPED_LINKS", "atomic_write", "disk_error", "fsync_dir", "remove_tree", "resolve_scoped"]

MAX_SCOPED_LINKS = 255  # moby's FollowSymlinkInScope gives up after as many


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_error(exc: OSError, what: str) -> Exception:
    """Turn ENOSPC/EDQUOT/EROFS into a plain Unavailable; leave other errors as they are."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Unavailable(f"{what}: no space left on device", hint="free some disk space and retry")
    if exc.errno == errno.EROFS:
        return Unavailable(f"{what}: read-only file system")
    return exc


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # here, not at the top: ~2 ms at import (random, shutil), only writes need it

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise disk_error(exc, f"write {path}") from exc


def remove_tree(path: Path) -> None:
    """Remove a directory tree quickly: rename it aside first so a crash never leaves a half tree in place."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        trash = path.with_name(f".trash-{path.name}-{os.getpid()}")
        try:
            os.rename(path, trash)
        except OSError:
            trash = path
        import shutil  # here: ~3 ms at import (bz2, lzma, zlib), and a detached ``run`` never removes a tree

        shutil.rmtree(trash, ignore_errors=True)
        if trash.exists():
            _force_rmtree(trash)
    else:
        path.unlink(missing_ok=True)


def _force_rmtree(path: Path) -> None:
    def onerror(func, p, exc_info):  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)

    import shutil

    shutil.rmtree(path, onerror=onerror)


def syncfs(path: Path) -> None:
    """syncfs(2) on the filesystem holding ``path``: flush a whole unpacked tree with one call."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise disk_error(OSError(err, os.strerror(err)), f"sync {path}")
    finally:
        os.close(fd)


def resolve_scoped(root: str | os.PathLike[str], path: str) -> list[str]:
    """moby's ``FollowSymlinkInScope``: the components of ``path`` under ``root`` with every symbolic link resolved as
    if ``root`` were ``/`` — absolute targets start again from ``root``, ``..`` stops there — so the result never
    leaves ``root``. Components that do not exist (or cannot be looked at) are kept as written. What a build's
    ``COPY`` reads from the context or writes into the image, and what a volume is populated from, go through it.
    """
    done: list[str] = []
    todo = [p for p in reversed(path.split("/")) if p not in ("", ".")]
    links = 0
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            done.append(part)
            continue
        if (st.st_mode & 0o170000) != 0o120000:  # not a symbolic link
            done.append(part)
            continue
        links += 1
        if links > MAX_SCOPED_LINKS:
            raise InvalidArgument(f"too many levels of symbolic links in {path}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            done = []
        todo.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
    return done
