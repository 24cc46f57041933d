"""SQLite metadata: one database file per state root, shared by every dockyard process.

Crash safety: WAL journal, ``synchronous=FULL``, and every change in an explicit ``BEGIN IMMEDIATE``
transaction (so writers queue on the database lock instead of failing half-way). Readers never block.

Schema: each component owns its tables and an ordered list of migrations, applied once and recorded in
``schema_migrations(component, version)``. A migration is a SQL script; it runs in the same transaction
that records it, so a killed process never leaves a half-migrated schema. Components and their tables:

* ``store``      layers, images, image_blobs, image_tags, image_digests, snapshots, leases, lease_resources
                 (see schema.py)
* ``containers`` containers, execs (engine/containers/schema.py)
* ``volumes``    volumes, volume_users, volume_mounts (engine/volumes)
* ``network``    networks, endpoints, ports, sandboxes (network/state.py)
* ``build``      the build cache (build/)
* ``distribution`` blob_sources: where blobs were seen, for cross-repository mounts (registry/sources.py)
* ``events``     events: Docker's event log, for ``events`` and ``GET /events`` (engine/events.py)
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import FailedPrecondition, Unavailable

__all__ = ["Database", "close_all", "open_database"]

log = logging.getLogger(__name__)

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version   INTEGER NOT NULL,
    applied   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (component, version)
);
"""


_open: weakref.WeakSet[Database] = weakref.WeakSet()  # this process's open connections, for close_all()


def close_all() -> None:
    """Close every connection this process opened (the last one to close checkpoints the WAL into the database
    file and removes it, as closing them at interpreter exit would): for a process about to ``os._exit``."""
    while _open:
        with contextlib.suppress(sqlite3.Error):
            _open.pop().close()


class Database:
    """A connection to the metadata database, safe to share between threads of one process."""

    def __init__(self, path: Path, *, timeout: float = 120.0) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise FailedPrecondition(f"open database {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._schemas: set[str] = set()
        conn = self._conn
        conn.row_factory = sqlite3.Row
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        _open.add(self)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def close(self) -> None:
        _open.discard(self)
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception). Not re-entrant."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _translate(exc) from exc
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._conn.execute("ROLLBACK")
                raise _translate(exc) from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise _translate(exc) from exc

    def query_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def ensure_schema(self, component: str, migrations: Sequence[str]) -> None:
        """Apply ``migrations[n:]`` for ``component`` where ``n`` versions are already recorded."""
        if component in self._schemas:
            return
        with self._lock:
            done = self._applied(component)
            if done < len(migrations):
                with self.transaction() as conn:
                    done = self._applied(component)  # another process may have migrated meanwhile
                    for version in range(done, len(migrations)):
                        log.debug("migrating %s to version %d", component, version + 1)
                        for statement in _split_sql(migrations[version]):
                            conn.execute(statement)
                        conn.execute(
                            "INSERT INTO schema_migrations(component, version) VALUES (?, ?)",
                            (component, version + 1),
                        )
            elif done > len(migrations):
                raise FailedPrecondition(
                    f"database {self.path}: {component} schema version {done} is newer than this dockyard "
                    f"knows ({len(migrations)})",
                    hint="upgrade dockyard, or use another --root",
                )
            self._schemas.add(component)

    def _applied(self, component: str) -> int:
        try:
            row = self._conn.execute(
                "SELECT max(version) FROM schema_migrations WHERE component = ?", (component,)
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise _translate(exc) from exc
            with self.transaction() as conn:
                conn.execute(_BOOTSTRAP)
            return 0
        return int(row[0] or 0)


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


def _translate(exc: sqlite3.OperationalError) -> Exception:
    text = str(exc)
    if "disk is full" in text or "disk I/O error" in text:
        return Unavailable(f"database: {text}", hint="free some disk space and retry")
    if "locked" in text or "busy" in text:
        return Unavailable(f"database: {text}", hint="another dockyard process holds the lock for too long")
    return exc


def open_database(path: Path) -> Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Database(path)
