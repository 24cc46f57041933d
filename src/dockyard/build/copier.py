"""COPY and ADD into a mounted root filesystem, with Docker's rules.

* The destination is relative to WORKDIR unless absolute; a trailing ``/`` (or an existing directory) means
  "into this directory". Paths are resolved *inside* the root filesystem: symlinks on the way are followed as the
  container would see them, never out of it.
* A directory source stands for its contents. Files keep their content, permission bits and mtime; owner and
  group become 0:0, or ``--chown`` (names looked up in the image's ``/etc/passwd`` and ``/etc/group``, moby's
  ``parseChownFlag`` wording); ``--chmod`` sets the permission bits. Parent directories that have to be created
  are 0755, owned like the copied files.
* ADD extracts local tar archives (plain, gzip, bzip2, xz) into the destination directory with the archive's own
  owners; downloaded files are 0600 with the server's Last-Modified time.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from dockyard.build.context import ContextEntry, EntryKind, SourceMatch
from dockyard.errors import InvalidArgument
from dockyard.store.fsutil import resolve_scoped

__all__ = ["Copier", "Owner", "archive_kind", "normalize_dest", "parse_chmod", "parse_chown", "scoped_path"]


@dataclass(frozen=True)
class Owner:
    uid: int = 0
    gid: int = 0


def scoped_path(root: str, path: str) -> str:
    """moby's ``FollowSymlinkInScope``: the host path of container path ``path`` under ``root``, every symlink
    resolved inside ``root`` (components that do not exist are kept as they are)."""
    done = resolve_scoped(root, path)
    return os.path.join(root, *done) if done else root


def normalize_dest(workdir: str, dest: str) -> str:
    """moby's ``normalizeDest``: relative destinations are joined to WORKDIR; a trailing slash is kept."""
    if dest.startswith("/"):
        return dest
    joined = posixpath.normpath(posixpath.join("/", workdir or "/", dest))
    if dest.endswith("/") and not joined.endswith("/"):
        joined += "/"
    return joined


def _read_scoped(root: str, path: str) -> str | None:
    try:
        with open(scoped_path(root, path), encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def parse_chown(spec: str, rootfs: str) -> Owner:
    """``--chown=user[:group]`` (names or IDs; a lone user is used as the group name too, as Docker does)."""
    from dockyard.runtime.users import parse_group, parse_passwd

    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"invalid chown string format: {spec}")
    user, group = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    prefix = "unable to convert uid/gid chown string to host mapping"
    if user.isdigit():
        uid = int(user)
    else:
        text = _read_scoped(rootfs, "/etc/passwd")
        if text is None:
            raise InvalidArgument(
                f"{prefix}: can't find uid for user {user}: open /etc/passwd: no such file or directory"
            )
        found = [p for p in parse_passwd(text) if p.name == user]
        if not found:
            raise InvalidArgument(f"{prefix}: can't find uid for user {user}: no such user: {user}")
        uid = found[0].uid
    if group.isdigit():
        gid = int(group)
    else:
        text = _read_scoped(rootfs, "/etc/group")
        if text is None:
            raise InvalidArgument(
                f"{prefix}: can't find gid for group {group}: open /etc/group: no such file or directory"
            )
        groups = [g for g in parse_group(text) if g.name == group]
        if not groups:
            raise InvalidArgument(f"{prefix}: can't find gid for group {group}: no such group: {group}")
        gid = groups[0].gid
    return Owner(uid, gid)


def parse_chmod(spec: str) -> int | None:
    """``--chmod=0755`` (octal). Empty means "keep the source's bits"."""
    if not spec:
        return None
    try:
        mode = int(spec, 8)
    except ValueError:
        raise InvalidArgument(
            f"invalid chmod parameter: '{spec}'. it should be octal string and between 0 and 07777"
        ) from None
    if not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"invalid chmod parameter: '{spec}'. it should be octal string and between 0 and 07777")
    return mode


