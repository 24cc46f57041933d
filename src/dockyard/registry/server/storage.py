"""The registry's files: blobs by digest, per-repository links, tags, upload sessions.

Layout under the storage root (repository names never contain a component starting with ``_`` or ``.``, so the
``_`` directories cannot collide with a nested repository)::

    blobs/<alg>/<hex[:2]>/<hex>                           verified content (layers, configs, manifests)
    repositories/<name>/_layers/<alg>/<hex>               empty file: the blob was pushed or mounted here
    repositories/<name>/_manifests/revisions/<alg>/<hex>  the manifest's media type
    repositories/<name>/_manifests/tags/<tag>             the digest the tag points at
    repositories/<name>/_referrers/<alg>/<subject-hex>/<alg>-<hex>   a referrer's descriptor (JSON)
    uploads/<uuid>/{data,info.json}                       upload sessions (survive restarts)
    tmp/                                                  temporary files, emptied at start-up
    quarantine/                                           blobs that failed their digest on read

A blob appears under ``blobs/`` only by ``rename`` of a file that was fsynced and whose digest was checked, so a
crash never leaves half a blob visible. Every link is written atomically too; a crash between the blob and its
link leaves an unreferenced blob that ``gc`` sweeps.

Reads are verified without re-hashing on every request: a blob's ``stat`` signature (inode, size, mtime, ctime)
is remembered when its content was last hashed (at commit, or when first read after a restart); a signature that
changed means the file was touched and is hashed again before anything is served from it. Full downloads are
also hashed while they stream (see ``handlers/blobs.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.store.fsutil import atomic_write, fsync_dir

__all__ = ["RegistryStorage", "hash_file"]

log = logging.getLogger(__name__)

_BUF = 1 << 20
Signature = tuple[int, int, int, int]


def hash_file(path: Path | int, algorithm: str = "sha256", limit: int | None = None) -> tuple[str, int]:
    """Hex digest and size of a file (a path or an open descriptor read with ``pread``)."""
    h = hashlib.new(algorithm)
    fd = path if isinstance(path, int) else os.open(path, os.O_RDONLY)
    try:
        offset = 0
        while limit is None or offset < limit:
            want = _BUF if limit is None else min(_BUF, limit - offset)
            chunk = os.pread(fd, want, offset)
            if not chunk:
                break
            h.update(chunk)
            offset += len(chunk)
        return h.hexdigest(), offset
    finally:
        if not isinstance(path, int):
            os.close(fd)


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _touch(path: Path) -> None:
    """Create an empty link file durably (no-op when it exists)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    fsync_dir(path.parent)


