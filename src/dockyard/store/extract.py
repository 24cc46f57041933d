"""The safe tar extractor: one layer's entries written under a target directory, never outside it.

:class:`Extractor` is handed the members of a layer tar one by one (by :func:`dockyard.store.unpack.unpack_stream`,
which decompresses, hashes and iterates) and refuses anything that would write outside the target directory:

* entry names that are absolute or contain ``..`` are refused;
* parent directories are resolved *inside* the target: a symlink in the path is followed as the container
  would see it (absolute targets from the layer root, ``..`` clamped at the root), never on the host;
* symlinks whose relative target climbs above the root, and hard links to anything outside the target or
  not yet extracted, are refused;
* device nodes are refused unless the caller allows them; FIFOs are fine.

OCI whiteouts become overlayfs whiteouts, so the directory can be used as a lower dir as it is:
``.wh.<name>`` -> a 0/0 character device ``<name>``, ``.wh..wh..opq`` -> the ``trusted.overlay.opaque``
xattr on the parent directory.

File contents are written with ``os.write`` straight from the reader's decompressed chunks, and metadata is set
through the open file descriptor. Entries are created optimistically (``O_EXCL``, ``mkdir``): only when the name is
taken already is the old entry looked at and replaced. Directory mtimes are set last, by :meth:`Extractor.finish`.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections import OrderedDict
from collections.abc import Callable

from dockyard.errors import CorruptContent
from dockyard.store.layerstream import ChunkReader

__all__ = ["OPAQUE_WHITEOUT", "OPAQUE_XATTR", "WHITEOUT_PREFIX", "Extractor"]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_SYMLINK_HOPS = 40
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_CACHE = 64  # open directory fds kept while extracting (tars list a directory's entries together)


def _clean_name(name: str) -> list[str]:
    """Split a tar entry name into components; refuse absolute paths and ``..``."""
    if name.startswith("/"):
        raise CorruptContent(f"unpack layer: refusing absolute path {name!r}")
    parts = name.split("/")
    if "" in parts or "." in parts:
        parts = [p for p in parts if p not in ("", ".")]
    if ".." in parts:
        raise CorruptContent(f"unpack layer: refusing path with '..': {name!r}")
    return parts


class Extractor:
    """Writes the members of one layer tar under the directory ``root_fd``; see the module docstring.

    ``reader`` is the stream the tar is read from: regular files copy their data from it. ``size`` adds up the bytes
    of regular-file content; call :meth:`finish` after the last member, and :meth:`close` in every case.
    """

    def __init__(self, root_fd: int, allow_devices: bool, reader: ChunkReader) -> None:
        self.root_fd = root_fd
        self.allow_devices = allow_devices
        self.reader = reader
        self.size = 0
        self.dir_times: list[tuple[list[str], int]] = []
        self.euid = os.geteuid()
        # unresolved parent path -> (fd, resolved path); cleared whenever an entry is removed or replaced
        self._dirs: OrderedDict[tuple[str, ...], tuple[int, list[str]]] = OrderedDict()

    def close(self) -> None:
        self._drop_cache()

    # -- path resolution inside the root ---------------------------------------------------------
    def _open_dir(self, parts: list[str], create: bool = True) -> tuple[int, list[str]]:
        """Open the directory ``parts`` relative to the root, following symlinks *inside* the root.

        Returns the fd (the caller closes it) and where it is, relative to the root. Starts from the longest cached
        prefix of ``parts``.
        """
        start = len(parts)
        while start and tuple(parts[:start]) not in self._dirs:
            start -= 1
        if start:
            cached_fd, cached_resolved = self._dirs[tuple(parts[:start])]
            fd, resolved = os.dup(cached_fd), list(cached_resolved)
        else:
            fd, resolved = os.dup(self.root_fd), []
        stack = list(reversed(parts[start:]))
        hops = 0
        try:
            while stack:
                part = stack.pop()
                if part == ".":
                    continue
                if part == "..":
                    if resolved:
                        resolved.pop()
                    os.close(fd)
                    fd = self._reopen(resolved)
                    continue
                try:
                    new = os.open(part, _O_DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    new = os.open(part, _O_DIR, dir_fd=fd)
                except NotADirectoryError:  # a symlink (O_NOFOLLOW) or not a directory at all
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode):
                        where = "/".join([*resolved, part])
                        raise CorruptContent(f"unpack layer: {where} is not a directory") from None
                    hops += 1
                    if hops > _MAX_SYMLINK_HOPS:
                        raise CorruptContent("unpack layer: too many levels of symbolic links") from None
                    link = os.readlink(part, dir_fd=fd)
                    if link.startswith("/"):
                        resolved = []
                        os.close(fd)
                        fd = os.dup(self.root_fd)
                    stack.extend(reversed([p for p in link.split("/") if p not in ("", ".")]))
                    continue
                os.close(fd)
                fd = new
                resolved.append(part)
            return fd, resolved
        except BaseException:
            os.close(fd)
            raise

    def _reopen(self, resolved: list[str]) -> int:
        fd = os.dup(self.root_fd)
        for part in resolved:
            new = os.open(part, _O_DIR, dir_fd=fd)
            os.close(fd)
            fd = new
        return fd

    def _parent_fd(self, parent: list[str]) -> int:
        """The directory fd for ``parent`` (cached; owned by the cache)."""
        key = tuple(parent)
        hit = self._dirs.get(key)
        if hit is not None:
            self._dirs.move_to_end(key)
            return hit[0]
        fd, resolved = self._open_dir(parent)
        self._dirs[key] = (fd, resolved)
        if len(self._dirs) > _DIR_CACHE:
            _, (old, _) = self._dirs.popitem(last=False)
            os.close(old)
        return fd

    def _drop_cache(self) -> None:
        for fd, _ in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def _remove_existing(self, dir_fd: int, name: str, keep_dir: bool) -> bool:
        """Remove ``name`` unless absent (or a directory to keep); True when something was removed."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return False
            self._drop_cache_except(dir_fd)
            _rmtree_at(dir_fd, name)
        else:
            self._drop_cache_except(dir_fd)
            os.unlink(name, dir_fd=dir_fd)
        return True

    def _drop_cache_except(self, keep: int) -> None:
        """Forget every cached directory but ``keep`` (the one being written in): a removal may have made any of
        them stale, and ``keep`` is in use by the caller."""
        for key, (fd, _) in list(self._dirs.items()):
            if fd != keep:
                os.close(fd)
                del self._dirs[key]

    # -- entries ---------------------------------------------------------------------------------
    def extract(self, m: tarfile.TarInfo) -> None:
        parts = _clean_name(m.name)
        if not parts:
            return  # the root itself ("./")
        parent, name = parts[:-1], parts[-1]
        dir_fd = self._parent_fd(parent)
        if name == OPAQUE_WHITEOUT:
            fd = os.open(".", _O_DIR, dir_fd=dir_fd)
            try:
                os.setxattr(fd, OPAQUE_XATTR, b"y")
            finally:
                os.close(fd)
            return
        if name.startswith(WHITEOUT_PREFIX):
            hidden = name[len(WHITEOUT_PREFIX) :]
            if not hidden or hidden in (".", ".."):
                raise CorruptContent(f"unpack layer: invalid whiteout {m.name!r}")
            self._remove_existing(dir_fd, hidden, keep_dir=False)
            os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=dir_fd)
            return
        if m.isreg():
            self._regular(m, dir_fd, name)
        else:
            self._other(m, dir_fd, parts)

    def _create(self, dir_fd: int, name: str, make: Callable[[], object]) -> None:
        """Run ``make`` (which creates ``name``); if the name is taken, replace what is there and run it again."""
        try:
            make()
        except FileExistsError:
            self._remove_existing(dir_fd, name, keep_dir=False)
            make()

    def _regular(self, m: tarfile.TarInfo, dir_fd: int, name: str) -> None:
        try:
            fd = os.open(name, _O_NEW_FILE, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            self._remove_existing(dir_fd, name, keep_dir=False)
            fd = os.open(name, _O_NEW_FILE, 0o600, dir_fd=dir_fd)
        try:
            reader = self.reader
            if reader.tell() != m.offset_data:
                reader.seek(m.offset_data)
            sparse: list[tuple[int, int]] | None = m.sparse  # type: ignore[assignment]
            if sparse is not None:  # GNU sparse: the data holds the listed extents only
                for offset, length in sparse:
                    os.lseek(fd, offset, os.SEEK_SET)
                    reader.copy_to(fd, length, offset)
                os.ftruncate(fd, m.size)
            elif m.size:
                reader.copy_to(fd, m.size)
            self.size += m.size
            if self.euid == 0:
                os.fchown(fd, m.uid, m.gid)  # before the mode: chown clears set-user-ID bits
            os.fchmod(fd, m.mode & 0o7777)
            if m.pax_headers:
                for attr, value in _xattrs(m):
                    try:
                        os.setxattr(fd, attr, value)
                    except OSError:
                        pass
            try:
                os.utime(fd, ns=(int(m.mtime * 1e9),) * 2)
            except OSError:
                pass
        finally:
            os.close(fd)

    def _other(self, m: tarfile.TarInfo, dir_fd: int, parts: list[str]) -> None:
        name = parts[-1]
        mode = m.mode & 0o7777
        if m.isdir():
            try:
                os.mkdir(name, 0o700, dir_fd=dir_fd)
            except FileExistsError:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    self._remove_existing(dir_fd, name, keep_dir=False)
                    os.mkdir(name, 0o700, dir_fd=dir_fd)
            self._set_meta(dir_fd, name, m, mode, is_link=False)
            self.dir_times.append((parts, int(m.mtime)))
        elif m.issym():
            target = m.linkname
            if not target.startswith("/"):
                depth = len(parts) - 1
                for p in target.split("/"):
                    if p == "..":
                        depth -= 1
                        if depth < 0:
                            raise CorruptContent(f"unpack layer: invalid symlink {m.name!r} -> {target!r}")
                    elif p not in ("", "."):
                        depth += 1
            self._create(dir_fd, name, lambda: os.symlink(target, name, dir_fd=dir_fd))
            self._set_meta(dir_fd, name, m, mode, is_link=True)
        elif m.islnk():
            self._hard_link(m, dir_fd, name)
        elif m.ischr() or m.isblk():
            if not self.allow_devices:
                raise CorruptContent(f"unpack layer: refusing device node {m.name!r}")
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            device = os.makedev(m.devmajor, m.devminor)
            self._create(dir_fd, name, lambda: os.mknod(name, kind | mode, device, dir_fd=dir_fd))
            self._set_meta(dir_fd, name, m, mode, is_link=False)
        elif m.isfifo():
            self._create(dir_fd, name, lambda: os.mkfifo(name, mode, dir_fd=dir_fd))
            self._set_meta(dir_fd, name, m, mode, is_link=False)
        else:
            raise CorruptContent(f"unpack layer: unsupported entry type {m.type!r} for {m.name!r}")

    def _hard_link(self, m: tarfile.TarInfo, dir_fd: int, name: str) -> None:
        link_parts = _clean_name(m.linkname)
        if not link_parts:
            raise CorruptContent(f"unpack layer: invalid hard link {m.name!r} -> {m.linkname!r}")
        try:
            src_dir, _ = self._open_dir(link_parts[:-1], create=False)
        except FileNotFoundError:
            src_dir = -1
        try:
            if src_dir < 0:
                raise FileNotFoundError(m.linkname)
            st = os.stat(link_parts[-1], dir_fd=src_dir, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise CorruptContent(f"unpack layer: hard link to a directory: {m.name!r}")
            self._create(
                dir_fd,
                name,
                lambda: os.link(link_parts[-1], name, src_dir_fd=src_dir, dst_dir_fd=dir_fd, follow_symlinks=False),
            )
        except FileNotFoundError:
            raise CorruptContent(
                f"unpack layer: hard link {m.name!r} points to {m.linkname!r}, which is not in the layer"
            ) from None
        finally:
            if src_dir >= 0:
                os.close(src_dir)

    def _set_meta(self, dir_fd: int, name: str, m: tarfile.TarInfo, mode: int, *, is_link: bool) -> None:
        if self.euid == 0:
            os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
        if not is_link:
            os.chmod(name, mode, dir_fd=dir_fd)
            attrs = _xattrs(m)
            if attrs:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
                try:
                    for attr, value in attrs:
                        try:
                            os.setxattr(fd, attr, value)
                        except OSError:
                            pass
                finally:
                    os.close(fd)
        if not m.isdir():
            try:
                os.utime(name, ns=(int(m.mtime * 1e9),) * 2, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                pass

    def finish(self) -> None:
        """Directory mtimes last (creating their children changed them)."""
        for parts, mtime in reversed(self.dir_times):
            try:
                dir_fd, _ = self._open_dir(parts[:-1], create=False)
            except (OSError, CorruptContent):
                continue
            try:
                os.utime(parts[-1], (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                pass
            finally:
                os.close(dir_fd)


def _xattrs(m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    """The extended attributes a PAX header carries (``trusted.*`` never: overlayfs keeps its own there)."""
    if not m.pax_headers:
        return []
    out: list[tuple[str, bytes]] = []
    for key, value in m.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            attr = key[len("SCHILY.xattr.") :]
            if not attr.startswith("trusted."):
                out.append((attr, value.encode("utf-8", "surrogateescape")))
    return out


def _rmtree_at(dir_fd: int, name: str) -> None:
    fd = os.open(name, _O_DIR, dir_fd=dir_fd)
    try:
        for entry in os.listdir(fd):
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _rmtree_at(fd, entry)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)
