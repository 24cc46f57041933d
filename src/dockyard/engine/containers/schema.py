"""The container service's tables (component ``containers``), as ordered migrations. Never edit a shipped
migration: append a new one (and a test for it).

::

    containers   id PK (64 hex), name UNIQUE (without Docker's leading /), image_id (sha256:...), image_ref
                 created (epoch s), options (CreateOptions JSON), config (RunConfig JSON)
                 status     creating|created|running|paused|restarting|removing|exited|dead
                 pid, monitor_pid, exit_code, error, started_at, finished_at, oom_killed, restart_count,
                 manually_stopped (docker stop/kill: no policy restart), run_token (names one start: the
                 exit hook of an older run never touches a newer one), boot_id (kernel boot of that start),
                 owner_pid (the process in the middle of creating/starting/removing it, 0 when none),
                 restart_delay (Docker's backoff, seconds), ports (published while running, JSON),
                 mounts (ContainerMount list planned at create, JSON), networks (NetworkRef list
                 connected with ``network connect``, JSON)
    execs        id PK, container_id ► containers (cascade), options (ExecCreateOptions JSON), created,
                 pid, monitor_pid, running, exit_code (NULL until known)
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: list[str] = [
    # 1: containers
    """
    CREATE TABLE containers (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        image_id         TEXT NOT NULL,
        image_ref        TEXT NOT NULL,
        created          REAL NOT NULL,
        options          TEXT NOT NULL,
        config           TEXT NOT NULL,
        status           TEXT NOT NULL,
        pid              INTEGER NOT NULL DEFAULT 0,
        monitor_pid      INTEGER NOT NULL DEFAULT 0,
        exit_code        INTEGER NOT NULL DEFAULT 0,
        error            TEXT NOT NULL DEFAULT '',
        started_at       REAL NOT NULL DEFAULT 0,
        finished_at      REAL NOT NULL DEFAULT 0,
        oom_killed       INTEGER NOT NULL DEFAULT 0,
        restart_count    INTEGER NOT NULL DEFAULT 0,
        manually_stopped INTEGER NOT NULL DEFAULT 0,
        run_token        TEXT NOT NULL DEFAULT '',
        boot_id          TEXT NOT NULL DEFAULT '',
        owner_pid        INTEGER NOT NULL DEFAULT 0,
        restart_delay    REAL NOT NULL DEFAULT 0,
        ports            TEXT NOT NULL DEFAULT '[]',
        mounts           TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX containers_image ON containers(image_id);
    CREATE INDEX containers_status ON containers(status)
    """,
    # 2: exec sessions
    """
    CREATE TABLE execs (
        id           TEXT PRIMARY KEY,
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        options      TEXT NOT NULL,
        created      REAL NOT NULL,
        pid          INTEGER NOT NULL DEFAULT 0,
        monitor_pid  INTEGER NOT NULL DEFAULT 0,
        running      INTEGER NOT NULL DEFAULT 0,
        exit_code    INTEGER
    );
    CREATE INDEX execs_container ON execs(container_id)
    """,
    # 3: networks connected besides the primary one (network connect), re-attached at every start
    """
    ALTER TABLE containers ADD COLUMN networks TEXT NOT NULL DEFAULT '[]'
    """,
]
