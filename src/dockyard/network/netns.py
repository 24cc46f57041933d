"""Network namespaces as bind-mounted files, through libc (Python 3.11 has neither ``os.setns`` nor ``os.unshare``).

A namespace is created the way iproute2 and Docker do it: a short-lived thread calls ``unshare(CLONE_NEWNET)``
(which only moves that thread) and bind-mounts ``/proc/thread-self/ns/net`` onto an empty file; the file keeps the
namespace alive until it is unmounted. ``setns`` also only moves the calling thread, so :func:`entered` switches
the current thread in and always back.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["create", "entered", "exists", "netlink_socket_in", "remove"]

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _setns(fd: int) -> None:
    _check(_lib().setns(fd, CLONE_NEWNET), "setns")


def create(path: Path) -> Path:
    """Create a new, empty network namespace pinned at ``path`` (which must not exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o444)
    os.close(fd)
    failure: list[OSError] = []

    def pin() -> None:
        try:
            _check(_lib().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            _check(
                _lib().mount(b"/proc/thread-self/ns/net", os.fsencode(path), b"none", MS_BIND, None),
                f"bind-mount network namespace on {path}",
            )
        except OSError as exc:
            failure.append(exc)

    thread = threading.Thread(target=pin, name="netns-create")
    thread.start()
    thread.join()
    if failure:
        with contextlib.suppress(OSError):
            path.unlink()
        raise failure[0]
    return path


def exists(path: Path) -> bool:
    """True when ``path`` is a pinned network namespace (an nsfs mount), not just a leftover empty file."""
    try:
        return os.stat(path).st_dev != os.stat(path.parent).st_dev
    except OSError:
        return False


def remove(path: Path) -> bool:
    """Unpin and delete ``path``; ``False`` when there was nothing to remove. Idempotent."""
    found = False
    if _lib().umount2(os.fsencode(path), MNT_DETACH) == 0:
        found = True
    else:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise OSError(code, f"unmount network namespace {path}: {os.strerror(code)}")
    try:
        path.unlink()
        found = True
    except FileNotFoundError:
        pass
    return found


@contextlib.contextmanager
def entered(path: Path) -> Iterator[None]:
    """Run the block with the current thread inside the namespace at ``path``; always switch back."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def netlink_socket_in(path: Path, protocol: int = 0) -> socket.socket:
    """A NETLINK socket bound to the namespace at ``path`` (created inside it, usable from anywhere)."""
    with entered(path):
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
