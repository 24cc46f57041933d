"""A container's files: ``cp`` in both directions, ``diff``, ``export`` and ``commit``.

Every path a user names is resolved inside the container with ``openat2(RESOLVE_IN_ROOT)``: absolute symlinks
and ``..`` stay in the container's root, so nothing reads or writes outside it. Trees are walked by file
descriptor without following symlinks (a symlink is archived as a symlink). A running container is seen
through ``/proc/<pid>/root`` (its volumes included, as Docker's ``cp`` does); a stopped one through its root
filesystem, mounted for the time of the call under the container's lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dockyard.engine.containers.types import ContainerStatus
from dockyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers.records import ContainerRecord
    from dockyard.engine.containers.service import ContainerService

__all__ = [
    "RUNTIME_MOUNTPOINTS",
    "ArchiveStat",
    "Change",
    "ChangeKind",
    "archive_get",
    "archive_put",
    "changes",
    "container_root",
    "export_root",
    "open_in_root",
    "rebase_name",
    "stat_in_root",
    "tree_size",
    "write_tree",
]

_SYS_OPENAT2 = 437  # x86_64 and aarch64 alike
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
# paths the runtime creates as mount points in the root filesystem: not the container's own changes
RUNTIME_MOUNTPOINTS = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev", "/proc", "/sys",
                       "/sbin/docker-init", "/.dockerenv")  # fmt: skip


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def open_in_root(root_fd: int, path: str, flags: int = os.O_RDONLY) -> int:
    """openat2 of ``path`` with ``root_fd`` as ``/``: symlinks and ``..`` cannot leave it."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(_SYS_OPENAT2, root_fd, os.fsencode(path or "/"), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (hard links counted once), 0 if it does not exist."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_size
    return total


