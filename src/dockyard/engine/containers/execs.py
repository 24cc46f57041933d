"""Exec sessions in SQLite (table ``execs``): Docker's exec create/start/inspect are separate requests, so the
session outlives the process that created it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.engine.containers.codec import dumps, loads
from dockyard.engine.containers.verbs import ExecCreateOptions
from dockyard.store.db import Database

__all__ = ["ExecRecord", "ExecStore"]


@dataclass(frozen=True)
class ExecRecord:
    id: str
    container_id: str
    options: ExecCreateOptions
    created: float
    pid: int = 0
    monitor_pid: int = 0
    running: bool = False
    exit_code: int | None = None


class ExecStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert_exec(self, record: ExecRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO execs (id, container_id, options, created) VALUES (?, ?, ?, ?)",
                (record.id, record.container_id, dumps(record.options), record.created),
            )

    def get_exec(self, exec_id: str) -> ExecRecord | None:
        row = self.db.query_one("SELECT * FROM execs WHERE id = ?", (exec_id,))
        if row is None:
            return None
        return ExecRecord(
            id=row["id"],
            container_id=row["container_id"],
            options=loads(ExecCreateOptions, row["options"]),
            created=float(row["created"]),
            pid=int(row["pid"]),
            monitor_pid=int(row["monitor_pid"]),
            running=bool(row["running"]),
            exit_code=None if row["exit_code"] is None else int(row["exit_code"]),
        )

    def exec_ids(self, container_id: str) -> list[str]:
        rows = self.db.query("SELECT id FROM execs WHERE container_id = ? ORDER BY created", (container_id,))
        return [str(r[0]) for r in rows]

    def update_exec(self, exec_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        params = [int(v) if isinstance(v, bool) else v for v in values.values()]
        with self.db.transaction() as conn:
            conn.execute(f"UPDATE execs SET {sets} WHERE id = ?", [*params, exec_id])

    def delete_execs(self, container_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM execs WHERE container_id = ?", (container_id,))
