"""Safe extraction of layer tars into overlay lower directories.

A layer is an (optionally gzip- or zstd-compressed) tar. :func:`unpack_layer` streams it once: decompress,
hash the uncompressed bytes (the diff ID), and extract — refusing anything that would write outside the
target directory:

* entry names that are absolute or contain ``..`` are refused;
* parent directories are resolved *inside* the target: a symlink in the path is followed as the container
  would see it (absolute targets from the layer root, ``..`` clamped at the root), never on the host;
* symlinks whose relative target climbs above the root, and hard links to anything outside the target or
  not yet extracted, are refused;
* device nodes are refused unless the caller allows them; FIFOs are fine.

OCI whiteouts become overlayfs whiteouts, so the directory can be used as a lower dir as it is:
``.wh.<name>`` -> a 0/0 character device ``<name>``, ``.wh..wh..opq`` -> the ``trusted.overlay.opaque``
xattr on the parent directory.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, BinaryIO

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.store.fsutil import disk_error

__all__ = ["UnpackResult", "decompressed", "detect_compression", "unpack_layer"]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_SYMLINK_HOPS = 40
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class UnpackResult:
    diff_id: Digest
    size: int  # bytes of regular-file content, what Docker reports as a layer's size
    compressed_size: int


def detect_compression(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return ""


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


class _HashingReader(io.RawIOBase):
    """Hashes (and counts) every byte read through it: the diff ID of the uncompressed stream."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.hash.update(data)
        self.count += n
        return n

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def decompressed(f: IO[bytes]) -> tuple[IO[bytes], str]:
    """Wrap ``f`` (positioned at the start of a layer) in a streaming decompressor chosen by magic bytes."""
    buffered = f if isinstance(f, io.BufferedReader) else io.BufferedReader(_CountingReader(f), 1 << 20)
    head = buffered.peek(8)[:8]
    kind = detect_compression(head)
    if kind == "gzip":
        try:
            from isal import igzip

            return igzip.IGzipFile(fileobj=buffered, mode="rb"), kind  # type: ignore[return-value]
        except ImportError:  # pragma: no cover - isal is a dependency, but stay usable without it
            import gzip

            return gzip.GzipFile(fileobj=buffered, mode="rb"), kind  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True), kind
    if kind in ("bzip2", "xz"):
        raise InvalidArgument(f"unpack layer: {kind} compressed layers are not supported")
    return buffered, kind


