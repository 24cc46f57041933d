"""The build context as the executor sees it: a directory (``.dockerignore`` applied), or a tar stream extracted
safely into a temporary directory; COPY/ADD source resolution with Docker's rules and wording; and a content
checksum of the selected files for the cache key.

Source resolution follows dockerd's classic builder (``builder/dockerfile/copy.go``): a leading ``/`` and ``./``
are dropped; wildcards use Go's ``filepath.Match`` against every path in the context; a directory source stands for
its contents; symlinks on the way are followed *inside* the context (``FollowSymlinkInScope``); a path that leaves
the context lexically is refused (``COPY failed: forbidden path outside the build context: ../x ()``); a missing or
ignored one is ``COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does not
exist``.

The checksum covers relative paths, file type and permission bits, uid/gid, symlink targets and file contents,
never times; contents are hashed in parallel threads with a per-process cache keyed by (path, device, inode, size,
mtime, ctime), so an unchanged tree is not re-read but a touched file with the same content keeps its checksum.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO

from dockyard.build.dockerfile import (
    IgnoreMatcher,
    contains_wildcards,
    go_path_clean,
    go_path_match,
    read_dockerignore,
)
from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.store.fsutil import resolve_scoped

if TYPE_CHECKING:
    import tarfile

__all__ = ["BuildContext", "ContextEntry", "EntryKind", "SourceMatch", "check_destination", "is_remote_source"]

log = logging.getLogger(__name__)

_CACHE_MAX = 200_000
_digest_cache: dict[tuple[str, int, int, int, int, int], str] = {}
_cache_lock = threading.Lock()


class EntryKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    OTHER = "other"


@dataclass(frozen=True)
class ContextEntry:
    """One path in the context: ``path`` is relative and slash-separated; ``mode`` is type plus permission bits."""

    path: str
    kind: EntryKind
    mode: int
    uid: int
    gid: int
    size: int
    link_target: str = ""
    rdev: int = 0


@dataclass(frozen=True)
class SourceMatch:
    """One COPY/ADD source: ``path`` as written (cleaned), ``resolved`` after following symlinks in scope ("" is
    the context root); for a directory, ``entries`` is everything below it, for a file the file itself."""

    source: str
    path: str
    resolved: str
    kind: EntryKind
    mode: int
    entries: tuple[ContextEntry, ...]


def is_remote_source(src: str) -> bool:
    """moby's ``urlutil.IsURL``/``IsGitURL``: an ADD source fetched by the executor rather than the context."""
    lowered = src.lower()
    if lowered.startswith(("http://", "https://", "git://", "git@", "github.com/")):
        return True
    return lowered.startswith("ssh://") or (lowered.endswith(".git") and "://" in lowered)


def check_destination(instruction: str, matches: Sequence[SourceMatch], dest: str) -> None:
    """Docker's rule: several sources need a directory destination written with a trailing ``/``."""
    if len(matches) > 1 and not dest.endswith("/"):
        raise InvalidArgument(
            f"When using {instruction} with more than one source file, the destination must be a directory "
            "and end with a /"
        )


def _kind(mode: int) -> EntryKind:
    if stat.S_ISREG(mode):
        return EntryKind.FILE
    if stat.S_ISDIR(mode):
        return EntryKind.DIR
    if stat.S_ISLNK(mode):
        return EntryKind.SYMLINK
    return EntryKind.OTHER


def _entry(path: str, st: os.stat_result, abs_path: str) -> ContextEntry:
    kind = _kind(st.st_mode)
    mode = stat.S_IFMT(st.st_mode) | stat.S_IMODE(st.st_mode)
    target = os.readlink(abs_path) if kind is EntryKind.SYMLINK else ""
    rdev = st.st_rdev if kind is EntryKind.OTHER else 0
    size = st.st_size if kind is EntryKind.FILE else 0
    return ContextEntry(path, kind, mode, st.st_uid, st.st_gid, size, target, rdev)