def _listdir(path: Path) -> list[str]:
    try:
        return [n for n in os.listdir(path) if not n.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


class RegistryStorage:
    """All file operations of the registry (blocking: the server calls them in threads)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs_dir = root / "blobs"
        self.repos_dir = root / "repositories"
        self.uploads_dir = root / "uploads"
        self.tmp_dir = root / "tmp"
        self.quarantine_dir = root / "quarantine"
        self._verified: dict[Digest, Signature] = {}
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Create the directories and drop temporary files a killed process left behind."""
        for d in (self.blobs_dir, self.repos_dir, self.uploads_dir, self.tmp_dir, self.quarantine_dir):
            d.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(self.tmp_dir):
            with contextlib.suppress(OSError):
                os.unlink(self.tmp_dir / name)

    # -- blobs ---------------------------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        return self.blobs_dir / digest.algorithm / digest.hex[:2] / digest.hex

    def iter_blobs(self) -> Iterator[Digest]:
        for algorithm in _listdir(self.blobs_dir):
            for prefix in _listdir(self.blobs_dir / algorithm):
                for hex_ in _listdir(self.blobs_dir / algorithm / prefix):
                    try:
                        yield Digest.parse(f"{algorithm}:{hex_}")
                    except InvalidArgument:
                        continue

    def verified_size(self, digest: Digest) -> int | None:
        """The blob's size if it exists and its content matches its digest (hashing it only if it changed)."""
        path = self.blob_path(digest)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        if self._verified.get(digest) == _signature(st):
            return st.st_size
        hex_, size = hash_file(path, digest.algorithm)
        if hex_ != digest.hex:
            self.quarantine(digest, f"content hashes to {digest.algorithm}:{hex_}")
            return None
        self.mark_verified(digest, st)
        return size

    def is_verified(self, digest: Digest, st: os.stat_result) -> bool:
        return self._verified.get(digest) == _signature(st)

    def mark_verified(self, digest: Digest, st: os.stat_result | None = None) -> None:
        if st is None:
            st = os.stat(self.blob_path(digest))
        with self._lock:
            self._verified[digest] = _signature(st)

    def quarantine(self, digest: Digest, reason: str) -> None:
        """Move a blob that failed its digest aside so it is never served again (a new push replaces it)."""
        log.error("blob %s is corrupt on disk (%s): moved to %s", digest, reason, self.quarantine_dir)
        with self._lock:
            self._verified.pop(digest, None)
        target = self.quarantine_dir / f"{digest.algorithm}-{digest.hex}-{time.time_ns()}"
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.blob_path(digest), target)

    def commit_blob_file(self, source: Path, digest: Digest) -> None:
        """Move a verified, fsynced file into place (replacing whatever was there: the new file is known good)."""
        target = self.blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        fsync_dir(target.parent)
        self.mark_verified(digest)

    def write_blob_bytes(self, digest: Digest, data: bytes) -> None:
        """Store small verified content (a manifest) atomically."""
        if _hex(data, digest.algorithm) != digest.hex:
            raise InvalidArgument(f"store blob {digest}: content does not match")
        if self.verified_size(digest) == len(data):
            return
        target = self.blob_path(digest)
        atomic_write(target, data)
        self.mark_verified(digest)

    def read_blob_bytes(self, digest: Digest) -> bytes | None:
        """A small blob's content, checked against its digest (``None`` if missing or corrupt)."""
        try:
            data = self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            return None
        if _hex(data, digest.algorithm) != digest.hex:
            self.quarantine(digest, "content does not match")
            return None
        return data

    def delete_blob(self, digest: Digest) -> None:
        with self._lock:
            self._verified.pop(digest, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.blob_path(digest))

    # -- repositories --------------------------------------------------------------------------------------

    def repo_dir(self, name: str) -> Path:
        return self.repos_dir / name

    def _layer_link(self, name: str, digest: Digest) -> Path:
        return self.repo_dir(name) / "_layers" / digest.algorithm / digest.hex

    def link_layer(self, name: str, digest: Digest) -> None:
        _touch(self._layer_link(name, digest))

    def has_layer(self, name: str, digest: Digest) -> bool:
        return self._layer_link(name, digest).exists()

    def unlink_layer(self, name: str, digest: Digest) -> bool:
        try:
            os.unlink(self._layer_link(name, digest))
        except FileNotFoundError:
            return False
        return True

    def layers(self, name: str) -> list[Digest]:
        root = self.repo_dir(name) / "_layers"
        out = []
        for algorithm in _listdir(root):
            for hex_ in _listdir(root / algorithm):
                with contextlib.suppress(InvalidArgument):
                    out.append(Digest.parse(f"{algorithm}:{hex_}"))
        return out

    def repositories(self) -> list[str]:
        """Every repository that holds at least one manifest, sorted."""
        out: list[str] = []
        for dirpath, dirnames, _files in os.walk(self.repos_dir):
            if "_manifests" in dirnames:
                out.append(os.path.relpath(dirpath, self.repos_dir))
            dirnames[:] = [d for d in dirnames if not d.startswith(("_", "."))]
        return sorted(out)

    def repository_exists(self, name: str) -> bool:
        return (self.repo_dir(name) / "_manifests").is_dir() or (self.repo_dir(name) / "_layers").is_dir()

    # -- manifests and tags -------------------------------------------------------------------------------

    def _revision(self, name: str, digest: Digest) -> Path:
        return self.repo_dir(name) / "_manifests" / "revisions" / digest.algorithm / digest.hex

    def _tag(self, name: str, tag: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "tags" / tag

    def _referrer(self, name: str, subject: Digest, digest: Digest) -> Path:
        return self.repo_dir(name) / "_referrers" / subject.algorithm / subject.hex / f"{digest.algorithm}-{digest.hex}"

    def put_manifest(
        self,
        name: str,
        digest: Digest,
        data: bytes,
        media_type: str,
        *,
        tag: str | None = None,
        subject: Digest | None = None,
        referrer: bytes | None = None,
    ) -> None:
        """Store a manifest: its blob, the revision link (with its media type), the tag and the referrer entry."""
        self.write_blob_bytes(digest, data)
        revision = self._revision(name, digest)
        if not revision.exists() or revision.read_text() != media_type:
            atomic_write(revision, media_type.encode())
        if subject is not None and referrer is not None:
            atomic_write(self._referrer(name, subject, digest), referrer)
        if tag is not None:
            atomic_write(self._tag(name, tag), str(digest).encode())

    def manifest_media_type(self, name: str, digest: Digest) -> str | None:
        try:
            return self._revision(name, digest).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def revisions(self, name: str) -> list[Digest]:
        root = self.repo_dir(name) / "_manifests" / "revisions"
        out = []
        for algorithm in _listdir(root):
            for hex_ in _listdir(root / algorithm):
                with contextlib.suppress(InvalidArgument):
                    out.append(Digest.parse(f"{algorithm}:{hex_}"))
        return out

    def delete_revision(self, name: str, digest: Digest, subject: Digest | None) -> bool:
        """Forget a manifest in a repository, with the tags pointing at it and its referrer entry."""
        try:
            os.unlink(self._revision(name, digest))
        except FileNotFoundError:
            return False
        for tag, target in self.tags(name).items():
            if target == digest:
                self.delete_tag(name, tag)
        if subject is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._referrer(name, subject, digest))
        return True

    def resolve_tag(self, name: str, tag: str) -> Digest | None:
        try:
            return Digest.parse(self._tag(name, tag).read_text().strip())
        except (FileNotFoundError, NotADirectoryError, InvalidArgument):
            return None

    def tags(self, name: str) -> dict[str, Digest]:
        out = {}
        for tag in _listdir(self.repo_dir(name) / "_manifests" / "tags"):
            digest = self.resolve_tag(name, tag)
            if digest is not None:
                out[tag] = digest
        return out

    def tag_names(self, name: str) -> list[str] | None:
        """Sorted tags, or ``None`` when the repository does not exist."""
        if not self.repository_exists(name):
            return None
        return sorted(_listdir(self.repo_dir(name) / "_manifests" / "tags"))

    def delete_tag(self, name: str, tag: str) -> bool:
        try:
            os.unlink(self._tag(name, tag))
        except FileNotFoundError:
            return False
        return True

    def referrers(self, name: str, subject: Digest) -> list[bytes]:
        """The descriptors (JSON) of the manifests in ``name`` whose ``subject`` is ``subject``."""
        root = self.repo_dir(name) / "_referrers" / subject.algorithm / subject.hex
        out = []
        for entry in sorted(_listdir(root)):
            algorithm, _, hex_ = entry.partition("-")
            with contextlib.suppress(InvalidArgument, FileNotFoundError):
                if self.manifest_media_type(name, Digest.parse(f"{algorithm}:{hex_}")) is not None:
                    out.append((root / entry).read_bytes())
        return out


def _hex(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()
