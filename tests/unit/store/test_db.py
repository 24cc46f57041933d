"""The metadata database: migrations applied in order, once, atomically; every store migration tested."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.errors import FailedPrecondition
from dockyard.store.db import Database
from dockyard.store.schema import MIGRATIONS


def test_pragmas_and_migration_bookkeeping(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.query_one("PRAGMA journal_mode")[0] == "wal"
    assert db.query_one("PRAGMA synchronous")[0] == 2  # FULL
    db.ensure_schema("t", ["CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1)"])
    db2 = Database(tmp_path / "x.db")
    db2.ensure_schema("t", ["CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1)", "ALTER TABLE a ADD COLUMN y"])
    assert [tuple(r) for r in db2.query("SELECT * FROM a")] == [(1, None)]
    assert db2.query_one("SELECT max(version) FROM schema_migrations WHERE component='t'")[0] == 2


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    with pytest.raises(sqlite3.OperationalError):
        db.ensure_schema("t", ["CREATE TABLE a (x);\nTHIS IS NOT SQL"])
    assert db.query("SELECT name FROM sqlite_master WHERE name = 'a'") == []
    assert db.query("SELECT * FROM schema_migrations") == []


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Database(tmp_path / "x.db").ensure_schema("t", ["CREATE TABLE a (x)", "CREATE TABLE b (x)"])
    with pytest.raises(FailedPrecondition, match="newer than this dockyard knows"):
        Database(tmp_path / "x.db").ensure_schema("t", ["CREATE TABLE a (x)"])


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS) + 1))
def test_store_migration(tmp_path: Path, version: int) -> None:
    """Each store migration applies on top of the previous ones and leaves a consistent schema."""
    db = Database(tmp_path / "x.db")
    db.ensure_schema("store", MIGRATIONS[:version])
    assert db.query_one("PRAGMA integrity_check")[0] == "ok"
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type='table'")}
    if version >= 1:
        assert {"layers", "images", "image_tags", "image_digests", "image_blobs", "snapshots", "leases"} <= tables


def test_foreign_keys_protect_layers_in_use(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    db.ensure_schema("store", MIGRATIONS)
    with db.transaction() as c:
        c.execute("INSERT INTO layers VALUES ('sha256:a', NULL, 'sha256:a', 'l1', 1, 0)")
        c.execute("INSERT INTO images VALUES ('sha256:i', 'sha256:m', 'x', 'sha256:a', 1, '', 0, NULL)")
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as c:
        c.execute("DELETE FROM layers WHERE chain_id = 'sha256:a'")
