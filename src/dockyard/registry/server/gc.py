"""``dockyard registry gc``: mark every blob reachable from the manifests of every repository, sweep the rest.

Marked: each manifest kept (all revisions, or with ``delete_untagged`` only those reachable from a tag, through
index children and referrers of kept manifests), its config and its layers. Swept: unmarked blobs, the repository
links to them, revisions dropped as untagged, and upload sessions older than the expiry. Run it with the server
stopped: it takes the storage lock, so it refuses to run beside a live server (whose half-pushed images it would
otherwise collect).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.registry.server.storage import RegistryStorage
from dockyard.registry.server.uploads import UploadSessions

__all__ = ["GcReport", "collect_garbage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcReport:
    marked: int
    deleted_blobs: tuple[Digest, ...]
    deleted_manifests: tuple[tuple[str, Digest], ...]
    freed_bytes: int
    removed_uploads: int
    dry_run: bool


def _references(data: bytes) -> tuple[list[Digest], list[Digest], Digest | None]:
    """(blobs, child manifests, subject) of a manifest body."""
    try:
        body = json.loads(data)
    except ValueError:
        return [], [], None

    def digests(entries: object) -> list[Digest]:
        out = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                try:
                    out.append(Digest.parse(str(entry.get("digest"))))
                except InvalidArgument:
                    continue
        return out

    if not isinstance(body, dict):
        return [], [], None
    blobs = digests([body.get("config")]) + digests(body.get("layers"))
    subject = digests([body.get("subject")])
    return blobs, digests(body.get("manifests")), subject[0] if subject else None


def _kept_revisions(storage: RegistryStorage, name: str, delete_untagged: bool) -> tuple[set[Digest], set[Digest]]:
    """(kept, dropped) manifests of one repository."""
    revisions = set(storage.revisions(name))
    if not delete_untagged:
        return revisions, set()
    bodies: dict[Digest, tuple[list[Digest], list[Digest], Digest | None]] = {}
    for digest in revisions:
        data = storage.read_blob_bytes(digest)
        bodies[digest] = _references(data) if data is not None else ([], [], None)
    kept: set[Digest] = set()
    todo = [d for d in storage.tags(name).values() if d in revisions]
    while todo:
        while todo:
            digest = todo.pop()
            if digest in kept:
                continue
            kept.add(digest)
            todo.extend(c for c in bodies.get(digest, ([], [], None))[1] if c in revisions)
        # referrers (signatures, SBOMs) of kept manifests are kept with them
        todo = [d for d, (_, _, subject) in bodies.items() if subject in kept and d not in kept]
    return kept, revisions - kept


def collect_garbage(
    storage_root: Path, *, dry_run: bool = False, delete_untagged: bool = False, upload_expiry: float | None = None
) -> GcReport:
    """Mark and sweep ``storage_root`` (the caller holds the storage lock)."""
    storage = RegistryStorage(storage_root)
    storage.prepare()
    marked: set[Digest] = set()
    dropped: list[tuple[str, Digest]] = []
    repositories = storage.repositories()
    for name in repositories:
        kept, drop = _kept_revisions(storage, name, delete_untagged)
        for digest in kept:
            marked.add(digest)
            data = storage.read_blob_bytes(digest)
            if data is None:
                log.warning("gc: manifest %s of %s is missing or corrupt", digest, name)
                continue
            blobs, _children, _subject = _references(data)
            marked.update(blobs)
        dropped.extend((name, d) for d in sorted(drop))
    deleted: list[Digest] = []
    freed = 0
    for digest in storage.iter_blobs():
        if digest in marked:
            continue
        deleted.append(digest)
        try:
            freed += os.stat(storage.blob_path(digest)).st_size
        except FileNotFoundError:
            continue
    removed_uploads = 0
    if not dry_run:
        for name, digest in dropped:
            data = storage.read_blob_bytes(digest)
            subject = _references(data)[2] if data is not None else None
            storage.delete_revision(name, digest, subject)
        gone = set(deleted)
        for digest in deleted:
            storage.delete_blob(digest)
        for name in _all_repositories(storage):
            for digest in storage.layers(name):
                if digest in gone or not storage.blob_path(digest).exists():
                    storage.unlink_layer(name, digest)
        if upload_expiry is not None:
            removed_uploads = UploadSessions(storage).purge(upload_expiry)
    log.info("gc: %d blobs marked, %d swept (%d bytes)", len(marked), len(deleted), freed)
    return GcReport(len(marked), tuple(sorted(deleted)), tuple(dropped), freed, removed_uploads, dry_run)


def _all_repositories(storage: RegistryStorage) -> list[str]:
    """Repositories with layer links (including those without any manifest yet)."""
    out = []
    for dirpath, dirnames, _files in os.walk(storage.repos_dir):
        if "_layers" in dirnames:
            out.append(os.path.relpath(dirpath, storage.repos_dir))
        dirnames[:] = [d for d in dirnames if not d.startswith(("_", "."))]
    return out
