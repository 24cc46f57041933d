"""The ``volumes`` component's tables, as ordered migrations (``db.ensure_schema("volumes", MIGRATIONS)``).

::

    volumes        name (PK), driver, created (epoch seconds), labels/options (JSON object or NULL),
                   state: 'ready' | 'removing' (a removal that a killed process may have left half-done)
    volume_users   (volume, container_id): the containers that use a volume (created or running); a volume
                   with users cannot be removed. anonymous = 1 when the container made it (``-v /path``, VOLUME)
                   and ``rm -v`` removes it with the container.
    volume_mounts  (volume, container_id): running containers holding a driver mount (tmpfs, bind) of the
                   volume; the mount goes when the last row for the volume does.

A volume's directory ``<root>/volumes/<name>`` is created in the same transaction that inserts its row (the
database lock held), so an empty directory without a row is what a killed ``create`` left behind (removed by
the next command); one with data in it (a lost database, a restored backup) is adopted as a volume.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "READY", "REMOVING"]

READY = "ready"
REMOVING = "removing"

MIGRATIONS: list[str] = [
    # 1: records and the containers that use them
    """
    CREATE TABLE volumes (
        name     TEXT PRIMARY KEY,
        driver   TEXT NOT NULL,
        created  REAL NOT NULL,
        labels   TEXT,
        options  TEXT,
        state    TEXT NOT NULL DEFAULT 'ready'
    );
    CREATE TABLE volume_users (
        volume        TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
        container_id  TEXT NOT NULL,
        anonymous     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (volume, container_id)
    );
    CREATE INDEX volume_users_by_container ON volume_users(container_id);
    """,
    # 2: driver mounts (type=tmpfs / o=bind) held by running containers
    """
    CREATE TABLE volume_mounts (
        volume        TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
        container_id  TEXT NOT NULL,
        PRIMARY KEY (volume, container_id)
    );
    CREATE INDEX volume_mounts_by_container ON volume_mounts(container_id);
    """,
]