@contextlib.contextmanager
def container_root(svc: ContainerService, record: ContainerRecord, *, with_mounts: bool = True) -> Iterator[int]:
    """A directory fd of the container's ``/``: ``/proc/<pid>/root`` while it runs (with ``with_mounts``), else
    its root filesystem (mounted for the duration if it was not)."""
    with svc.locks.hold(record.id):
        current = svc.store.get(record.id) or record
        if with_mounts and current.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED) and current.pid:
            fd = os.open(f"/proc/{current.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                yield fd
            finally:
                os.close(fd)
            return
        snapshots = svc.engine.store.snapshots
        merged = svc.layout.layers / "active" / record.id / "merged"
        from dockyard.store.mounts import is_mountpoint

        mounted_here = not is_mountpoint(merged)
        if mounted_here:
            snapshots.mount(record.id)
        try:
            fd = os.open(merged, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                yield fd
            finally:
                os.close(fd)
        finally:
            if mounted_here and current.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
                snapshots.unmount(record.id)


@dataclass(frozen=True)
class ArchiveStat:
    """Docker's ``X-Docker-Container-Path-Stat``: what the path names in the container."""

    name: str
    size: int
    mode: int  # st_mode
    mtime: float
    link_target: str = ""

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def stat_in_root(root_fd: int, path: str) -> ArchiveStat:
    """Stat ``path`` in the container (a final symlink is resolved, as Docker's stat of a cp source)."""
    clean = posixpath.normpath("/" + path)
    try:
        fd = open_in_root(root_fd, clean, os.O_PATH)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFound(f"Could not find the file {path} in container") from None
        raise
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    link = ""
    parent, base = posixpath.split(clean)
    try:
        pfd = open_in_root(root_fd, parent, os.O_PATH | os.O_DIRECTORY)
        try:
            link = os.readlink(base, dir_fd=pfd) if base else ""
        finally:
            os.close(pfd)
    except OSError:
        link = ""
    return ArchiveStat(posixpath.basename(clean) or "/", st.st_size, st.st_mode, st.st_mtime, link)


def _tarinfo(name: str, st: os.stat_result, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    else:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    return info


def write_tree(
    tar: tarfile.TarFile,
    dir_fd: int,
    name: str,
    arcname: str,
    *,
    links: dict[tuple[int, int], str] | None = None,
    skip: frozenset[str] = frozenset(),
    prefix: str = "",
) -> None:
    """Archive ``name`` (relative to ``dir_fd``, not followed if it is a symlink) as ``arcname``, recursively.
    ``skip`` names container paths (``prefix`` + name) left out."""
    links = {} if links is None else links
    path_in_container = posixpath.join(prefix, name) if name else prefix
    if path_in_container in skip:
        return
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False) if name else os.fstat(dir_fd)
    link = os.readlink(name, dir_fd=dir_fd) if stat.S_ISLNK(st.st_mode) else ""
    info = _tarinfo(arcname, st, link)
    if info.type == tarfile.REGTYPE and st.st_nlink > 1:
        key = (st.st_dev, st.st_ino)
        if key in links:
            info.type, info.linkname, info.size = tarfile.LNKTYPE, links[key], 0
            tar.addfile(info)
            return
        links[key] = arcname
    if info.type == tarfile.REGTYPE:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            tar.addfile(info, f)
        return
    tar.addfile(info)
    if info.type != tarfile.DIRTYPE:
        return
    sub = os.open(name or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        for entry in sorted(os.listdir(sub)):
            write_tree(tar, sub, entry, f"{arcname.rstrip('/')}/{entry}" if arcname else entry, links=links,
                       skip=skip, prefix=path_in_container)  # fmt: skip
    finally:
        os.close(sub)


def archive_get(root_fd: int, path: str, out: IO[bytes]) -> ArchiveStat:
    """Docker's ``GET /containers/{id}/archive``: a tar of ``path`` whose entries start with its base name
    (``path/.``: the directory's content under ``.``). Symlinks inside are archived, never followed."""
    st = stat_in_root(root_fd, path)
    clean = posixpath.normpath("/" + path)
    contents_only = path.endswith("/.") or path == "."
    parent, base = posixpath.split(clean)
    if contents_only:
        parent, base = clean, ""
    pfd = open_in_root(root_fd, parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            write_tree(tar, pfd, base, base if base else ".")
    finally:
        os.close(pfd)
    return st


def rebase_name(name: str, old: str, new: str) -> str:
    """docker's ``RebaseArchiveEntries``: replace the first component ``old`` by ``new``."""
    if name == old:
        return new
    if name.startswith(old + "/"):
        return new + name[len(old) :]
    return name


class ChangeKind(IntEnum):
    """Docker's ``Kind`` of ``GET /containers/{id}/changes`` (0 modified, 1 added, 2 deleted)."""

    MODIFIED = 0
    ADDED = 1
    DELETED = 2

    @property
    def letter(self) -> str:
        return "CAD"[self.value]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind


def _in_lowers(lowers: list[Path], rel: str) -> os.stat_result | None:
    """The entry ``rel`` as the image shows it (None: absent, or deleted by a whiteout above it)."""
    for lower in lowers:
        try:
            st = os.lstat(lower / rel)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None
        return st
    return None


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def changes(upper: Path, lowers: list[Path], ignore: frozenset[str]) -> list[Change]:
    """``docker diff`` from an overlay upper directory: whiteouts are deletions, entries the image has are
    modifications, the rest additions. Runtime mount points (empty, created by runc) are not changes."""
    found: dict[str, Change] = {}
    for dirpath, dirs, files in os.walk(upper):
        for name in sorted(dirs + files):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, upper)
            path = "/" + rel
            st = os.lstat(full)
            if _is_whiteout(st):
                found[path] = Change(path, ChangeKind.DELETED)
                continue
            lower = _in_lowers(lowers, rel)
            if path in ignore and (stat.S_ISDIR(st.st_mode) or st.st_size == 0):
                continue
            kind = ChangeKind.MODIFIED if lower is not None else ChangeKind.ADDED
            found[path] = Change(path, kind)
    # a directory merely copied up for a child that turned out to be a mount point is no change either
    for path in sorted(found, key=len, reverse=True):
        change = found[path]
        if change.kind is not ChangeKind.MODIFIED:
            continue
        upper_path = upper / path.lstrip("/")
        lower = _in_lowers(lowers, path.lstrip("/"))
        if not upper_path.is_dir() or lower is None:
            continue
        st = os.lstat(upper_path)
        same = (st.st_mode, st.st_uid, st.st_gid) == (lower.st_mode, lower.st_uid, lower.st_gid)
        children = any(p.startswith(path.rstrip("/") + "/") for p in found)
        if same and not children:
            del found[path]
    return sorted(found.values(), key=lambda c: c.path)


def _entry_parts(name: str) -> list[str]:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidArgument(f"copy into container: refusing an entry that climbs out: {name!r}")
    return parts


def _replace(dir_fd: int, name: str, keep_dir: bool) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return
        import shutil

        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            shutil.rmtree(f"/proc/self/fd/{sub}")
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=dir_fd)
        return
    os.unlink(name, dir_fd=dir_fd)


def _extract(root_fd: int, dest: str, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    parts = _entry_parts(member.name)
    if not parts:
        return
    parent = posixpath.join(dest, *parts[:-1])
    name = parts[-1]
    try:
        dfd = open_in_root(root_fd, parent, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        _makedirs(root_fd, parent)
        dfd = open_in_root(root_fd, parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _replace(dfd, name, keep_dir=member.isdir())
        if member.isdir():
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=dfd)
        elif member.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dfd)  # fmt: skip
            with os.fdopen(fd, "wb") as f:
                source = tar.extractfile(member)
                assert source is not None
                while chunk := source.read(1 << 20):
                    f.write(chunk)
        elif member.issym():
            os.symlink(member.linkname, name, dir_fd=dfd)
        elif member.islnk():
            target = posixpath.join(dest, *_entry_parts(member.linkname))
            tparent, tname = posixpath.split(target)
            tfd = open_in_root(root_fd, tparent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(tname, name, src_dir_fd=tfd, dst_dir_fd=dfd, follow_symlinks=False)
            finally:
                os.close(tfd)
            return
        elif member.isfifo():
            os.mkfifo(name, 0o600, dir_fd=dfd)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(name, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=dfd)
        else:
            return
        os.chown(name, member.uid, member.gid, dir_fd=dfd, follow_symlinks=False)
        if not member.issym():
            os.chmod(name, member.mode, dir_fd=dfd)
            os.utime(name, (member.mtime, member.mtime), dir_fd=dfd)
    finally:
        os.close(dfd)


def _makedirs(root_fd: int, path: str) -> None:
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        fd = open_in_root(root_fd, posixpath.dirname(current), os.O_RDONLY | os.O_DIRECTORY)
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
        finally:
            os.close(fd)


def archive_put(root_fd: int, path: str, source: IO[bytes]) -> None:
    """Docker's ``PUT /containers/{id}/archive``: extract a tar into the existing directory ``path``, every entry
    placed inside the container (no entry may climb out with ``..``; symlinks are created, never followed)."""
    clean = posixpath.normpath("/" + path)
    try:
        fd = open_in_root(root_fd, clean, os.O_PATH)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFound(f"Could not find the file {path} in container") from None
        raise
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise InvalidArgument("extraction point is not a directory")
    finally:
        os.close(fd)
    try:
        with tarfile.open(fileobj=source, mode="r|*") as tar:
            for member in tar:
                _extract(root_fd, clean, tar, member)
    except tarfile.TarError as exc:
        raise InvalidArgument(f"copy into container: not a valid tar archive: {exc}") from None


def export_root(root_fd: int, out: IO[bytes]) -> None:
    """``docker export``: the container's root filesystem as a tar (entry names relative, no ``./``)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        links: dict[tuple[int, int], str] = {}
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root_fd)
        try:
            for entry in sorted(os.listdir(fd)):
                write_tree(tar, fd, entry, entry, links=links)
        finally:
            os.close(fd)
