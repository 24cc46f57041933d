"""The build cache: explicit keys, and the inputs behind each key so that a miss can be explained.

A step's key is the SHA-256 of its inputs (:class:`CacheInputs`): the image it runs on (whose config already holds
ENV, WORKDIR, USER, SHELL, ...), the instruction as executed (expanded), the build args in the step's environment,
and for COPY/ADD a checksum of the selected sources (content, mode and ownership of every file; never mtimes).
Each entry maps the key to the image the step produced and keeps the inputs as JSON, plus ``origin`` (which
Dockerfile step it was) so that the next build of the same step can say which input changed. The file lists
behind source checksums are stored once per checksum in ``build_manifests`` (zlib-compressed JSON).

Tables (component ``build``)::

    build_cache      key PK, parent (image ID), image_id, inputs (JSON), created, last_used, origin
    build_manifests  digest PK (a sources checksum), data (zlib JSON list of files), created
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dockyard.store.db import Database

__all__ = ["MIGRATIONS", "BuildCache", "CacheEntry", "CacheInputs", "SourceFile"]

KEY_VERSION = "dockyard-build-cache-v1"

MIGRATIONS: list[str] = [
    # 1: cache entries
    """
    CREATE TABLE build_cache (
        key       TEXT PRIMARY KEY,
        parent    TEXT NOT NULL,
        image_id  TEXT NOT NULL,
        inputs    TEXT NOT NULL,
        created   REAL NOT NULL,
        last_used REAL NOT NULL
    );
    CREATE INDEX build_cache_parent ON build_cache(parent);
    CREATE INDEX build_cache_image ON build_cache(image_id);
    """,
    # 2: explanations: which Dockerfile step an entry came from, and the file lists behind source checksums
    """
    ALTER TABLE build_cache ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    CREATE INDEX build_cache_origin ON build_cache(origin, last_used);
    CREATE TABLE build_manifests (
        digest  TEXT PRIMARY KEY,
        data    BLOB NOT NULL,
        created REAL NOT NULL
    );
    """,
]


@dataclass(frozen=True)
class SourceFile:
    """One selected source path as the checksum saw it: ``content`` is the file's SHA-256 or a link's target."""

    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    content: str = ""

    def to_list(self) -> list[object]:
        return [self.path, self.kind, self.mode, self.uid, self.gid, self.content]

    @classmethod
    def from_list(cls, item: Sequence[object]) -> SourceFile:
        path, kind, mode, uid, gid, content = item
        return cls(str(path), str(kind), int(str(mode)), int(str(uid)), int(str(gid)), str(content))


@dataclass(frozen=True)
class CacheInputs:
    """Everything a step's result depends on besides its parent image's content.

    ``display`` (the Dockerfile line), ``manifest`` (the digest of the file list behind ``sources``) and ``scope``
    (the build args in scope, which an instruction's expansion may have used) are kept for explanations and are
    not part of the key.
    """

    parent: str
    instruction: str
    args: tuple[tuple[str, str], ...] = ()
    sources: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    display: str = field(default="", compare=False)
    manifest: str = field(default="", compare=False)
    scope: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        material = json.dumps(
            [KEY_VERSION, self.parent, self.instruction, list(self.args), self.sources, list(self.extra)],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()

    def to_json(self) -> str:
        return json.dumps(
            {
                "parent": self.parent,
                "instruction": self.instruction,
                "args": [list(a) for a in self.args],
                "sources": self.sources,
                "extra": [list(e) for e in self.extra],
                "display": self.display,
                "manifest": self.manifest,
                "scope": [list(a) for a in self.scope],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> CacheInputs:
        data = json.loads(text)
        return cls(
            parent=str(data.get("parent", "")),
            instruction=str(data.get("instruction", "")),
            args=tuple((str(k), str(v)) for k, v in data.get("args", [])),
            sources=str(data.get("sources", "")),
            extra=tuple((str(k), str(v)) for k, v in data.get("extra", [])),
            display=str(data.get("display", "")),
            manifest=str(data.get("manifest", "")),
            scope=tuple((str(k), str(v)) for k, v in data.get("scope", [])),
        )


@dataclass(frozen=True)
class CacheEntry:
    key: str
    parent: str
    image_id: str
    inputs: CacheInputs
    origin: str
    created: float
    last_used: float


def _entry(row: object) -> CacheEntry:
    r = row  # sqlite3.Row
    return CacheEntry(
        key=r["key"],  # type: ignore[index]
        parent=r["parent"],  # type: ignore[index]
        image_id=r["image_id"],  # type: ignore[index]
        inputs=CacheInputs.from_json(r["inputs"]),  # type: ignore[index]
        origin=r["origin"],  # type: ignore[index]
        created=float(r["created"]),  # type: ignore[index]
        last_used=float(r["last_used"]),  # type: ignore[index]
    )


class BuildCache:
    """The cache entries of one state root (the ``build`` tables of its database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema("build", MIGRATIONS)

    def get(self, key: str) -> CacheEntry | None:
        row = self.db.query_one("SELECT * FROM build_cache WHERE key = ?", (key,))
        return _entry(row) if row else None

    def previous(self, origin: str) -> CacheEntry | None:
        """The most recently used entry recorded for the same Dockerfile step."""
        if not origin:
            return None
        row = self.db.query_one("SELECT * FROM build_cache WHERE origin = ? ORDER BY last_used DESC LIMIT 1", (origin,))
        return _entry(row) if row else None

    def latest_on(self, parent: str) -> CacheEntry | None:
        """The most recently used entry of any step run on ``parent``."""
        row = self.db.query_one("SELECT * FROM build_cache WHERE parent = ? ORDER BY last_used DESC LIMIT 1", (parent,))
        return _entry(row) if row else None

    def record(
        self,
        inputs: CacheInputs,
        image_id: str,
        origin: str,
        manifest: Sequence[SourceFile] | None = None,
    ) -> CacheEntry:
        now = time.time()
        key = inputs.key
        with self.db.transaction() as conn:
            if manifest is not None and inputs.manifest:
                data = zlib.compress(
                    json.dumps([f.to_list() for f in manifest], separators=(",", ":"), ensure_ascii=False).encode(
                        "utf-8", "surrogateescape"
                    ),
                    6,
                )
                conn.execute(
                    "INSERT OR IGNORE INTO build_manifests(digest, data, created) VALUES (?, ?, ?)",
                    (inputs.manifest, data, now),
                )
            conn.execute(
                """INSERT INTO build_cache(key, parent, image_id, inputs, created, last_used, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET image_id = excluded.image_id, inputs = excluded.inputs,
                       last_used = excluded.last_used, origin = excluded.origin""",
                (key, inputs.parent, image_id, inputs.to_json(), now, now, origin),
            )
        return CacheEntry(key, inputs.parent, image_id, inputs, origin, now, now)

    def touch(self, keys: Iterable[str], origins: dict[str, str] | None = None) -> None:
        """Mark entries as used now (one transaction for a whole build); ``origins`` re-labels them."""
        keys = list(keys)
        if not keys:
            return
        now = time.time()
        with self.db.transaction() as conn:
            for key in keys:
                origin = (origins or {}).get(key)
                if origin:
                    conn.execute("UPDATE build_cache SET last_used = ?, origin = ? WHERE key = ?", (now, origin, key))
                else:
                    conn.execute("UPDATE build_cache SET last_used = ? WHERE key = ?", (now, key))

    def manifest(self, digest: str) -> tuple[SourceFile, ...] | None:
        if not digest:
            return None
        row = self.db.query_one("SELECT data FROM build_manifests WHERE digest = ?", (digest,))
        if row is None:
            return None
        items = json.loads(zlib.decompress(row["data"]).decode("utf-8", "surrogateescape"))
        return tuple(SourceFile.from_list(i) for i in items)

    def entries(self) -> list[CacheEntry]:
        return [_entry(r) for r in self.db.query("SELECT * FROM build_cache ORDER BY last_used DESC")]

    def delete(self, keys: Iterable[str]) -> int:
        """Drop entries (and the file lists no entry refers to any more); return how many entries went."""
        keys = list(keys)
        removed = 0
        with self.db.transaction() as conn:
            for key in keys:
                removed += conn.execute("DELETE FROM build_cache WHERE key = ?", (key,)).rowcount
            used = {
                CacheInputs.from_json(r["inputs"]).manifest
                for r in conn.execute("SELECT inputs FROM build_cache").fetchall()
            }
            for r in conn.execute("SELECT digest FROM build_manifests").fetchall():
                if r["digest"] not in used:
                    conn.execute("DELETE FROM build_manifests WHERE digest = ?", (r["digest"],))
        return removed

    def images(self) -> set[str]:
        """The image IDs cache entries point at."""
        return {r["image_id"] for r in self.db.query("SELECT DISTINCT image_id FROM build_cache")}
