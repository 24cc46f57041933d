"""Leases: a running operation's claim on resources it is creating, so garbage collection leaves them alone.

A pull holds a lease while blobs and layers are written and before the image record that will reference
them exists. Leases belong to a process (``pid``); a lease whose process has died is stale and is dropped
by the next garbage collection, which then frees whatever only it was holding (a killed import or pull).
"""

from __future__ import annotations

import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
import time
from types import TracebackType

from dockyard.store.db import Database

__all__ = ["Lease", "LeaseKind"]


class LeaseKind:
    BLOB = "blob"
    LAYER = "layer"
    SNAPSHOT = "snapshot"


class Lease:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.id = os.urandom(8).hex()
        with db.transaction() as conn:
            conn.execute("INSERT INTO leases(id, pid, created) VALUES (?, ?, ?)", (self.id, os.getpid(), time.time()))

    def add(self, kind: str, key: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO lease_resources(lease_id, kind, key) VALUES (?, ?, ?)", (self.id, kind, key)
            )

    def release(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE id = ?", (self.id,))

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
