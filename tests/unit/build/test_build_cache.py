"""The build cache: keys from explicit inputs, its SQLite schema (one test per migration), storing and
explaining."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.build.cache import MIGRATIONS, BuildCache, CacheInputs, SourceFile
from dockyard.store.db import open_database


def inputs(**kw: object) -> CacheInputs:
    base: dict[str, object] = {"parent": "sha256:" + "a" * 64, "instruction": "/bin/sh -c echo hi"}
    base.update(kw)
    return CacheInputs(**base)  # type: ignore[arg-type]


# -- keys -------------------------------------------------------------------------------------------------------
def test_key_is_stable_and_explicit() -> None:
    k = inputs().key
    assert k.startswith("sha256:") and len(k) == 71
    assert inputs().key == k
    for change in (
        {"parent": "sha256:" + "b" * 64},
        {"instruction": "/bin/sh -c echo ho"},
        {"args": (("A", "1"),)},
        {"sources": "sha256:" + "c" * 64},
        {"extra": (("config", "x"),)},
    ):
        assert inputs(**change).key != k, change


def test_display_and_manifest_are_not_part_of_the_key() -> None:
    assert inputs(display="RUN echo hi").key == inputs(display="RUN  echo   hi").key
    assert inputs(manifest="sha256:x").key == inputs().key


def test_inputs_json_round_trip() -> None:
    i = inputs(args=(("A", "1"), ("B", "")), sources="s", extra=(("k", "v"),), display="d", manifest="m")
    back = CacheInputs.from_json(i.to_json())
    assert back == i and back.display == "d" and back.manifest == "m"


# -- migrations -------------------------------------------------------------------------------------------------
def _apply(db_path: Path, count: int) -> sqlite3.Connection:
    db = open_database(db_path)
    db.ensure_schema("build", MIGRATIONS[:count])
    db.close()
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    return conn


def test_migration_1_creates_the_cache_table(tmp_path: Path) -> None:
    conn = _apply(tmp_path / "db", 1)
    cols = [r["name"] for r in conn.execute("PRAGMA table_info(build_cache)")]
    assert cols == ["key", "parent", "image_id", "inputs", "created", "last_used"]
    indexes = {r["name"] for r in conn.execute("PRAGMA index_list(build_cache)")}
    assert {"build_cache_parent", "build_cache_image"} <= indexes
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations WHERE component = 'build'")]
    assert versions == [1]


def test_migration_2_adds_origin_and_manifests_keeping_entries(tmp_path: Path) -> None:
    conn = _apply(tmp_path / "db", 1)
    conn.execute(
        "INSERT INTO build_cache VALUES (?, ?, ?, ?, ?, ?)", ("k", "p", "sha256:" + "1" * 64, inputs().to_json(), 1, 2)
    )
    conn.commit()
    conn.close()
    conn = _apply(tmp_path / "db", 2)
    row = conn.execute("SELECT * FROM build_cache").fetchone()
    assert row["key"] == "k" and row["origin"] == "" and row["last_used"] == 2
    assert [r["name"] for r in conn.execute("PRAGMA table_info(build_manifests)")] == ["digest", "data", "created"]
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations WHERE component = 'build'")]
    assert versions == [1, 2]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    from dockyard.errors import FailedPrecondition

    db = open_database(tmp_path / "db")
    db.ensure_schema("build", [*MIGRATIONS, "CREATE TABLE future (x INTEGER);\n"])
    db.close()
    with pytest.raises(FailedPrecondition, match="newer than this dockyard knows"):
        BuildCache(open_database(tmp_path / "db"))


# -- storage ----------------------------------------------------------------------------------------------------
@pytest.fixture
def cache(tmp_path: Path) -> BuildCache:
    return BuildCache(open_database(tmp_path / "db"))


def test_record_get_previous_touch(cache: BuildCache) -> None:
    first = cache.record(inputs(), "sha256:" + "1" * 64, "ctx\0Dockerfile\x000\x001")
    assert cache.get(first.key) is not None
    assert cache.get(first.key).image_id == "sha256:" + "1" * 64  # type: ignore[union-attr]
    second = cache.record(inputs(instruction="other"), "sha256:" + "2" * 64, "ctx\0Dockerfile\x000\x001")
    assert cache.previous("ctx\0Dockerfile\x000\x001").key == second.key  # type: ignore[union-attr]
    cache.touch([first.key])
    assert cache.previous("ctx\0Dockerfile\x000\x001").key == first.key  # type: ignore[union-attr]
    assert cache.previous("") is None
    assert cache.latest_on(inputs().parent).key == first.key  # type: ignore[union-attr]
    # a rebuild of the same key points it at the new image
    cache.record(inputs(), "sha256:" + "3" * 64, "elsewhere")
    entry = cache.get(first.key)
    assert entry is not None and entry.image_id == "sha256:" + "3" * 64 and entry.origin == "elsewhere"


def test_manifests_are_stored_once_and_dropped_with_their_last_entry(cache: BuildCache) -> None:
    files = (SourceFile("app.py", "file", 0o100644, 0, 0, "aa"), SourceFile("d", "dir", 0o40755, 0, 0))
    a = cache.record(inputs(sources="s1", manifest="s1"), "sha256:" + "1" * 64, "o", files)
    b = cache.record(inputs(instruction="x", sources="s1", manifest="s1"), "sha256:" + "2" * 64, "o", files)
    assert cache.manifest("s1") == files
    assert cache.delete([a.key]) == 1
    assert cache.manifest("s1") == files  # still used by b
    cache.delete([b.key])
    assert cache.manifest("s1") is None
    assert cache.entries() == []


def test_images_lists_what_entries_point_at(cache: BuildCache) -> None:
    cache.record(inputs(), "sha256:" + "1" * 64, "o")
    cache.record(inputs(instruction="y"), "sha256:" + "2" * 64, "o")
    assert cache.images() == {"sha256:" + "1" * 64, "sha256:" + "2" * 64}
