"""The store's side of a build record: what the build relied on in the store (:func:`store_facts`, after the
build) and whether it still holds (:func:`check_store`, before serving one).

The facts are every image name the build resolved (``FROM``, ``COPY --from``) with the image ID, the schema
versions of the build and store tables, and — from the build's trace — every cache hit (key, image ID, origin)
and the result image and its tags. The check reads the database through ``_sqlite3`` alone (the ``sqlite3``
package adds its datetime adapters, ~3 ms).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from dockyard.build.options import BuildResult

__all__ = ["REFRESH_AFTER", "check_store", "store_facts"]

REFRESH_AFTER = 600.0  # seconds: cache entries used longer ago get their last_used refreshed by the builder

# the schema versions of the tables a build reads (images and tags, the build cache): another component's first
# migration (``containers``, ``network``...) changes nothing a build depends on
_SCHEMA_SQL = (
    "SELECT component, max(version) FROM schema_migrations WHERE component IN ('build', 'store') GROUP BY component"
)


def _connect(db: str) -> Any:
    try:
        from _sqlite3 import connect  # sqlite3's own C module: the package adds datetime adapters (~3 ms)
    except ImportError:  # pragma: no cover
        from sqlite3 import connect
    return connect(db, timeout=120.0, isolation_level=None)


def check_store(state_root: str, rec: Mapping[str, Any], now: float) -> str:
    """Why the store no longer matches the record ("" when it does)."""
    db = os.path.join(state_root, "dockyard.db")
    if not os.path.isfile(db):
        return "no database"
    conn = _connect(db)
    try:
        conn.execute("BEGIN")
        schema = sorted((str(c), int(v)) for c, v in conn.execute(_SCHEMA_SQL))
        if schema != [tuple(s) for s in rec["schema"]]:
            return "schema changed"
        for name, image_id in rec["images"]:
            row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] != image_id:
                return f"{name} changed"
        for key, image_id, origin in rec["hits"]:
            row = conn.execute("SELECT image_id, origin, last_used FROM build_cache WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] != image_id or row[1] != origin:
                return "build cache changed"
            if now - float(row[2]) > REFRESH_AFTER:
                return "build cache entries to mark as used"
        ids = sorted({rec["image_id"], *(i for _, i in rec["images"]), *(h[1] for h in rec["hits"])})
        marks = ",".join("?" * len(ids))
        found = conn.execute(f"SELECT count(*) FROM images WHERE id IN ({marks})", ids).fetchone()[0]
        if found != len(ids):
            return "an image is gone"
        for image_id in ids:
            algorithm, _, hexpart = image_id.partition(":")
            if not os.path.isfile(os.path.join(state_root, "blobs", algorithm, hexpart)):
                return "an image config is gone"
        tags = [r[0] for r in conn.execute("SELECT name FROM image_tags WHERE image_id = ? ORDER BY created",
                                           (rec["image_id"],))]  # fmt: skip
        wanted = list(rec["tags"])
        if wanted and tags[-len(wanted) :] != wanted:
            return "tags to move"
        conn.execute("COMMIT")
        return ""
    finally:
        conn.close()


def store_facts(state_root: str, result: BuildResult) -> dict[str, Any] | None:
    """The store's side of a record: the names as stored, schema versions; None when a name cannot be checked."""
    from dockyard.errors import DockyardError
    from dockyard.oci.reference import parse_reference

    assert result.trace is not None
    images = []
    for name, image_id in result.trace.images:
        value = name.strip()
        if value.startswith("sha256:") or (len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
            return None
        try:
            ref = parse_reference(value)
        except DockyardError:
            return None
        if ref.digest is not None:
            return None
        images.append([str(ref.with_default_tag()), image_id])
    conn = _connect(os.path.join(state_root, "dockyard.db"))
    try:
        conn.execute("BEGIN")
        schema = sorted([str(c), int(v)] for c, v in conn.execute(_SCHEMA_SQL))
        for name, image_id in images:  # the engine resolved it by this name, not by an ID prefix
            row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] != image_id:
                return None
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {"images": images, "schema": schema}
