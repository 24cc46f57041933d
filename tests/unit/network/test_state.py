"""The network component's schema migrations (one test per migration) and typed queries."""

from __future__ import annotations

from pathlib import Path

from dockyard.network import Driver, IPAMConfig, Network
from dockyard.network.state import MIGRATIONS, NetworkState
from dockyard.store.db import Database


def _columns(db: Database, table: str) -> set[str]:
    return {r[1] for r in db.query(f"PRAGMA table_info({table})")}


def test_migration_1_creates_network_tables(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.db")
    db.ensure_schema("network", MIGRATIONS[:1])
    assert {"id", "name", "bridge", "subnet", "gateway", "state", "dns"} <= _columns(db, "networks")
    assert {"id", "network_id", "container_id", "ip", "mac", "host_interface", "state"} <= _columns(db, "endpoints")
    assert {"protocol", "host_ip", "host_port", "endpoint_id"} <= _columns(db, "ports")
    assert {"container_id", "path", "state"} <= _columns(db, "sandboxes")
    row = db.query_one("SELECT max(version) FROM schema_migrations WHERE component = 'network'")
    assert row is not None and row[0] == 1


def test_state_round_trip(tmp_path: Path) -> None:
    state = NetworkState(Database(tmp_path / "d.db"))
    net = Network(
        id="ab" * 32,
        name="n1",
        driver=Driver.BRIDGE,
        created="2026-01-01T00:00:00Z",
        bridge="dy-abababababab",
        ipam=(IPAMConfig("10.78.0.0/24", "10.78.0.1"),),
        dns_enabled=True,
        labels={"a": "b"},
    )
    with state.db.transaction() as conn:
        state.insert_network(conn, net, "active")
    assert state.network("n1") == net
    assert state.network("abab") == net  # unique ID prefix
    assert state.network("nope") is None
    with state.db.transaction() as conn:
        state.insert_network(
            conn,
            Network("cd" * 32, "n2", Driver.BRIDGE, "x", "b2", (IPAMConfig("10.78.1.0/24", "10.78.1.1"),)),
            "creating",
        )
    assert [n.name for n in state.networks()] == ["n1"]
    assert [n.name for n in state.network_rows_not_active()] == ["n2"]
