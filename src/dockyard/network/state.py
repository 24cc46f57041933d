"""The network component's tables in dockyard's SQLite database, and typed access to them.

``networks``   one row per network (the default ``bridge`` included; ``host``/``none`` are synthesized)
``endpoints``  one row per container interface: address, MAC, veth name, aliases
``ports``      published ports, keyed by (protocol, host_ip, host_port)
``sandboxes``  network namespaces dockyard created (``<root>/run/netns/<container id>``)

Every row has a ``state``: ``creating`` rows are written *before* the kernel objects they describe exist and
become ``active`` once they do; ``removing`` is written before teardown. All changes happen under the root's
network lock, so any non-active row found by the next holder of the lock was left by a killed process and is
cleaned up (:meth:`NetworkManager.reconcile`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from dockyard.network.types import Driver, Endpoint, IPAMConfig, Network, PortMapping, Protocol
from dockyard.store.db import Database

__all__ = ["MIGRATIONS", "NetworkState"]

MIGRATIONS: list[str] = [
    # 1: networks, endpoints, published ports, namespaces
    """
    CREATE TABLE networks (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        driver      TEXT NOT NULL,
        bridge      TEXT NOT NULL,
        subnet      TEXT NOT NULL,
        gateway     TEXT NOT NULL,
        ip_range    TEXT NOT NULL DEFAULT '',
        internal    INTEGER NOT NULL DEFAULT 0,
        attachable  INTEGER NOT NULL DEFAULT 0,
        ipv6        INTEGER NOT NULL DEFAULT 0,
        dns         INTEGER NOT NULL DEFAULT 0,
        is_default  INTEGER NOT NULL DEFAULT 0,
        labels      TEXT NOT NULL DEFAULT '{}',
        options     TEXT NOT NULL DEFAULT '{}',
        ipam_options TEXT NOT NULL DEFAULT '{}',
        created     TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'active'
    );
    CREATE TABLE endpoints (
        id            TEXT PRIMARY KEY,
        network_id    TEXT NOT NULL REFERENCES networks(id),
        container_id  TEXT NOT NULL,
        container_name TEXT NOT NULL DEFAULT '',
        interface     TEXT NOT NULL,
        host_interface TEXT NOT NULL UNIQUE,
        ip            TEXT NOT NULL,
        mac           TEXT NOT NULL,
        aliases       TEXT NOT NULL DEFAULT '[]',
        created       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        state         TEXT NOT NULL DEFAULT 'creating',
        UNIQUE (network_id, ip),
        UNIQUE (network_id, container_id)
    );
    CREATE INDEX endpoints_container ON endpoints(container_id);
    CREATE TABLE ports (
        protocol       TEXT NOT NULL,
        host_ip        TEXT NOT NULL,
        host_port      INTEGER NOT NULL,
        container_id   TEXT NOT NULL,
        endpoint_id    TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
        container_port INTEGER NOT NULL,
        PRIMARY KEY (protocol, host_ip, host_port)
    );
    CREATE INDEX ports_container ON ports(container_id);
    CREATE TABLE sandboxes (
        container_id TEXT PRIMARY KEY,
        path         TEXT NOT NULL,
        state        TEXT NOT NULL DEFAULT 'creating'
    )
    """,
]

_ENDPOINT_SELECT = """
    SELECT e.*, n.name AS network_name, n.subnet, n.gateway
    FROM endpoints e JOIN networks n ON n.id = e.network_id
