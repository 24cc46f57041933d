"""A layer from an overlay upper directory: the OCI layer tar (whiteouts converted), compressed, and the directory
itself adopted as the unpacked layer.

An overlay upper directory is already a layer in overlay format: deleted paths are 0/0 character devices, a
directory that replaced a lower one carries ``trusted.overlay.opaque=y``. :func:`write_layer_tar` writes it as
an OCI layer the way Docker's overlay2 driver exports one: entries in lexical order, a directory before its
contents, ``.wh.<name>`` for a whiteout, ``<dir>/.wh..wh..opq`` right after an opaque directory, mtimes in whole
seconds, no user/group names, hard links kept, ``security.capability`` and ``user.*`` xattrs as PAX records,
and the archive closed with two zero blocks and no further padding (so an empty layer has Docker's well-known
diff ID ``sha256:5f70bf18...``).

:func:`commit_upper` streams that tar through SHA-256 (the diff ID) and multi-threaded ISA-L gzip into the
content store, then registers the upper directory as the layer's directory (a rename, no copy).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType
from dockyard.store.commit import LayerBlob
from dockyard.store.layers import chain_of
from dockyard.store.leases import Lease, LeaseKind

if TYPE_CHECKING:
    from dockyard.store import Store

__all__ = [
    "EMPTY_LAYER_DIFF_ID",
    "OPAQUE_WHITEOUT",
    "WHITEOUT_PREFIX",
    "LayerTarStats",
    "commit_upper",
    "write_layer_tar",
]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
EMPTY_LAYER_DIFF_ID = Digest("sha256", hashlib.sha256(b"\0" * 1024).hexdigest())
_BLOCK = 512
_CHUNK = 1 << 20
_KEEP_XATTR_PREFIXES = ("security.capability", "user.")


@dataclass(frozen=True)
class LayerTarStats:
    size: int  # bytes of regular-file content (what Docker reports as the layer's size)
    entries: int
    tar_bytes: int


class _Counter:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.count = 0

    def write(self, data: bytes | memoryview) -> None:
        self.out.write(data)
        self.count += len(data)


def _xattrs(path: str, follow: bool = False) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=follow)
    except OSError:
        return {}
    out: dict[str, bytes] = {}
    for name in names:
        try:
            out[name] = os.getxattr(path, name, follow_symlinks=follow)
        except OSError:
            continue
    return out


def _is_opaque(xattrs: dict[str, bytes]) -> bool:
    return any(xattrs.get(name) == b"y" for name in OPAQUE_XATTRS)


def _header(name: str, st: os.stat_result, kind: bytes, *, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid = st.st_uid
    info.gid = st.st_gid
    info.uname = ""
    info.gname = ""
    info.mtime = int(st.st_mtime)
    info.size = size
    info.linkname = linkname
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor = os.major(st.st_rdev)
        info.devminor = os.minor(st.st_rdev)
    return info


def _marker(name: str, st: os.stat_result) -> tarfile.TarInfo:
    """A whiteout file: a regular empty file carrying the original's permissions and owner, time zero."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.mode = stat.S_IMODE(st.st_mode) & 0o777
    info.uid = st.st_uid
    info.gid = st.st_gid
    info.uname = ""
    info.gname = ""
    info.mtime = 0
    return info


def _emit(out: _Counter, info: tarfile.TarInfo, xattrs: dict[str, bytes] | None = None) -> None:
    if xattrs:
        info.pax_headers = {
            f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
            for k, v in sorted(xattrs.items())
            if k.startswith(_KEEP_XATTR_PREFIXES)
        }
    out.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))


def _copy_file(out: _Counter, path: str, size: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        remaining = size
        while remaining > 0:
            chunk = os.read(fd, min(_CHUNK, remaining))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)
        if remaining > 0:  # the file shrank while we read it: keep the archive well-formed
            out.write(b"\0" * remaining)
    finally:
        os.close(fd)
    pad = -size % _BLOCK
    if pad:
        out.write(b"\0" * pad)


