"""Content-addressed blob storage: ``blobs/sha256/<hex>``, written through ``ingest/``.

Every blob enters the same way (containerd's ``content`` store): bytes are written to a file in
``ingest/`` on the same filesystem, fsynced, checked against the expected size and digest, renamed into
``blobs/`` with ``os.replace`` and the directory fsynced. A reader therefore sees a complete, verified blob
or nothing. An ingest keyed by a ``ref`` (for example the digest being downloaded) can be resumed: the
bytes already written are re-hashed and writing continues at ``offset``.

Which blobs are still needed is not recorded here: images reference blobs, leases protect blobs being
written, and :mod:`dockyard.store.gc` deletes what nothing references.
"""

from __future__ import annotations

import contextlib
import fcntl
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import CorruptContent, NotFound, Unavailable
from dockyard.oci.digest import Digest
from dockyard.pids import pid_alive
from dockyard.store.fsutil import disk_error, fsync_dir

__all__ = ["ContentWriter", "LocalContentStore"]


class ContentWriter:
    """An open ingest. Use as a context manager; call :meth:`commit` to verify and publish the blob."""

    def __init__(
        self,
        store: LocalContentStore,
        path: Path,
        expected: Digest | None,
        expected_size: int | None,
        *,
        resume: bool,
    ) -> None:
        self._store = store
        self.path = path
        self.expected = expected
        self.expected_size = expected_size
        import hashlib  # here, not at the top: most commands never write content (see oci/digest.py)

        self._hash = hashlib.sha256()
        self._resumable = resume
        self._lockfd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lockfd)
            raise Unavailable(f"ingest {path.name}: another process is writing it") from None
        self.offset = 0
        if resume:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    self._hash.update(chunk)
                    self.offset += len(chunk)
        else:
            os.ftruncate(self._lockfd, 0)
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._closed = False
        self.committed: Digest | None = None

    @property
    def digest(self) -> Digest:
        """The digest of what has been written so far."""
        return Digest("sha256", self._hash.hexdigest())

    def write(self, data: bytes | memoryview) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise disk_error(exc, f"write blob {self.expected or self.path.name}") from exc
        self._hash.update(data)
        self.offset += len(data)
        if self.expected_size is not None and self.offset > self.expected_size:
            raise CorruptContent(f"blob {self.expected}: more data than the expected size {self.expected_size}")

    def truncate(self) -> None:
        """Start over (the remote did not honour a Range request)."""
        self._file.flush()
        os.ftruncate(self._file.fileno(), 0)
        import hashlib

        self._hash = hashlib.sha256()
        self.offset = 0

    def commit(self) -> Digest:
        """Verify size and digest, then publish. On a mismatch the ingest is discarded."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise disk_error(exc, f"write blob {self.expected or self.path.name}") from exc
        actual = Digest("sha256", self._hash.hexdigest())
        if self.expected_size is not None and self.offset != self.expected_size:
            self.abort()
            raise CorruptContent(
                f"blob {self.expected or actual}: size {self.offset} does not match the expected {self.expected_size}"
            )
        if self.expected is not None and actual != self.expected:
            self.abort()
            raise CorruptContent(f"blob {self.expected}: digest mismatch, content hashes to {actual}")
        target = self._store.path(actual)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        fsync_dir(target.parent)
        self.committed = actual
        self.close()
        return actual

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self.close()

    def close(self) -> None:
        """Release the ingest; an unnamed (non-resumable) ingest that was not committed is removed."""
        if self._closed:
            return
        self._closed = True
        self._file.close()
        if self.committed is None and not self._resumable:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self._lockfd)

    def __enter__(self) -> ContentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # Keep partial downloads (resumable) unless the data itself is bad.
        if self.committed is None and isinstance(exc[1], CorruptContent):
            self.abort()
        self.close()


class LocalContentStore:
    """Blobs under ``<root>/blobs``, ingests under ``<root>/ingest`` (same filesystem)."""

    def __init__(self, blobs: Path, ingest: Path) -> None:
        self.blobs = blobs
        self.ingest_dir = ingest
        for d in (blobs / "sha256", ingest):
            d.mkdir(parents=True, exist_ok=True)

    def path(self, digest: Digest) -> Path:
        return self.blobs / digest.algorithm / digest.hex

    def exists(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: Digest) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest}: not found") from None

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest}: not found") from None

    def read(self, digest: Digest, *, verify: bool = False) -> bytes:
        with self.open(digest) as f:
            data = f.read()
        if verify and Digest.of(data) != digest:
            raise CorruptContent(f"blob {digest}: stored content does not match its digest")
        return data

    def writer(
        self, ref: str | None = None, expected: Digest | None = None, expected_size: int | None = None
    ) -> ContentWriter:
        """Open an ingest. With ``ref``, an existing partial ingest of that name is resumed."""
        if ref is None:
            name = f"{os.getpid()}-{os.urandom(8).hex()}"
            resume = False
        else:
            import hashlib

            name = "ref-" + hashlib.sha256(ref.encode()).hexdigest()[:32]
            resume = True
        try:
            return ContentWriter(self, self.ingest_dir / name, expected, expected_size, resume=resume)
        except OSError as exc:
            raise disk_error(exc, "open ingest") from exc

    def put(self, data: bytes, expected: Digest | None = None) -> Digest:
        digest = Digest.of(data)
        if expected is not None and digest != expected:
            raise CorruptContent(f"blob {expected}: digest mismatch, content hashes to {digest}")
        if self.exists(digest):
            return digest
        with self.writer(expected=digest, expected_size=len(data)) as w:
            w.write(data)
            return w.commit()

    def delete(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    def walk(self) -> Iterator[Digest]:
        for algo_dir in self.blobs.iterdir():
            if not algo_dir.is_dir():
                continue
            for f in algo_dir.iterdir():
                with contextlib.suppress(Exception):
                    yield Digest.parse(f"{algo_dir.name}:{f.name}")

    def clean_ingest(self) -> int:
        """Remove abandoned ingests: unnamed ones of dead processes. Resumable (ref-) ones are kept."""
        removed = 0
        for f in self.ingest_dir.iterdir():
            pid, sep, _ = f.name.partition("-")
            if sep and pid.isdigit() and not pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    f.unlink()
                    removed += 1
        return removed