"""


def _network(row: sqlite3.Row) -> Network:
    return Network(
        id=row["id"],
        name=row["name"],
        driver=Driver(row["driver"]),
        created=row["created"],
        bridge=row["bridge"],
        ipam=(IPAMConfig(row["subnet"], row["gateway"], row["ip_range"]),),
        internal=bool(row["internal"]),
        attachable=bool(row["attachable"]),
        ipv6=bool(row["ipv6"]),
        dns_enabled=bool(row["dns"]),
        default=bool(row["is_default"]),
        labels=json.loads(row["labels"]),
        options=json.loads(row["options"]),
        ipam_options=json.loads(row["ipam_options"]),
    )


def _endpoint(row: sqlite3.Row) -> Endpoint:
    aliases = tuple(json.loads(row["aliases"]))
    names = (row["container_name"], *aliases, row["container_id"][:12]) if row["container_name"] else aliases
    return Endpoint(
        id=row["id"],
        network_id=row["network_id"],
        network_name=row["network_name"],
        container_id=row["container_id"],
        interface=row["interface"],
        host_interface=row["host_interface"],
        ip=row["ip"],
        prefix_len=int(row["subnet"].rsplit("/", 1)[1]),
        gateway=row["gateway"],
        mac=row["mac"],
        aliases=aliases,
        dns_names=tuple(dict.fromkeys(n for n in names if n)),
    )


class NetworkState:
    """Typed queries over the network tables. Writes go through :meth:`Database.transaction`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema("network", MIGRATIONS)

    # -- networks ------------------------------------------------------------------------------------------

    def networks(self, *, include_inactive: bool = False) -> list[Network]:
        where = "" if include_inactive else "WHERE state = 'active'"
        return [_network(r) for r in self.db.query(f"SELECT * FROM networks {where} ORDER BY created, name")]

    def network_rows_not_active(self) -> list[Network]:
        return [_network(r) for r in self.db.query("SELECT * FROM networks WHERE state != 'active'")]

    def network(self, name_or_id: str) -> Network | None:
        row = self.db.query_one(
            "SELECT * FROM networks WHERE (name = ? OR id = ?) AND state = 'active'", (name_or_id,) * 2
        )
        if row is None and len(name_or_id) >= 1:
            rows = self.db.query(
                "SELECT * FROM networks WHERE id LIKE ? AND state = 'active'", (name_or_id.replace("%", "") + "%",)
            )
            row = rows[0] if len(rows) == 1 else None
        return _network(row) if row else None

    def insert_network(self, conn: sqlite3.Connection, net: Network, state: str) -> None:
        cfg = net.ipam[0]
        conn.execute(
            "INSERT INTO networks (id, name, driver, bridge, subnet, gateway, ip_range, internal, attachable, ipv6,"
            " dns, is_default, labels, options, ipam_options, created, state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                net.id,
                net.name,
                str(net.driver),
                net.bridge,
                cfg.subnet,
                cfg.gateway,
                cfg.ip_range,
                int(net.internal),
                int(net.attachable),
                int(net.ipv6),
                int(net.dns_enabled),
                int(net.default),
                json.dumps(dict(net.labels), sort_keys=True),
                json.dumps(dict(net.options), sort_keys=True),
                json.dumps(dict(net.ipam_options), sort_keys=True),
                net.created,
                state,
            ),
        )

    # -- endpoints -----------------------------------------------------------------------------------------

    def endpoints(self, *, container_id: str | None = None, network_id: str | None = None) -> list[Endpoint]:
        clauses, params = ["e.state = 'active'"], []
        if container_id is not None:
            clauses.append("e.container_id = ?")
            params.append(container_id)
        if network_id is not None:
            clauses.append("e.network_id = ?")
            params.append(network_id)
        sql = f"{_ENDPOINT_SELECT} WHERE {' AND '.join(clauses)} ORDER BY e.interface"
        return [_endpoint(r) for r in self.db.query(sql, params)]

    def endpoints_not_active(self) -> list[Endpoint]:
        return [_endpoint(r) for r in self.db.query(f"{_ENDPOINT_SELECT} WHERE e.state != 'active'")]

    def endpoint_count(self, network_id: str) -> int:
        row = self.db.query_one("SELECT count(*) FROM endpoints WHERE network_id = ?", (network_id,))
        return int(row[0]) if row else 0

    def used_addresses(self, network_id: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT ip FROM endpoints WHERE network_id = ?", (network_id,))]

    def interfaces(self, container_id: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT interface FROM endpoints WHERE container_id = ?", (container_id,))]

    def dns_entries_rows(self, network_id: str) -> list[sqlite3.Row]:
        return self.db.query(
            "SELECT container_id, container_name, ip, aliases FROM endpoints WHERE network_id = ? AND state = 'active'"
            " ORDER BY created",
            (network_id,),
        )

    @staticmethod
    def insert_endpoint(conn: sqlite3.Connection, ep: Endpoint, container_name: str) -> None:
        conn.execute(
            "INSERT INTO endpoints (id, network_id, container_id, container_name, interface, host_interface, ip, mac,"
            " aliases, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'creating')",
            (
                ep.id,
                ep.network_id,
                ep.container_id,
                container_name,
                ep.interface,
                ep.host_interface,
                ep.ip,
                ep.mac,
                json.dumps(list(ep.aliases)),
            ),
        )

    # -- ports ---------------------------------------------------------------------------------------------

    def ports(self, *, container_id: str | None = None, keys: Sequence[tuple[str, int]] = ()) -> list[PortMapping]:
        sql = "SELECT p.*, e.ip AS container_ip FROM ports p JOIN endpoints e ON e.id = p.endpoint_id"
        params: list[object] = []
        if container_id is not None:
            sql += " WHERE p.container_id = ?"
            params.append(container_id)
        rows = self.db.query(sql + " ORDER BY p.container_port, p.protocol", params)
        wanted = {(str(p), n) for p, n in keys}
        return [
            PortMapping(r["container_port"], Protocol(r["protocol"]), r["host_ip"], r["host_port"], r["container_ip"])
            for r in rows
            if not wanted or (r["protocol"], r["host_port"]) in wanted
        ]

    def port_owner(self, protocol: str, host_ip: str, host_port: int) -> str | None:
        """The container holding ``host_ip:host_port`` (a wildcard binding conflicts with every address)."""
        if host_ip in ("", "0.0.0.0"):
            row = self.db.query_one(
                "SELECT container_id FROM ports WHERE protocol = ? AND host_port = ?", (protocol, host_port)
            )
        else:
            row = self.db.query_one(
                "SELECT container_id FROM ports WHERE protocol = ? AND host_port = ? AND host_ip IN (?, '0.0.0.0')",
                (protocol, host_port, host_ip),
            )
        return row[0] if row else None

    # -- sandboxes -----------------------------------------------------------------------------------------

    def sandbox(self, container_id: str) -> str | None:
        row = self.db.query_one("SELECT path FROM sandboxes WHERE container_id = ?", (container_id,))
        return row[0] if row else None

    def sandboxes_not_active(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.db.query("SELECT container_id, path FROM sandboxes WHERE state != 'active'")]
