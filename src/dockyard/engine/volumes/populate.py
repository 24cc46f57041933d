"""Copying an image's directory into a new volume ("populated from the image on first use", as Docker does).

:func:`resolve_in_root` finds ``container_path`` inside a root filesystem the way the container would see it
(symbolic links followed, but never out of the root: Docker's ``FollowSymlinkInScope``). :func:`copy_tree` then
copies like containerd's ``fs.CopyDir``: owners, modes (setuid bits too), extended attributes, symbolic links,
hard links (kept linked), device nodes, FIFOs and timestamps; the source directory's own attributes go onto the
destination directory. Overlay whiteouts and ``trusted.overlay.*`` attributes are never copied.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.store.fsutil import resolve_scoped

__all__ = ["copy_tree", "dir_size", "is_empty", "resolve_in_root"]

log = logging.getLogger(__name__)

_SKIP_XATTR_PREFIXES = ("trusted.overlay.", "security.selinux")
_IGNORED_XATTR_ERRORS = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES)


def resolve_in_root(root: Path, path: str) -> Path:
    """``root/path`` with every symbolic link resolved as if ``root`` were ``/`` (``..`` stops at the root).

    Components that do not exist are kept as written; the result is always inside ``root``.
    """
    try:
        return root.joinpath(*resolve_scoped(root, path))
    except InvalidArgument as exc:
        raise InvalidArgument(f"populate volume: {exc}") from None


def is_empty(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def dir_size(path: Path) -> int:
    """Bytes used by the files under ``path`` as moby's ``directory.Size`` counts them (hard links once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))
                continue
            if st.st_size == 0 or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def copy_tree(src: Path, dst: Path) -> None:
    """Copy the tree under the directory ``src`` onto ``dst`` (created when missing), attributes included.

    Entries already in ``dst`` are replaced, so a copy cut short by a killed process can simply be run again.
    """
    st = os.lstat(src)
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidArgument(f"populate volume: {src} is not a directory")
    if not dst.is_dir() or dst.is_symlink():
        _remove(dst)
        os.mkdir(dst, 0o700)
    inodes: dict[tuple[int, int], Path] = {}
    _copy_dir(src, dst, inodes)
    _copy_attributes(src, st, dst)


def _remove(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(path)
    else:
        os.unlink(path)


def _copy_dir(src: Path, dst: Path, inodes: dict[tuple[int, int], Path]) -> None:
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        source = Path(entry.path)
        target = dst / entry.name
        st = entry.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if not (target.is_dir() and not target.is_symlink()):
                _remove(target)
                os.mkdir(target, 0o700)
            _copy_dir(source, target, inodes)
            _copy_attributes(source, st, target)
            continue
        if stat.S_ISCHR(mode) and st.st_rdev == 0:
            continue  # an overlay whiteout: not content
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and not stat.S_ISLNK(mode) and key in inodes:
            _remove(target)
            os.link(inodes[key], target)
            continue
        _remove(target)
        if stat.S_ISREG(mode):
            _copy_file(source, target)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        else:
            log.debug("populate volume: skipping %s (unknown file type %o)", source, stat.S_IFMT(mode))
            continue
        _copy_attributes(source, st, target)
        if st.st_nlink > 1 and not stat.S_ISLNK(mode):
            inodes[key] = target


def _copy_file(source: Path, target: Path) -> None:
    fd_in = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fd_in).st_size
            copied = 0
            use_range = True
            while copied < size:
                chunk = min(size - copied, 1 << 30)
                if use_range:
                    try:
                        n = os.copy_file_range(fd_in, fd_out, chunk)
                    except OSError as exc:
                        if exc.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                            raise
                        use_range = False
                        continue
                else:
                    n = os.sendfile(fd_out, fd_in, None, chunk)
                if n == 0:
                    break  # the file shrank while we copied it
                copied += n
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_attributes(source: Path, st: os.stat_result, target: Path) -> None:
    """Owner, then mode (chown clears setuid bits), then extended attributes (chown drops file capabilities),
    then times (last, since everything before touches ctime or mtime)."""
    link = stat.S_ISLNK(st.st_mode)
    try:
        os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    except PermissionError:
        if os.geteuid() == 0:
            raise
    if not link:
        os.chmod(target, stat.S_IMODE(st.st_mode))
    _copy_xattrs(source, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_xattrs(source: Path, target: Path) -> None:
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _IGNORED_XATTR_ERRORS:
            return
        raise
    for name in names:
        if name.startswith(_SKIP_XATTR_PREFIXES):
            continue
        try:
            value = os.getxattr(source, name, follow_symlinks=False)
            os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _IGNORED_XATTR_ERRORS:
                raise
            log.debug("populate volume: cannot copy xattr %s of %s: %s", name, source, exc.strerror)