def _file_digest(path: str, st: os.stat_result) -> str:
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    hit = _digest_cache.get(key)
    if hit is not None:
        return hit
    with open(path, "rb", buffering=0) as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    with _cache_lock:
        if len(_digest_cache) >= _CACHE_MAX:
            _digest_cache.clear()
        _digest_cache[key] = digest
    return digest


class BuildContext:
    """A build context rooted at a local directory. Use as a context manager when it owns a temporary copy."""

    def __init__(self, root: str | os.PathLike[str], *, dockerfile: str = "Dockerfile", owned: bool = False) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self.dockerfile = dockerfile
        self._owned = owned
        self.ignore = IgnoreMatcher(read_dockerignore(self._read_ignore_file()))
        self.selected: set[str] = set()  # every path COPY/ADD sources selected or went through (see resolve)

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], *, dockerfile: str = "Dockerfile") -> BuildContext:
        """A context over a directory as it is (nothing copied); ``dockerfile`` is relative to it or absolute."""
        if not os.path.isdir(path):
            raise InvalidArgument(f"unable to prepare context: path {os.fspath(path)!r} not found")
        return cls(path, dockerfile=dockerfile)

    @classmethod
    def from_tar(
        cls, stream: BinaryIO, *, dockerfile: str = "Dockerfile", temp_dir: str | os.PathLike[str] | None = None
    ) -> BuildContext:
        """Extract a (possibly compressed) tar stream into a new temporary directory, refusing absolute paths,
        ``..`` and links that leave it; the context owns the directory and removes it on close()."""
        import tempfile  # here: ~2 ms at import (random), only tar contexts need it

        root = tempfile.mkdtemp(prefix="dockyard-context-", dir=temp_dir)
        os.chmod(root, 0o755)  # the context root as a directory would have it (mkdtemp makes it 0700)
        try:
            _extract_tar(stream, root)
            return cls(root, dockerfile=dockerfile, owned=True)
        except BaseException:
            _remove_tree(root)
            raise

    def close(self) -> None:
        if self._owned:
            self._owned = False
            _remove_tree(self.root)

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dockerfile_path(self) -> str:
        return os.path.join(self.root, self.dockerfile)

    def _read_ignore_file(self) -> bytes | None:
        for candidate in (self.dockerfile_path + ".dockerignore", os.path.join(self.root, ".dockerignore")):
            try:
                with open(candidate, "rb") as f:
                    return f.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
        return None

    def read_dockerfile(self) -> bytes:
        """The Dockerfile's bytes (read even if .dockerignore lists it; lower-case ``dockerfile`` accepted)."""
        candidates = [self.dockerfile]
        if self.dockerfile == "Dockerfile":
            candidates.append("dockerfile")
        for name in candidates:
            try:
                with open(os.path.join(self.root, name), "rb") as f:
                    data = f.read()
                self.dockerfile = name
                return data
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {self.dockerfile}")

    def excluded(self, path: str) -> bool:
        """Whether .dockerignore leaves ``path`` (relative) out of the context."""
        return self.ignore.excluded(path)

    def walk(self, start: str = "") -> Iterator[ContextEntry]:
        """Every path in the context (or below ``start``), in Go WalkDir order, ignored ones left out."""
        for item in self.ignore.walk(self.root, start):
            yield _entry(item.path, item.entry.stat(follow_symlinks=False), item.entry.path)

    def resolve(self, sources: Sequence[str], *, instruction: str = "COPY") -> tuple[SourceMatch, ...]:
        """Resolve COPY/ADD source paths and patterns against the context, with Docker's errors."""
        matches: list[SourceMatch] = []
        for orig in sources:
            if is_remote_source(orig):
                if instruction == "COPY":
                    raise InvalidArgument("COPY failed: source can't be a URL for COPY")
                raise InvalidArgument(f"{instruction} failed: {orig} is a remote source, not a path in the context")
            matches += self._calc(orig, instruction, allow_wildcards=True)
        if not matches:
            raise InvalidArgument(f"{instruction} failed: no source files were specified")
        for m in matches:
            for path in (m.path, m.resolved):
                parts = path.split("/") if path else []
                self.selected.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            self.selected.update(e.path for e in m.entries)
        return tuple(matches)

    def _calc(self, orig: str, instruction: str, *, allow_wildcards: bool) -> list[SourceMatch]:
        path = orig.removeprefix("/").removeprefix("./")
        if allow_wildcards and contains_wildcards(path):
            found: list[SourceMatch] = []
            for entry in self.walk():
                try:
                    hit = go_path_match(path, entry.path)
                except ValueError:
                    hit = False
                if hit:
                    found += self._calc(entry.path, instruction, allow_wildcards=False)
            return found
        cleaned = go_path_clean(path.lstrip("/"))
        if cleaned == ".." or cleaned.startswith("../"):
            raise InvalidArgument(f"{instruction} failed: forbidden path outside the build context: {path} ()")
        rel = "" if cleaned == "." else cleaned
        resolved = self._follow_in_scope(rel)
        not_found = InvalidArgument(
            f"{instruction} failed: file not found in build context or excluded by .dockerignore: "
            f"stat {path}: file does not exist"
        )
        abs_path = os.path.join(self.root, resolved) if resolved else self.root
        try:
            st = os.lstat(abs_path)
        except (FileNotFoundError, NotADirectoryError):
            raise not_found from None
        kind = _kind(st.st_mode)
        mode = stat.S_IFMT(st.st_mode) | stat.S_IMODE(st.st_mode)
        hidden = bool(rel) and (self.excluded(rel) or (resolved != rel and self.excluded(resolved)))
        if kind is EntryKind.DIR:
            entries = tuple(self.walk(resolved))
            if hidden and not entries:
                raise not_found
            return [SourceMatch(orig, rel, resolved, kind, mode, entries)]
        if hidden:
            raise not_found
        return [SourceMatch(orig, rel, resolved, kind, mode, (_entry(resolved, st, abs_path),))]

    def _follow_in_scope(self, rel: str) -> str:
        """moby's ``FollowSymlinkInScope``: resolve symlinks in ``rel`` as if the context root were ``/``."""
        return "/".join(resolve_scoped(self.root, rel))

    def checksum(self, matches: Sequence[SourceMatch]) -> str:
        """A ``sha256:`` digest of what the matches select: paths, types, modes, owners, link targets, contents."""
        files = {e.path for m in matches for e in m.entries if e.kind is EntryKind.FILE}
        digests = self.file_digests(sorted(files))
        h = hashlib.sha256()
        for m in matches:
            h.update(_enc(f"source\0{m.path}\0{m.resolved}\0{m.kind}\0{m.mode:o}\n"))
            for e in m.entries:
                content = digests[e.path] if e.kind is EntryKind.FILE else e.link_target
                h.update(_enc(f"{e.path}\0{e.kind}\0{e.mode:o}\0{e.uid}\0{e.gid}\0{e.rdev}\0{content}\n"))
        return "sha256:" + h.hexdigest()

    def known_digest(self, rel: str, st: os.stat_result) -> str | None:
        """The content digest this process computed for ``rel`` while it had exactly the stat ``st``, if any."""
        path = os.path.join(self.root, rel)
        return _digest_cache.get((path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))

    def file_digests(self, paths: Sequence[str]) -> dict[str, str]:
        def one(rel: str) -> str:
            abs_path = os.path.join(self.root, rel)
            return _file_digest(abs_path, os.stat(abs_path, follow_symlinks=False))

        if len(paths) < 8:
            return {p: one(p) for p in paths}
        from concurrent.futures import ThreadPoolExecutor  # here: only large contexts hash in threads

        workers = min(16, 2 * (os.cpu_count() or 2))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="context-hash") as pool:
            return dict(zip(paths, pool.map(one, paths, chunksize=16), strict=True))


