"""The volumes component's migrations (one test each) and the local driver's option rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.engine.volumes.driver import (
    MS_BIND,
    MS_NOEXEC,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    check_driver,
    mount_flags,
    needs_mount,
    validate_options,
)
from dockyard.engine.volumes.schema import MIGRATIONS
from dockyard.errors import InvalidArgument, NotFound
from dockyard.store.db import Database


def _columns(db: Database, table: str) -> set[str]:
    return {r[1] for r in db.query(f"PRAGMA table_info({table})")}


def _version(db: Database) -> int:
    row = db.query_one("SELECT max(version) FROM schema_migrations WHERE component = 'volumes'")
    assert row is not None
    return int(row[0])


def test_migration_1_creates_volumes_and_users(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.db")
    db.ensure_schema("volumes", MIGRATIONS[:1])
    assert _version(db) == 1
    assert {"name", "driver", "created", "labels", "options", "state"} <= _columns(db, "volumes")
    assert {"volume", "container_id", "anonymous"} <= _columns(db, "volume_users")
    with db.transaction() as conn:
        conn.execute("INSERT INTO volumes(name, driver, created) VALUES ('v1', 'local', 1.0)")
        conn.execute("INSERT INTO volume_users(volume, container_id) VALUES ('v1', 'c1')")
    assert db.query_one("SELECT state FROM volumes")[0] == "ready"  # type: ignore[index]
    # a use must name a volume that exists, and goes with it
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute("INSERT INTO volume_users(volume, container_id) VALUES ('nope', 'c1')")
    with db.transaction() as conn:
        conn.execute("DELETE FROM volumes WHERE name = 'v1'")
    assert db.query("SELECT * FROM volume_users") == []


def test_migration_2_adds_driver_mounts_keeping_data(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.db")
    db.ensure_schema("volumes", MIGRATIONS[:1])
    with db.transaction() as conn:
        conn.execute("INSERT INTO volumes(name, driver, created, options) VALUES ('t1', 'local', 1.0, '{}')")
        conn.execute("INSERT INTO volume_users(volume, container_id, anonymous) VALUES ('t1', 'c1', 1)")
    db2 = Database(tmp_path / "d.db")  # a newer dockyard opening the same database
    db2.ensure_schema("volumes", MIGRATIONS)
    assert _version(db2) == 2 == len(MIGRATIONS)
    assert {"volume", "container_id"} <= _columns(db2, "volume_mounts")
    assert [tuple(r) for r in db2.query("SELECT volume, container_id, anonymous FROM volume_users")] == [
        ("t1", "c1", 1)
    ]
    with db2.transaction() as conn:
        conn.execute("INSERT INTO volume_mounts(volume, container_id) VALUES ('t1', 'c1')")
        conn.execute("DELETE FROM volumes WHERE name = 't1'")
    assert db2.query("SELECT * FROM volume_mounts") == []


def test_only_the_local_driver_exists() -> None:
    check_driver("v1", "local")
    with pytest.raises(NotFound) as err:
        check_driver("v1", "nfs-plugin")
    assert err.value.message == 'create v1: error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found'


def test_local_driver_options() -> None:
    validate_options("v1", None)
    validate_options("v1", {})
    validate_options("v1", {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    validate_options("v1", {"type": "none", "device": "/srv", "o": "bind"})
    validate_options("v1", {"type": "tmpfs", "device": "tmpfs", "size": "0"})
    with pytest.raises(InvalidArgument, match=r'^create v1: invalid option: "foo"$'):
        validate_options("v1", {"foo": "bar"})
    with pytest.raises(InvalidArgument, match=r'^create v1: missing required option: "device"$'):
        validate_options("v1", {"type": "tmpfs"})
    with pytest.raises(InvalidArgument, match=r'^create v1: missing required option: "type"$'):
        validate_options("v1", {"device": "/srv"})
    with pytest.raises(InvalidArgument, match=r'missing required option: "(device|type)"'):
        validate_options("v1", {"o": "bind"})
    with pytest.raises(InvalidArgument, match="quota size requested but no quota support"):
        validate_options("v1", {"type": "tmpfs", "device": "tmpfs", "size": "10m"})
    with pytest.raises(InvalidArgument, match="invalid size: 'lots'"):
        validate_options("v1", {"size": "lots"})


def test_needs_mount() -> None:
    assert not needs_mount(None) and not needs_mount({})
    assert needs_mount({"type": "tmpfs", "device": "tmpfs"}) and needs_mount({"device": "/x", "type": "none"})


def test_mount_flags_split_like_moby() -> None:
    assert mount_flags("bind") == (MS_BIND, "")
    assert mount_flags("bind,ro") == (MS_BIND | MS_RDONLY, "")
    assert mount_flags("rbind,rprivate") == (MS_BIND | MS_REC | MS_PRIVATE | MS_REC, "")
    assert mount_flags("size=64m,uid=1000,noexec") == (MS_NOEXEC, "size=64m,uid=1000")
    assert mount_flags("ro,rw") == (0, "")
    assert mount_flags("defaults") == (0, "defaults")  # flag 0: moby passes it as data
    assert mount_flags("") == (0, "")