def _remove(path: str, keep_dir: bool) -> bool:
    """Remove what is at ``path`` (unless it is a directory and ``keep_dir``); True if a directory stays."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return True
        shutil.rmtree(path)
        return False
    os.unlink(path)
    return False


def _open_decompressed(path: str, kind: str) -> IO[bytes]:
    import bz2
    import lzma

    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "gzip":
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def archive_kind(path: str) -> str | None:
    """The compression of the tar archive at ``path`` (``""`` for none), or None when it is not a tar archive
    (Docker's ``isArchivePath``: decompress, then a tar header must parse)."""
    import tarfile

    from dockyard.store.unpack import detect_compression

    with open(path, "rb") as f:
        head = f.read(8)
    kind = detect_compression(head)
    if kind not in ("", "gzip", "bzip2", "xz"):
        return None
    try:
        with _open_decompressed(path, kind) as stream:
            block = stream.read(tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except Exception:
        return None
    return kind


class Copier:
    """Copies sources into ``rootfs`` (a mounted overlay) for one COPY/ADD step."""

    def __init__(self, rootfs: str, owner: Owner | None = None, chmod: int | None = None) -> None:
        self.rootfs = rootfs
        self.owner = owner or Owner()
        self.chmod = chmod

    # -- helpers ----------------------------------------------------------------------------------------------
    def host(self, container_path: str) -> str:
        return scoped_path(self.rootfs, container_path)

    def _makedirs(self, container_dir: str) -> str:
        """Create ``container_dir`` (and missing parents: 0755, our owner) inside the rootfs; its host path."""
        parts = [p for p in container_dir.split("/") if p]
        current = "/"
        for part in parts:
            nxt = posixpath.join(current, part)
            host = self.host(nxt)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                os.mkdir(host, 0o755)
                os.chmod(host, 0o755)
                os.lchown(host, self.owner.uid, self.owner.gid)
                st = os.lstat(host)
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidArgument(f"failed to copy files: mkdir {nxt}: not a directory")
            current = nxt
        return self.host(container_dir)

    def _meta(self, path: str, mode: int, mtime: float | None, *, link: bool = False) -> None:
        os.lchown(path, self.owner.uid, self.owner.gid)
        if not link:
            os.chmod(path, self.chmod if self.chmod is not None else stat.S_IMODE(mode))
        if mtime is not None:
            os.utime(path, (mtime, mtime), follow_symlinks=not link)

    def is_dir(self, container_path: str) -> bool:
        return os.path.isdir(self.host(container_path))

    # -- files ------------------------------------------------------------------------------------------------
    def copy_file(self, src: str, dest: str, *, mode: int | None = None) -> None:
        """Copy the host file ``src`` to container path ``dest`` (a file path)."""
        self._makedirs(posixpath.dirname(dest.rstrip("/")) or "/")
        target = self.host(dest)
        _remove(target, keep_dir=False)
        st = os.stat(src)
        shutil.copyfile(src, target)
        self._meta(target, mode if mode is not None else st.st_mode, st.st_mtime)

    def write_file(self, data: bytes, dest: str, *, mode: int = 0o644, mtime: float | None = None) -> None:
        parent_host = self._makedirs(posixpath.dirname(dest.rstrip("/")) or "/")
        target = os.path.join(parent_host, posixpath.basename(dest.rstrip("/")))
        _remove(target, keep_dir=False)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self._meta(target, mode, mtime)

    def file_target(self, dest: str, name: str) -> str:
        """Where a single file source goes: ``dest/name`` for a directory destination, else ``dest``."""
        if dest.endswith("/") or self.is_dir(dest):
            return posixpath.join(dest, name)
        return dest

    # -- context and image trees ------------------------------------------------------------------------------
    def copy_match(self, source_root: str, match: SourceMatch, dest: str, *, decompress: bool = False) -> None:
        """One resolved COPY/ADD source (from a context or a mounted image) to container path ``dest``."""
        src = os.path.join(source_root, match.resolved) if match.resolved else source_root
        if match.kind is EntryKind.DIR:
            self.copy_tree(src, match.resolved, match.entries, dest)
            return
        if decompress and match.kind is EntryKind.FILE:
            kind = archive_kind(src)
            if kind is not None:
                # unpack_layer reads gzip itself; bzip2 and xz are decompressed on the way
                with _open_decompressed(src, kind if kind in ("bzip2", "xz") else "") as archive:
                    self.extract(archive, dest)
                return
        name = posixpath.basename(match.path) or posixpath.basename(match.resolved)
        target = self.file_target(dest, name)
        if match.kind is EntryKind.FILE:
            self.copy_file(src, target)
        else:
            entry = match.entries[0]
            parent_host = self._makedirs(posixpath.dirname(target.rstrip("/")) or "/")
            self._create(src, os.path.join(parent_host, posixpath.basename(target.rstrip("/"))), entry, {})

    def copy_tree(self, src_dir: str, base: str, entries: Iterable[ContextEntry], dest: str) -> None:
        """The contents of a directory: ``entries`` (walk order, paths relative to the source root) under ``dest``."""
        dest_host = self._makedirs(dest)  # a new destination directory is 0755, like its parents
        dirs: dict[str, str] = {"": dest_host}
        dir_times: list[tuple[str, float]] = []
        links: dict[tuple[int, int], str] = {}
        prefix = f"{base}/" if base else ""
        for entry in entries:
            rel = entry.path[len(prefix) :] if prefix and entry.path.startswith(prefix) else entry.path
            parent_rel, _, name = rel.rpartition("/")
            parent_host = dirs.get(parent_rel)
            if parent_host is None:  # an ignored directory whose contents were re-included
                parent_host = self._makedirs(posixpath.join(dest, parent_rel))
                dirs[parent_rel] = parent_host
            target = os.path.join(parent_host, name)
            src = os.path.join(src_dir, rel)
            made = self._create(src, target, entry, links)
            if entry.kind is EntryKind.DIR:
                dirs[rel] = made
                dir_times.append((made, os.lstat(src).st_mtime))
        for path, mtime in reversed(dir_times):
            os.utime(path, (mtime, mtime))

    def _create(self, src: str, target: str, entry: ContextEntry, links: dict[tuple[int, int], str]) -> str:
        if entry.kind is EntryKind.DIR:
            if os.path.islink(target):
                resolved = scoped_path(self.rootfs, "/" + os.path.relpath(target, self.rootfs))
                if os.path.isdir(resolved):
                    return resolved  # follow a symlink to a directory (merged-/usr images: /lib -> usr/lib)
            if not _remove(target, keep_dir=True):
                os.mkdir(target, 0o700)
            self._meta(target, entry.mode, None)
            return target
        _remove(target, keep_dir=False)
        st = os.lstat(src)
        if entry.kind is EntryKind.FILE:
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                os.link(links[key], target)
                return target
            shutil.copyfile(src, target, follow_symlinks=False)
            links[key] = target
            self._meta(target, st.st_mode, st.st_mtime)
        elif entry.kind is EntryKind.SYMLINK:
            os.symlink(os.readlink(src), target)
            self._meta(target, st.st_mode, st.st_mtime, link=True)
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(target, 0o600)
            self._meta(target, st.st_mode, st.st_mtime)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            os.mknod(target, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev)
            self._meta(target, st.st_mode, st.st_mtime)
        return target

    # -- archives ---------------------------------------------------------------------------------------------
    def extract(self, archive: IO[bytes], dest: str) -> None:
        """ADD's auto-extraction: the archive's entries under directory ``dest``, with their own owners."""
        from dockyard.store.unpack import unpack_layer

        dest_host = self._makedirs(dest)
        unpack_layer(archive, dest_host, allow_devices=True)  # type: ignore[arg-type]
