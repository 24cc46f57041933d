"""Where blobs were seen: ``(registry, repository, digest)`` rows recorded on every pull and push.

A push asks this table which other repositories of the same registry hold a blob, to try a cross-repository mount
(``POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>``) before uploading — Docker's ``V2MetadataService``
does the same job. The rows live in the shared metadata database under their own component (``distribution``),
so they survive the images they came with: a layer pulled from ``library/debian`` and deleted locally can still
be mounted from there. A failed mount removes the row (the registry no longer has it, or we may not read it).

::

    blob_sources   (registry, repository, digest) PK, seen (unix time)
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from dockyard.oci.digest import Digest
from dockyard.store.db import Database

__all__ = ["MIGRATIONS", "BlobSources"]

MIGRATIONS: list[str] = [
    """
    CREATE TABLE blob_sources (
        registry   TEXT NOT NULL,
        repository TEXT NOT NULL,
        digest     TEXT NOT NULL,
        seen       REAL NOT NULL,
        PRIMARY KEY (registry, repository, digest)
    );
    CREATE INDEX blob_sources_digest ON blob_sources(registry, digest)
    """,
]


class BlobSources:
    """The ``blob_sources`` table of one state root's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema("distribution", MIGRATIONS)

    def add(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        now = time.time()
        rows = [(registry, repository, str(d), now) for d in dict.fromkeys(digests)]
        if not rows:
            return
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO blob_sources(registry, repository, digest, seen) VALUES (?, ?, ?, ?)", rows
            )

    def remove(self, registry: str, repository: str, digest: Digest) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM blob_sources WHERE registry = ? AND repository = ? AND digest = ?",
                (registry, repository, str(digest)),
            )

    def repositories(self, registry: str, digest: Digest) -> list[str]:
        """Repositories of ``registry`` known to hold ``digest``, most recently seen first."""
        rows = self.db.query(
            "SELECT repository FROM blob_sources WHERE registry = ? AND digest = ? ORDER BY seen DESC",
            (registry, str(digest)),
        )
        return [str(r["repository"]) for r in rows]

    def mount_candidates(self, registry: str, repository: str, digest: Digest, limit: int = 3) -> list[str]:
        """Other repositories of the same registry to try mounting ``digest`` from (at most ``limit``)."""
        return [r for r in self.repositories(registry, digest) if r != repository][:limit]
