"""Image records: what an image is made of (manifest, config, layers) and the names that point at it.

An image's ID is its config digest (as in Docker). Names are stored fully qualified
(``docker.io/library/busybox:latest``); RepoDigests (``repo@sha256:...``) record the manifest digests an
image was pulled or pushed by. Every change is one transaction, and :meth:`ImageStore.put` checks inside
that transaction that every blob and layer the image needs is present, so a concurrent garbage
collection can never leave an image pointing at nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dockyard.errors import FailedPrecondition, NotFound
from dockyard.oci.digest import Digest
from dockyard.oci.reference import Reference, parse_reference
from dockyard.store.content import LocalContentStore
from dockyard.store.db import Database

__all__ = ["ImageRecord", "ImageStore"]


@dataclass(frozen=True)
class ImageRecord:
    """One image as the store records it: IDs, manifest, top layer, size, dates, tags and digests."""

    id: Digest
    manifest_digest: Digest
    manifest_media_type: str
    top_layer: Digest | None
    size: int
    created: str
    added: float
    parent: Digest | None = None
    tags: tuple[Reference, ...] = field(default=(), compare=False)
    digests: tuple[Reference, ...] = field(default=(), compare=False)


class ImageStore:
    def __init__(self, db: Database, content: LocalContentStore) -> None:
        self.db = db
        self.content = content

    # -- reading -----------------------------------------------------------------------------------
    def _records(self, where: str = "", params: Sequence[object] = ()) -> list[ImageRecord]:
        rows = self.db.query(f"SELECT * FROM images {where}", params)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        tags: dict[str, list[Reference]] = {i: [] for i in ids}
        digests: dict[str, list[Reference]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for t in self.db.query(
            f"SELECT name, image_id FROM image_tags WHERE image_id IN ({marks}) ORDER BY created", ids
        ):
            tags[t["image_id"]].append(parse_reference(t["name"]))
        for d in self.db.query(
            f"SELECT repo, digest, image_id FROM image_digests WHERE image_id IN ({marks}) ORDER BY repo", ids
        ):
            digests[d["image_id"]].append(parse_reference(f"{d['repo']}@{d['digest']}"))
        return [
            ImageRecord(
                id=Digest.parse(r["id"]),
                manifest_digest=Digest.parse(r["manifest_digest"]),
                manifest_media_type=r["manifest_media_type"],
                top_layer=Digest.parse(r["top_layer"]) if r["top_layer"] else None,
                size=int(r["size"]),
                created=r["created"],
                added=float(r["added"]),
                parent=Digest.parse(r["parent"]) if r["parent"] else None,
                tags=tuple(tags[r["id"]]),
                digests=tuple(digests[r["id"]]),
            )
            for r in rows
        ]

    def all(self) -> list[ImageRecord]:
        return self._records("ORDER BY added DESC")

    def get(self, image_id: Digest) -> ImageRecord | None:
        found = self._records("WHERE id = ?", (str(image_id),))
        return found[0] if found else None

    def by_prefix(self, prefix: str) -> list[ImageRecord]:
        """Images whose ID (hex) starts with ``prefix`` (``sha256:`` optional)."""
        hexpart = prefix.removeprefix("sha256:")
        return self._records("WHERE id >= ? AND id < ?", (f"sha256:{hexpart}", f"sha256:{hexpart}\U0010ffff"))

    def by_tag(self, ref: Reference) -> ImageRecord | None:
        row = self.db.query_one("SELECT image_id FROM image_tags WHERE name = ?", (str(ref),))
        return self.get(Digest.parse(row["image_id"])) if row else None

    def by_digest(self, ref: Reference) -> ImageRecord | None:
        assert ref.digest is not None
        row = self.db.query_one(
            "SELECT image_id FROM image_digests WHERE repo = ? AND digest = ?", (ref.name, str(ref.digest))
        )
        if row is None:
            row = self.db.query_one("SELECT id AS image_id FROM images WHERE manifest_digest = ?", (str(ref.digest),))
        return self.get(Digest.parse(row["image_id"])) if row else None

    def children(self, image_id: Digest) -> list[Digest]:
        return [
            Digest.parse(r["id"]) for r in self.db.query("SELECT id FROM images WHERE parent = ?", (str(image_id),))
        ]

    def blobs(self, image_id: Digest) -> list[Digest]:
        rows = self.db.query("SELECT digest FROM image_blobs WHERE image_id = ?", (str(image_id),))
        return [Digest.parse(r["digest"]) for r in rows]

    # -- writing -----------------------------------------------------------------------------------
    def put(
        self,
        record: ImageRecord,
        blobs: Iterable[Digest],
        tags: Iterable[Reference] = (),
        repo_digests: Iterable[Reference] = (),
    ) -> list[Digest]:
        """Store an image (or update an existing one) and move ``tags`` to it.

        Returns the IDs of images that lost their last tag to this call (dangling now).
        """
        blob_list = sorted(set(blobs))
        with self.db.transaction() as conn:
            for d in blob_list:
                if not self.content.exists(d):
                    raise FailedPrecondition(f"store image {record.id.short}: blob {d} is missing")
            if (
                record.top_layer is not None
                and not conn.execute("SELECT 1 FROM layers WHERE chain_id = ?", (str(record.top_layer),)).fetchone()
            ):
                raise FailedPrecondition(f"store image {record.id.short}: layer {record.top_layer} is missing")
            conn.execute(
                """INSERT INTO images(id, manifest_digest, manifest_media_type, top_layer, size, created, added, parent)
                   VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest,
                       manifest_media_type = excluded.manifest_media_type,
                       parent = coalesce(images.parent, excluded.parent)""",
                (
                    str(record.id),
                    str(record.manifest_digest),
                    record.manifest_media_type,
                    str(record.top_layer) if record.top_layer else None,
                    record.size,
                    record.created,
                    record.added or time.time(),
                    str(record.parent) if record.parent else None,
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES (?, ?)",
                [(str(record.id), str(d)) for d in blob_list],
            )
            orphaned: list[Digest] = []
            for ref in tags:
                orphaned += self._tag(conn, ref, record.id)
            for ref in repo_digests:
                assert ref.digest is not None
                conn.execute(
                    "INSERT OR REPLACE INTO image_digests(repo, digest, image_id) VALUES (?, ?, ?)",
                    (ref.name, str(ref.digest), str(record.id)),
                )
            return orphaned

    def _tag(self, conn: sqlite3.Connection, ref: Reference, image_id: Digest) -> list[Digest]:
        row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (str(ref),)).fetchone()
        previous = row["image_id"] if row else None
        conn.execute(
            "INSERT OR REPLACE INTO image_tags(name, image_id, created) VALUES (?, ?, ?)",
            (str(ref), str(image_id), time.time()),
        )
        if previous and previous != str(image_id):
            left = conn.execute("SELECT count(*) FROM image_tags WHERE image_id = ?", (previous,)).fetchone()[0]
            if left == 0:
                return [Digest.parse(previous)]
        return []

    def tag(self, ref: Reference, image_id: Digest) -> list[Digest]:
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM images WHERE id = ?", (str(image_id),)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            return self._tag(conn, ref, image_id)

    def untag(self, ref: Reference) -> Digest:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (str(ref),)).fetchone()
            if row is None:
                raise NotFound(f"No such image: {ref.familiar}")
            conn.execute("DELETE FROM image_tags WHERE name = ?", (str(ref),))
            return Digest.parse(row["image_id"])

    def remove_digest(self, ref: Reference) -> None:
        assert ref.digest is not None
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM image_digests WHERE repo = ? AND digest = ?", (ref.name, str(ref.digest)))

    def delete(self, image_id: Digest) -> None:
        """Delete the record (tags and digests go with it). Blobs and layers are left to garbage collection."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE images SET parent = NULL WHERE parent = ?", (str(image_id),))
            conn.execute("DELETE FROM images WHERE id = ?", (str(image_id),))