def unpack_layer(
    src: BinaryIO,
    target: str | os.PathLike[str],
    *,
    allow_devices: bool = False,
    expected_diff_id: Digest | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> UnpackResult:
    """Extract the layer in ``src`` into the (existing, normally empty) directory ``target``.

    Raises :class:`CorruptContent` for a damaged or hostile archive or a diff ID mismatch; the caller
    removes ``target`` in that case (it is always a fresh temporary directory).
    """
    counter = _CountingReader(src)
    stream, _ = decompressed(io.BufferedReader(counter, 1 << 20))
    hashing = _HashingReader(stream)
    root_fd = os.open(target, _O_DIR)
    extractor = _Extractor(root_fd, allow_devices)
    try:
        try:
            with tarfile.open(fileobj=io.BufferedReader(hashing, 1 << 20), mode="r|") as tar:
                for member in tar:
                    extractor.extract(tar, member)
                    if on_progress is not None:
                        on_progress(counter.count)
            hashing.drain()  # tar padding after the end-of-archive marker is part of the diff ID
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                raise disk_error(exc, "unpack layer") from exc
            if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                raise CorruptContent(f"unpack layer: {exc}") from exc
            raise CorruptContent(f"unpack layer: damaged archive: {exc or type(exc).__name__}") from exc
        except Exception as exc:
            # zlib/zstd decoders raise their own exception types for corrupt data
            if type(exc).__module__.split(".")[0] in ("zlib", "zstandard", "isal", "gzip"):
                raise CorruptContent(f"unpack layer: damaged compressed data: {exc}") from exc
            raise
        extractor.finish()
    finally:
        extractor.close()
        os.close(root_fd)
    diff_id = Digest("sha256", hashing.hash.hexdigest())
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise CorruptContent(
            f"unpack layer: diff ID mismatch: expected {expected_diff_id}, content hashes to {diff_id}"
        )
    return UnpackResult(diff_id=diff_id, size=extractor.size, compressed_size=counter.count)


def _clean_name(name: str) -> list[str]:
    """Split a tar entry name into components; refuse absolute paths and ``..``."""
    if name.startswith("/"):
        raise CorruptContent(f"unpack layer: refusing absolute path {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise CorruptContent(f"unpack layer: refusing path with '..': {name!r}")
    return parts


class _Extractor:
    def __init__(self, root_fd: int, allow_devices: bool) -> None:
        self.root_fd = root_fd
        self.allow_devices = allow_devices
        self.size = 0
        self.dir_times: list[tuple[list[str], int]] = []
        self.euid = os.geteuid()
        self._cached_key: tuple[str, ...] | None = None
        self._cached_fd: int | None = None

    def close(self) -> None:
        self._drop_cache()

    # -- path resolution inside the root ---------------------------------------------------------
    def _open_dir(self, parts: list[str], create: bool = True) -> int:
        """Open the directory ``parts`` relative to the root, following symlinks *inside* the root."""
        fd = os.dup(self.root_fd)
        stack = list(reversed(parts))
        hops = 0
        resolved: list[str] = []
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
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    hops += 1
                    if hops > _MAX_SYMLINK_HOPS:
                        raise CorruptContent("unpack layer: too many levels of symbolic links")
                    target = os.readlink(part, dir_fd=fd)
                    if target.startswith("/"):
                        resolved = []
                        os.close(fd)
                        fd = os.dup(self.root_fd)
                    stack.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    raise CorruptContent(f"unpack layer: {'/'.join([*resolved, part])} is not a directory")
                new = os.open(part, _O_DIR, dir_fd=fd)
                os.close(fd)
                fd = new
                resolved.append(part)
            return fd
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

    @staticmethod
    def _remove_existing(dir_fd: int, name: str, keep_dir: bool) -> None:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return
            _rmtree_at(dir_fd, name)
        else:
            os.unlink(name, dir_fd=dir_fd)

    # -- entries ---------------------------------------------------------------------------------
    def extract(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
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
        self._extract_entry(tar, m, dir_fd, parts)

    def _parent_fd(self, parent: list[str]) -> int:
        """The directory fd for ``parent``, reused while consecutive entries share it (tars list a directory's
        entries together: resolving the path again for each costs most of the time). Only the entries *in* the
        cached directory are written meanwhile, never the directory itself, so the fd stays valid."""
        key = tuple(parent)
        if key != self._cached_key:
            self._drop_cache()
            self._cached_fd = self._open_dir(parent)
            self._cached_key = key
        assert self._cached_fd is not None
        return self._cached_fd

    def _drop_cache(self) -> None:
        if self._cached_fd is not None:
            os.close(self._cached_fd)
        self._cached_fd = None
        self._cached_key = None

    def _extract_entry(self, tar: tarfile.TarFile, m: tarfile.TarInfo, dir_fd: int, parts: list[str]) -> None:
        name = parts[-1]
        mode = m.mode & 0o7777
        if m.isdir():
            self._remove_existing(dir_fd, name, keep_dir=True)
            try:
                os.mkdir(name, 0o700, dir_fd=dir_fd)
            except FileExistsError:
                pass
            self._set_meta(dir_fd, name, m, mode, is_link=False)
            self.dir_times.append((parts, int(m.mtime)))
            return
        self._remove_existing(dir_fd, name, keep_dir=False)
        if m.isreg():
            fd = os.open(
                name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd
            )
            with os.fdopen(fd, "wb") as out:
                src = tar.extractfile(m)
                if src is not None:
                    remaining = m.size
                    while remaining > 0:
                        chunk = src.read(min(remaining, 1 << 20))
                        if not chunk:
                            raise CorruptContent(f"unpack layer: unexpected end of data in {m.name!r}")
                        out.write(chunk)
                        remaining -= len(chunk)
            self.size += m.size
            self._set_meta(dir_fd, name, m, mode, is_link=False)
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
            os.symlink(target, name, dir_fd=dir_fd)
            self._set_meta(dir_fd, name, m, mode, is_link=True)
        elif m.islnk():
            link_parts = _clean_name(m.linkname)
            if not link_parts:
                raise CorruptContent(f"unpack layer: invalid hard link {m.name!r} -> {m.linkname!r}")
            src_dir = self._open_dir(link_parts[:-1], create=False)
            try:
                st = os.stat(link_parts[-1], dir_fd=src_dir, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    raise CorruptContent(f"unpack layer: hard link to a directory: {m.name!r}")
                os.link(link_parts[-1], name, src_dir_fd=src_dir, dst_dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                raise CorruptContent(
                    f"unpack layer: hard link {m.name!r} points to {m.linkname!r}, which is not in the layer"
                ) from None
            finally:
                os.close(src_dir)
        elif m.ischr() or m.isblk():
            if not self.allow_devices:
                raise CorruptContent(f"unpack layer: refusing device node {m.name!r}")
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(name, kind | mode, os.makedev(m.devmajor, m.devminor), dir_fd=dir_fd)
            self._set_meta(dir_fd, name, m, mode, is_link=False)
        elif m.isfifo():
            os.mkfifo(name, mode, dir_fd=dir_fd)
            self._set_meta(dir_fd, name, m, mode, is_link=False)
        else:
            raise CorruptContent(f"unpack layer: unsupported entry type {m.type!r} for {m.name!r}")

    def _set_meta(self, dir_fd: int, name: str, m: tarfile.TarInfo, mode: int, *, is_link: bool) -> None:
        if self.euid == 0:
            os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
        if not is_link:
            os.chmod(name, mode, dir_fd=dir_fd)
        for key, value in (m.pax_headers or {}).items():
            if key.startswith("SCHILY.xattr."):
                attr = key[len("SCHILY.xattr.") :]
                if attr.startswith("trusted.") or is_link:
                    continue
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
                try:
                    os.setxattr(fd, attr, value.encode("utf-8", "surrogateescape"))
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
                dir_fd = self._open_dir(parts[:-1], create=False)
            except (OSError, CorruptContent):
                continue
            try:
                os.utime(parts[-1], (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                pass
            finally:
                os.close(dir_fd)


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
