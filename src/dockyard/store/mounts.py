"""mount(2)/umount2(2) through libc, without spawning ``mount`` (it costs milliseconds per call)."""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from pathlib import Path

from dockyard.errors import FailedPrecondition

__all__ = ["MNT_DETACH", "is_mountpoint", "mount", "mounts_under", "umount"]

MNT_DETACH = 2
MS_RDONLY = 1
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_cwd_lock = threading.Lock()


def mount(
    source: str, target: str | os.PathLike[str], fstype: str, flags: int = 0, data: str = "", *, cwd: Path | None = None
) -> None:
    """mount(2). With ``cwd``, relative paths in ``data`` (overlay's lowerdir=l/...) resolve against it."""
    tgt = os.fsencode(os.path.abspath(target))

    def call() -> int:
        return int(_libc.mount(source.encode(), tgt, fstype.encode(), flags, data.encode() if data else None))

    if cwd is None:
        rc = call()
    else:
        with _cwd_lock:
            old = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.chdir(cwd)
                rc = call()
            finally:
                os.fchdir(old)
                os.close(old)
    if rc != 0:
        err = ctypes.get_errno()
        hint = None
        if fstype == "overlay" and err == errno.EINVAL:
            hint = "is the upper directory on a filesystem overlayfs supports, and are the mount options valid?"
        raise FailedPrecondition(f"mount {fstype} on {os.fsdecode(tgt)}: {os.strerror(err)}", hint=hint)


def umount(target: str | os.PathLike[str], flags: int = MNT_DETACH) -> bool:
    """Unmount; True if something was unmounted, False if nothing was mounted there."""
    rc = _libc.umount2(os.fsencode(os.path.abspath(target)), flags)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return False
        raise FailedPrecondition(f"unmount {target}: {os.strerror(err)}")
    return True


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _escape(path: str) -> str:
    return path.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below ``prefix`` (deepest first), from /proc/self/mounts."""
    pre = str(prefix).rstrip("/")
    found = []
    with open("/proc/self/mounts") as f:
        table = f.read()
    if _escape(pre) not in table:
        return []  # the common answer, found without splitting a line (hosts with many containers: many lines)
    for line in table.splitlines():
        parts = line.split(" ")
        if len(parts) > 2:
            mp = _unescape(parts[1])
            if mp == pre or mp.startswith(pre + "/"):
                found.append(mp)
    return sorted(found, key=len, reverse=True)


def is_mountpoint(path: Path) -> bool:
    return str(path).rstrip("/") in mounts_under(path)
