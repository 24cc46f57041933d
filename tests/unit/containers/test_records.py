"""The container tables: each migration, lookups in Docker's order, the name conflict, state updates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.engine.containers.codec import dumps
from dockyard.engine.containers.execs import ExecRecord, ExecStore
from dockyard.engine.containers.options import CreateOptions
from dockyard.engine.containers.records import ContainerRecord, ContainerStore, PublishedPort
from dockyard.engine.containers.schema import MIGRATIONS
from dockyard.engine.containers.types import ContainerStatus, RunConfig
from dockyard.engine.containers.verbs import ExecCreateOptions
from dockyard.errors import Conflict, NotFound
from dockyard.store.db import open_database


def _record(cid: str, name: str, **kw: object) -> ContainerRecord:
    values: dict[str, object] = {
        "id": cid,
        "name": name,
        "image_id": "sha256:" + "e" * 64,
        "image_ref": "busybox",
        "created": 1000.0,
        "options_data": dumps(CreateOptions(image="busybox")),
        "config": RunConfig("busybox", cid[:12], "", "", (), ("sh",), None, ""),
        "status": ContainerStatus.CREATED,
    }
    values.update(kw)
    return ContainerRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    return ContainerStore(open_database(tmp_path / "db"))


def test_migration_1_creates_the_containers_table(tmp_path: Path) -> None:
    db = open_database(tmp_path / "db")
    db.ensure_schema("containers", MIGRATIONS[:1])
    columns = {r[1] for r in db.query("PRAGMA table_info(containers)")}
    assert {"id", "name", "status", "run_token", "owner_pid", "ports", "mounts"} <= columns
    assert db.query("SELECT name FROM sqlite_master WHERE name = 'execs'") == []
    db.connection.execute("INSERT INTO containers (id, name, image_id, image_ref, created, options, config, status) "
                          "VALUES ('a', 'n', 'i', 'r', 1, '{}', '{}', 'created')")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):  # names are unique
        db.connection.execute("INSERT INTO containers (id, name, image_id, image_ref, created, options, config, "
                              "status) VALUES ('b', 'n', 'i', 'r', 1, '{}', '{}', 'created')")  # fmt: skip


def test_migration_2_adds_execs_over_existing_data(tmp_path: Path) -> None:
    db = open_database(tmp_path / "db")
    db.ensure_schema("containers", MIGRATIONS[:1])
    db.connection.execute("INSERT INTO containers (id, name, image_id, image_ref, created, options, config, status) "
                          "VALUES ('a', 'n', 'i', 'r', 1, '{}', '{}', 'created')")  # fmt: skip
    db2 = open_database(tmp_path / "db")
    db2.ensure_schema("containers", MIGRATIONS[:2])
    versions = [r[0] for r in db2.query("SELECT version FROM schema_migrations WHERE component = 'containers'")]
    assert versions == [1, 2]
    db2.connection.execute("INSERT INTO execs (id, container_id, options, created) VALUES ('e', 'a', '{}', 1)")
    db2.connection.execute("DELETE FROM containers WHERE id = 'a'")
    assert db2.query("SELECT count(*) FROM execs")[0][0] == 0  # cascades with the container


def test_migration_3_adds_connected_networks_to_existing_rows(tmp_path: Path) -> None:
    db = open_database(tmp_path / "db")
    db.ensure_schema("containers", MIGRATIONS[:2])
    config = dumps(RunConfig("busybox", "h", "", "", (), ("sh",), None, ""))
    db.connection.execute("INSERT INTO containers (id, name, image_id, image_ref, created, options, config, status) "
                          "VALUES ('a', 'n', 'i', 'r', 1, '{}', ?, 'created')", (config,))  # fmt: skip
    store = ContainerStore(open_database(tmp_path / "db"))
    assert store.db.query("SELECT networks FROM containers WHERE id = 'a'")[0][0] == "[]"
    assert [r[0] for r in store.db.query("SELECT version FROM schema_migrations")][-1] == 3
    assert store.get("a").networks == ()  # type: ignore[union-attr]


def test_connected_networks(store: ContainerStore) -> None:
    from dockyard.engine.containers.types import NetworkRef

    store.insert(_record("7" * 64, "net"))
    store.update("7" * 64, networks=(NetworkRef("n1", ("db",), "10.1.0.5"),))
    assert store.get("7" * 64).networks == (NetworkRef("n1", ("db",), "10.1.0.5"),)  # type: ignore[union-attr]


def test_insert_get_and_resolve(store: ContainerStore) -> None:
    a = _record("abc" + "1" * 61, "first")
    b = _record("abd" + "2" * 61, "second", created=2000.0)
    store.insert(a)
    store.insert(b)
    assert store.get(a.id) == a
    assert store.resolve("first").id == a.id
    assert store.resolve("/second").id == b.id
    assert store.resolve(a.id).id == a.id
    assert store.resolve("abc").id == a.id
    with pytest.raises(NotFound, match=r"^No such container: ab$"):
        store.resolve("ab")  # ambiguous prefix
    with pytest.raises(NotFound, match=r"^No such container: nope$"):
        store.resolve("nope")
    assert [r.name for r in store.all()] == ["second", "first"]
    assert store.get(a.id).options == CreateOptions(image="busybox")  # type: ignore[union-attr]


def test_a_name_equal_to_an_id_prefix_wins(store: ContainerStore) -> None:
    store.insert(_record("cafe" + "0" * 60, "other"))
    store.insert(_record("beef" + "0" * 60, "cafe"))
    assert store.resolve("cafe").name == "cafe"


def test_name_conflict_in_dockers_words(store: ContainerStore) -> None:
    a = _record("a" * 64, "web")
    store.insert(a)
    with pytest.raises(Conflict) as err:
        store.insert(_record("b" * 64, "web"))
    assert err.value.message == (
        f'Conflict. The container name "/web" is already in use by container "{a.id}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )
    store.insert(_record("c" * 64, "db"))
    with pytest.raises(Conflict, match='"/web" is already in use'):
        store.rename("c" * 64, "web")
    store.rename("c" * 64, "cache")
    assert store.get("c" * 64).name == "cache"  # type: ignore[union-attr]


def test_creating_rows_are_hidden(store: ContainerStore) -> None:
    store.insert(_record("d" * 64, "half", status=ContainerStatus.CREATING))
    assert store.all() == []
    with pytest.raises(NotFound):
        store.resolve("half")
    assert [r.id for r in store.unsettled()] == ["d" * 64]


def test_update_with_expected_states(store: ContainerStore) -> None:
    store.insert(_record("e" * 64, "x"))
    ports = (PublishedPort(80, "tcp", "0.0.0.0", 4000),)
    assert store.update("e" * 64, status=ContainerStatus.RUNNING, pid=42, ports=ports, manually_stopped=True)
    rec = store.get("e" * 64)
    assert rec is not None and rec.status is ContainerStatus.RUNNING and rec.pid == 42 and rec.ports == ports
    assert rec.manually_stopped is True and rec.running
    assert not store.update("e" * 64, expect=[ContainerStatus.EXITED], pid=0)
    assert store.get("e" * 64).pid == 42  # type: ignore[union-attr]
    assert store.using_image("sha256:" + "e" * 64) == [("e" * 64, True)]
    assert store.counts() == {"running": 1}


def test_claim_a_pending_restart_once(store: ContainerStore) -> None:
    store.insert(_record("f" * 64, "r", status=ContainerStatus.RESTARTING, run_token="t1"))
    assert store.claim("f" * 64, "t1", 100, 0)
    assert not store.claim("f" * 64, "t1", 200, 0)  # taken by 100 meanwhile
    assert not store.claim("f" * 64, "t2", 200, 100)  # another run


def test_exec_rows(store: ContainerStore) -> None:
    store.insert(_record("9" * 64, "c"))
    execs = ExecStore(store.db)
    execs.insert_exec(ExecRecord("x1", "9" * 64, ExecCreateOptions(cmd=("ls",)), 5.0))
    execs.update_exec("x1", pid=7, running=True)
    ex = execs.get_exec("x1")
    assert ex is not None and ex.pid == 7 and ex.running and ex.exit_code is None and ex.options.cmd == ("ls",)
    execs.update_exec("x1", running=False, exit_code=3)
    assert execs.get_exec("x1").exit_code == 3  # type: ignore[union-attr]
    assert execs.exec_ids("9" * 64) == ["x1"]