def write_layer_tar(root: str | os.PathLike[str], out: BinaryIO) -> LayerTarStats:
    """Write the overlay directory ``root`` as an OCI layer tar to ``out``."""
    counter = _Counter(out)
    links: dict[tuple[int, int], str] = {}
    size = 0
    entries = 0
    base = os.fspath(root)

    def walk(rel: str) -> None:
        nonlocal size, entries
        directory = os.path.join(base, rel) if rel else base
        with os.scandir(directory) as it:
            names = sorted(e.name for e in it)
        for name in names:
            path = os.path.join(directory, name)
            arc = f"{rel}/{name}" if rel else name
            st = os.lstat(path)
            mode = st.st_mode
            if stat.S_ISCHR(mode) and st.st_rdev == 0:
                parent = arc.rpartition("/")[0]
                marker = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else f"{WHITEOUT_PREFIX}{name}"
                _emit(counter, _marker(marker, st))
                entries += 1
                continue
            if stat.S_ISDIR(mode):
                xattrs = _xattrs(path)
                _emit(counter, _header(arc + "/", st, tarfile.DIRTYPE), xattrs)
                entries += 1
                if _is_opaque(xattrs):
                    _emit(counter, _marker(f"{arc}/{OPAQUE_WHITEOUT}", st))
                    entries += 1
                walk(arc)
                continue
            entries += 1
            if stat.S_ISLNK(mode):
                _emit(counter, _header(arc, st, tarfile.SYMTYPE, linkname=os.readlink(path)))
                continue
            if stat.S_ISREG(mode):
                if st.st_nlink > 1:
                    first = links.get((st.st_dev, st.st_ino))
                    if first is not None:
                        _emit(counter, _header(arc, st, tarfile.LNKTYPE, linkname=first))
                        continue
                    links[(st.st_dev, st.st_ino)] = arc
                _emit(counter, _header(arc, st, tarfile.REGTYPE, size=st.st_size), _xattrs(path))
                _copy_file(counter, path, st.st_size)
                size += st.st_size
            elif stat.S_ISCHR(mode):
                _emit(counter, _header(arc, st, tarfile.CHRTYPE))
            elif stat.S_ISBLK(mode):
                _emit(counter, _header(arc, st, tarfile.BLKTYPE))
            elif stat.S_ISFIFO(mode):
                _emit(counter, _header(arc, st, tarfile.FIFOTYPE))
            else:
                entries -= 1  # sockets and the like are not archived (Docker skips them too)

    walk("")
    counter.write(b"\0" * (2 * _BLOCK))
    return LayerTarStats(size=size, entries=entries, tar_bytes=counter.count)


class _Sink(io.RawIOBase):
    """Adapts a content writer (``write`` only) to the file object the gzip writer expects."""

    def __init__(self, writer: object) -> None:
        self._write = writer.write  # type: ignore[attr-defined]

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        data = bytes(b)  # type: ignore[call-overload]
        self._write(data)
        return len(data)


class _Hashing:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        self.out.write(data)
        return len(data)


def commit_upper(
    store: Store, lease: Lease, upper: Path, parent: Digest | None, *, threads: int = -1, level: int = 2
) -> LayerBlob:
    """Archive and compress ``upper`` into the content store and adopt it as the layer ``parent + diff``.

    ``upper`` is moved into the layer store (it must not be mounted any more).
    """
    from isal import igzip_threaded

    with store.content.writer() as writer:
        gz = igzip_threaded.open(_Sink(writer), "wb", compresslevel=level, threads=threads)
        hashing = _Hashing(gz)
        try:
            stats = write_layer_tar(upper, hashing)  # type: ignore[arg-type]
        finally:
            gz.close()
        blob = writer.digest
        lease.add(LeaseKind.BLOB, str(blob))  # protected before it becomes visible to garbage collection
        blob_size = writer.offset
        writer.commit()
    diff_id = Digest("sha256", hashing.hash.hexdigest())
    chain_id = chain_of(parent, diff_id)
    layer = store.layers.register(chain_id, parent, diff_id, stats.size, upper, lease)
    return LayerBlob(Descriptor(MediaType.DOCKER_LAYER, blob, blob_size), diff_id, layer)
