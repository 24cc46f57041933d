"""Blob upload sessions: hashed as bytes arrive, resumable across restarts, committed only when the digest matches.

A session is a directory ``uploads/<uuid>/`` holding ``data`` (the bytes received so far) and ``info.json``
(repository, start time). The running hash lives in memory; after a restart it is rebuilt from ``data`` the first
time the session is used again, so an upload resumes from the size ``GET <location>`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.oci.digest import Digest
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.storage import RegistryStorage, hash_file

__all__ = ["UploadSession", "UploadSessions"]

log = logging.getLogger(__name__)

_FLUSH = 1 << 20  # bytes gathered before a write (and hash update) is handed to a thread


@dataclass
class UploadSession:
    """One upload in progress. Touch ``size``/``hasher`` only under ``lock``."""

    uuid: str
    repository: str
    directory: Path
    started_at: float
    size: int = 0
    hasher: hashlib._Hash | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fd: int | None = None

    @property
    def data_path(self) -> Path:
        return self.directory / "data"

    def _open(self) -> int:
        if self.fd is None:
            self.fd = os.open(self.data_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def load(self) -> None:
        """Rebuild the hash from the bytes on disk (after a restart, or after a failed write)."""
        self.close()
        h = hashlib.sha256()
        size = 0
        with contextlib.suppress(FileNotFoundError), open(self.data_path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
        self.hasher, self.size = h, size

    def write(self, data: bytes) -> None:
        """Append and hash (blocking; called in a thread). On failure the hash is rebuilt from disk next time."""
        if self.hasher is None:
            self.load()
        assert self.hasher is not None
        fd = self._open()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            self.hasher = None
            raise
        self.hasher.update(data)
        self.size += len(data)


class UploadSessions:
    """The registry's upload sessions (in memory, backed by ``uploads/``)."""

    def __init__(self, storage: RegistryStorage) -> None:
        self.storage = storage
        self._sessions: dict[str, UploadSession] = {}

    def create(self, repository: str) -> UploadSession:
        uuid = str(uuidlib.uuid4())
        directory = self.storage.uploads_dir / uuid
        directory.mkdir(parents=True)
        now = time.time()
        (directory / "info.json").write_text(json.dumps({"repository": repository, "startedat": now}))
        (directory / "data").touch()
        session = UploadSession(uuid, repository, directory, now, hasher=hashlib.sha256())
        self._sessions[uuid] = session
        return session

    def get(self, repository: str, uuid: str) -> UploadSession:
        """The session ``uuid`` of ``repository`` (loaded from disk after a restart), else BLOB_UPLOAD_UNKNOWN."""
        session = self._sessions.get(uuid)
        if session is None:
            session = self._load(uuid)
        if session is None or session.repository != repository:
            raise SpecError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": uuid})
        return session

    def _load(self, uuid: str) -> UploadSession | None:
        try:
            uuidlib.UUID(uuid)
        except ValueError:
            return None
        directory = self.storage.uploads_dir / uuid
        try:
            info = json.loads((directory / "info.json").read_text())
            repository, started = str(info["repository"]), float(info["startedat"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        session = UploadSession(uuid, repository, directory, started)
        session.size = (directory / "data").stat().st_size if (directory / "data").exists() else 0
        self._sessions[uuid] = session
        return session

    def discard(self, session: UploadSession) -> None:
        """Forget a session and remove its files (cancel, digest mismatch, or after commit)."""
        session.close()
        self._sessions.pop(session.uuid, None)
        shutil.rmtree(session.directory, ignore_errors=True)

    async def receive(self, session: UploadSession, body: AsyncIterator[bytes], expected: int | None = None) -> int:
        """Append a request body to the session (writes in a thread, overlapping the network); bytes received.

        What arrived before a broken connection stays in the session, so the client can resume from there.
        """
        received = 0
        pending: asyncio.Future[None] | None = None
        buf: list[bytes] = []
        buffered = 0
        try:
            async for chunk in body:
                buf.append(chunk)
                buffered += len(chunk)
                received += len(chunk)
                if buffered >= _FLUSH:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(asyncio.to_thread(session.write, b"".join(buf)))
                    buf, buffered = [], 0
        finally:
            if pending is not None:
                await pending
            if buf:
                await asyncio.to_thread(session.write, b"".join(buf))
        if expected is not None and received != expected:
            raise SpecError(ErrorCode.SIZE_INVALID, detail={"expected": expected, "received": received})
        return received

    def commit(self, session: UploadSession, digest: Digest) -> int:
        """Check the digest and move the bytes into the blob store (blocking). ``DIGEST_INVALID`` stores nothing."""
        if session.hasher is None:
            session.load()
        assert session.hasher is not None
        if session.fd is not None:
            os.fsync(session.fd)
        session.close()
        if digest.algorithm == "sha256":
            actual = session.hasher.hexdigest()
        else:
            actual, _ = hash_file(session.data_path, digest.algorithm)
        if actual != digest.hex:
            self.discard(session)
            raise SpecError(
                ErrorCode.DIGEST_INVALID, detail={"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"}
            )
        size = session.size
        fd = os.open(session.data_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.storage.commit_blob_file(session.data_path, digest)
        self.storage.link_layer(session.repository, digest)
        self.discard(session)
        return size

    def purge(self, older_than: float) -> int:
        """Remove sessions started more than ``older_than`` seconds ago; how many were removed."""
        cutoff = time.time() - older_than
        removed = 0
        for name in os.listdir(self.storage.uploads_dir):
            directory = self.storage.uploads_dir / name
            try:
                started = float(json.loads((directory / "info.json").read_text())["startedat"])
            except (OSError, ValueError, KeyError, TypeError):
                started = directory.stat().st_mtime if directory.exists() else 0.0
            if started < cutoff:
                self._sessions.pop(name, None)
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
        return removed
