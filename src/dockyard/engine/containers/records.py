"""Container records in SQLite: :class:`ContainerRecord` (one row, typed) and :class:`ContainerStore` (queries
and state transitions, each in one ``BEGIN IMMEDIATE`` transaction).

Reading is all ``ps`` does, so this module imports nothing heavier than sqlite3 and the codec.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.engine.containers.codec import dumps, loads
from dockyard.engine.containers.schema import MIGRATIONS
from dockyard.engine.containers.types import ContainerMount, ContainerStatus, NetworkRef, RunConfig
from dockyard.errors import Conflict, NotFound
from dockyard.store.db import Database

if TYPE_CHECKING:
    from dockyard.engine.containers.options import CreateOptions
    from dockyard.engine.containers.rows import ContainerRow

__all__ = ["ContainerRecord", "ContainerStore", "PublishedPort", "conflict_message"]


@dataclass(frozen=True)
class PublishedPort:
    """A published port of a running container (a copy of the network package's mapping, for ps/inspect)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerRecord:
    """One container as the database holds it: identity, options, config and the state of its run."""

    id: str
    name: str
    image_id: str
    image_ref: str
    created: float
    options_data: str  # CreateOptions as JSON: decoded on first use (listing rarely needs it)
    config: RunConfig
    status: ContainerStatus
    pid: int = 0
    monitor_pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    oom_killed: bool = False
    restart_count: int = 0
    manually_stopped: bool = False
    run_token: str = ""
    boot_id: str = ""
    owner_pid: int = 0
    restart_delay: float = 0.0
    ports: tuple[PublishedPort, ...] = field(default=())
    mounts: tuple[ContainerMount, ...] = field(default=())
    networks: tuple[NetworkRef, ...] = field(default=())

    @cached_property
    def options(self) -> CreateOptions:
        from dockyard.engine.containers.options import CreateOptions

        return loads(CreateOptions, self.options_data)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        """Docker's ``State.Running``: true while running, paused or restarting."""
        return self.status.active


def conflict_message(name: str, holder: str) -> str:
    return (
        f'Conflict. The container name "/{name}" is already in use by container "{holder}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


_COLUMNS = (
    "id, name, image_id, image_ref, created, options, config, status, pid, monitor_pid, exit_code, error, "
    "started_at, finished_at, oom_killed, restart_count, manually_stopped, run_token, boot_id, owner_pid, "
    "restart_delay, ports, mounts, networks"
)


def _record(row: sqlite3.Row) -> ContainerRecord:
    return ContainerRecord(
        id=row["id"],
        name=row["name"],
        image_id=row["image_id"],
        image_ref=row["image_ref"],
        created=float(row["created"]),
        options_data=row["options"],
        config=loads(RunConfig, row["config"]),
        status=ContainerStatus(row["status"]),
        pid=int(row["pid"]),
        monitor_pid=int(row["monitor_pid"]),
        exit_code=int(row["exit_code"]),
        error=row["error"],
        started_at=float(row["started_at"]),
        finished_at=float(row["finished_at"]),
        oom_killed=bool(row["oom_killed"]),
        restart_count=int(row["restart_count"]),
        manually_stopped=bool(row["manually_stopped"]),
        run_token=row["run_token"],
        boot_id=row["boot_id"],
        owner_pid=int(row["owner_pid"]),
        restart_delay=float(row["restart_delay"]),
        ports=loads(tuple[PublishedPort, ...], row["ports"]),
        mounts=loads(tuple[ContainerMount, ...], row["mounts"]),
        networks=loads(tuple[NetworkRef, ...], row["networks"]),
    )


class ContainerStore:
    """The ``containers`` table of one state root (``execs`` is ``execs.ExecStore``'s)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema("containers", MIGRATIONS)

    @classmethod
    def open(cls, path: Path) -> ContainerStore:
        from dockyard.store.db import open_database

        return cls(open_database(path))

    # -- reading -----------------------------------------------------------------------------------------------

    def get(self, container_id: str) -> ContainerRecord | None:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM containers WHERE id = ?", (container_id,))
        return _record(row) if row else None

    def all(self, *, include_creating: bool = False) -> list[ContainerRecord]:
        """Every container, newest first (``creating`` ones only on request)."""
        where = "" if include_creating else "WHERE status != 'creating'"
        rows = self.db.query(f"SELECT {_COLUMNS} FROM containers {where} ORDER BY created DESC, rowid DESC")
        return [_record(r) for r in rows]

    def unsettled(self) -> list[ContainerRecord]:
        """Rows a reconcile must look at: anything active or in the middle of a transition."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM containers WHERE status IN "
            "('creating', 'running', 'paused', 'restarting', 'removing') OR owner_pid != 0"
        )
        return [_record(r) for r in rows]

    def unsettled_rows(self) -> list[ContainerRow]:
        """:meth:`unsettled` as light rows (no JSON decoded): what the liveness checks read, cheap enough for every
        command to look at every running container."""
        from dockyard.engine.containers.rows import ContainerRow

        rows = self.db.query(
            "SELECT id, status, owner_pid, monitor_pid, boot_id FROM containers WHERE status IN "
            "('creating', 'running', 'paused', 'restarting', 'removing') OR owner_pid != 0"
        )
        return [
            ContainerRow(id=r[0], name="", image_id="", image_ref="", created=0.0, status=r[1], owner_pid=int(r[2]),
                         monitor_pid=int(r[3]), boot_id=r[4])
            for r in rows
        ]  # fmt: skip

    def resolve(self, name_or_id: str) -> ContainerRecord:
        """Docker's lookup order: full ID, exact name (with or without ``/``), then a unique ID prefix."""
        value = name_or_id.strip()
        if not value:
            raise NotFound("No such container: ")
        name = value[1:] if value.startswith("/") else value
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM containers WHERE (id = ? OR name = ?) AND status != 'creating' "
            "ORDER BY id = ? DESC LIMIT 1",
            (value, name, value),
        )
        if row is not None:
            return _record(row)
        if all(c in "0123456789abcdef" for c in value):
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM containers WHERE id LIKE ? AND status != 'creating' LIMIT 2", (value + "%",)
            )
            if len(rows) == 1:
                return _record(rows[0])
            if len(rows) > 1:
                raise NotFound(f"No such container: {name_or_id}", hint="the ID prefix is ambiguous; give more digits")
        raise NotFound(f"No such container: {name_or_id}")

    def name_holder(self, name: str) -> str | None:
        row = self.db.query_one("SELECT id FROM containers WHERE name = ?", (name,))
        return str(row[0]) if row else None

    def names(self) -> set[str]:
        return {str(r[0]) for r in self.db.query("SELECT name FROM containers")}

    def using_image(self, image_id: str) -> list[tuple[str, bool]]:
        rows = self.db.query("SELECT id, status FROM containers WHERE image_id = ?", (image_id,))
        return [(str(r[0]), ContainerStatus(r[1]).active) for r in rows]

    def counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in self.db.query("SELECT status, count(*) FROM containers GROUP BY status")}

    # -- writing -----------------------------------------------------------------------------------------------

    def insert(self, record: ContainerRecord) -> None:
        """Add a container; a taken name is Docker's conflict error."""
        with self.db.transaction() as conn:
            holder = conn.execute("SELECT id FROM containers WHERE name = ?", (record.name,)).fetchone()
            if holder is not None:
                raise Conflict(conflict_message(record.name, holder[0]))
            conn.execute(
                f"INSERT INTO containers ({_COLUMNS}) VALUES ({','.join('?' * 24)})",
                (
                    record.id, record.name, record.image_id, record.image_ref, record.created,
                    record.options_data, dumps(record.config), str(record.status), record.pid, record.monitor_pid,
                    record.exit_code, record.error, record.started_at, record.finished_at, int(record.oom_killed),
                    record.restart_count, int(record.manually_stopped), record.run_token, record.boot_id,
                    record.owner_pid, record.restart_delay, dumps(record.ports), dumps(record.mounts),
                    dumps(record.networks),
                ),
            )  # fmt: skip

    def update(self, container_id: str, *, expect: Sequence[ContainerStatus] | None = None, **values: Any) -> bool:
        """Set columns of one row (only if its status is one of ``expect``); True if a row changed."""
        sets = []
        params: list[object] = []
        for key, value in values.items():
            if key in ("ports", "mounts", "networks"):
                value = dumps(value)
            elif key in ("status",):
                value = str(value)
            elif isinstance(value, bool):
                value = int(value)
            sets.append(f"{key} = ?")
            params.append(value)
        sql = f"UPDATE containers SET {', '.join(sets)} WHERE id = ?"
        params.append(container_id)
        if expect:
            sql += f" AND status IN ({','.join('?' * len(expect))})"
            params += [str(s) for s in expect]
        with self.db.transaction() as conn:
            return conn.execute(sql, params).rowcount > 0

    def claim(self, container_id: str, token: str, owner: int, previous_owner: int) -> bool:
        """Make ``owner`` the process carrying out a pending restart (only if nobody took it meanwhile)."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE containers SET owner_pid = ? WHERE id = ? AND status = 'restarting' AND run_token = ? "
                "AND owner_pid = ?",
                (owner, container_id, token, previous_owner),
            )
            return cur.rowcount > 0

    def rename(self, container_id: str, new_name: str) -> None:
        with self.db.transaction() as conn:
            holder = conn.execute("SELECT id FROM containers WHERE name = ?", (new_name,)).fetchone()
            if holder is not None and holder[0] != container_id:
                raise Conflict(conflict_message(new_name, holder[0]))
            conn.execute("UPDATE containers SET name = ? WHERE id = ?", (new_name, container_id))

    def delete(self, container_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM containers WHERE id = ?", (container_id,))

    @staticmethod
    def now() -> float:
        return time.time()