def _enc(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _remove_tree(path: str) -> None:
    def onerror(func, p, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(p), 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=onerror)


def _safe_member_path(name: str) -> str | None:
    """The cleaned relative path of a tar member, None for the root, CorruptContent when it would escape."""
    if name.startswith("/"):
        raise CorruptContent(f"extract build context: refusing absolute path {name!r}")
    cleaned = go_path_clean(name)
    if cleaned == ".." or cleaned.startswith("../"):
        raise CorruptContent(f"extract build context: {name!r} is outside of the build context")
    return None if cleaned == "." else cleaned


def _prepare_parent(root: str, rel: str) -> str:
    """Create the parent directories of ``rel`` (never through a symlink) and return the absolute target."""
    parts = rel.split("/")
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            continue
        if stat.S_ISLNK(st.st_mode):
            raise CorruptContent(f"extract build context: {rel!r} is outside of the build context (through a symlink)")
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(current)
            os.mkdir(current, 0o755)
    target = os.path.join(root, rel)
    return target


def _clear(target: str, keep_dir: bool) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not keep_dir:
            _remove_tree(target)
    else:
        os.unlink(target)


def _extract_tar(stream: BinaryIO, root: str) -> None:
    import tarfile  # only a build from a tar stream pays for it

    is_root = os.geteuid() == 0
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    head = stream.read(1)
    if not head:
        return  # an empty body is an empty context ("Cannot locate specified Dockerfile" comes next)
    try:
        archive = tarfile.open(fileobj=_Prefixed(head, stream), mode="r|*")  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as exc:
        raise CorruptContent(f"extract build context: {exc}") from None
    with archive:
        try:
            for member in archive:
                rel = _safe_member_path(member.name)
                if rel is None:
                    continue
                target = _prepare_parent(root, rel)
                if member.isdir():
                    _clear(target, keep_dir=True)
                    if not os.path.isdir(target):
                        os.mkdir(target, 0o700)
                    dirs.append((target, member))
                    continue
                _clear(target, keep_dir=False)
                if member.isreg():
                    src = archive.extractfile(member)
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        if src is not None:
                            shutil.copyfileobj(src, out, 1 << 20)
                elif member.issym():
                    link = member.linkname
                    if not link.startswith("/"):
                        joined = go_path_clean(os.path.join(os.path.dirname(rel), link))
                        if joined == ".." or joined.startswith("../"):
                            raise CorruptContent(f"extract build context: invalid symlink {rel!r} -> {link!r}")
                    os.symlink(link, target)
                elif member.islnk():
                    link_rel = _safe_member_path(member.linkname)
                    if link_rel is None:
                        raise CorruptContent(f"extract build context: invalid hardlink {rel!r} -> {member.linkname!r}")
                    source = _prepare_parent(root, link_rel)
                    if not os.path.isfile(source) or os.path.islink(source):
                        raise CorruptContent(f"extract build context: invalid hardlink {rel!r} -> {member.linkname!r}")
                    os.link(source, target)
                    continue  # the inode's metadata came with the member it links to
                elif member.isfifo():
                    os.mkfifo(target, 0o600)
                elif (member.ischr() or member.isblk()) and is_root:
                    kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
                    os.mknod(target, kind | 0o600, os.makedev(member.devmajor, member.devminor))
                else:
                    log.debug("build context: skipping tar member %r of type %r", member.name, member.type)
                    continue
                _apply_metadata(target, member, is_root)
        except tarfile.TarError as exc:
            raise CorruptContent(f"extract build context: {exc}") from None
    for target, member in reversed(dirs):
        _apply_metadata(target, member, is_root)


class _Prefixed(io.RawIOBase):
    """A read-only stream that yields ``head`` and then the rest of ``stream`` (after peeking at it)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            if size is None or size < 0:
                return head + self._stream.read()
            return head + self._stream.read(max(size - len(head), 0)) if size > len(head) else head
        return self._stream.read(size)


def _apply_metadata(target: str, member: tarfile.TarInfo, is_root: bool) -> None:
    if is_root:
        os.lchown(target, member.uid, member.gid)
    if not member.issym():
        os.chmod(target, member.mode & 0o7777)
    mtime_ns = int(member.mtime * 1_000_000_000)
    os.utime(target, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
