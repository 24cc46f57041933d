"""VolumeService: ``volume create/ls/inspect/rm/prune`` and the container service's hooks.

The container service calls, per volume mount of a container:

* at ``create``: :meth:`VolumeService.use` (``-v name:/path``; the volume is created on first use) or
  :meth:`VolumeService.create` with no name then ``use(name, cid, anonymous=True)`` (``-v /path`` and the
  image's VOLUME paths) — recorded in the database, so ``volume rm`` refuses while the container exists;
* at ``start``: :meth:`VolumeService.mount_source` with the container's mounted root filesystem: it mounts the
  driver's device if the volume has one, copies the image's content at that path into the volume if the
  volume is empty (Docker's "populated on first use"; ``copy=False`` is ``nocopy``), and returns the host
  directory to bind-mount into the container;
* at ``stop`` (and when reconciling a container found dead): :meth:`VolumeService.unmount`;
* at ``rm`` (``rm -v``): :meth:`VolumeService.release` (``remove_anonymous=True`` removes the anonymous ones).

Do not call these inside a transaction of your own on ``engine.store.db``: they open theirs.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.volumes.driver import (
    check_driver,
    mount_volume,
    needs_mount,
    unmount_volume,
    validate_options,
)
from dockyard.engine.volumes.fsops import disk_error, fsync_dir, locked, remove_tree, syncfs, trash_pid
from dockyard.engine.volumes.populate import copy_tree, dir_size, is_empty, resolve_in_root
from dockyard.engine.volumes.schema import MIGRATIONS, READY, REMOVING
from dockyard.engine.volumes.types import (
    ANONYMOUS_LABEL,
    DEFAULT_DRIVER,
    LIST_FILTERS,
    PRUNE_FILTERS,
    DeleteReport,
    PruneReport,
    Volume,
    VolumeFilters,
    validate_name,
    volume_json,
)
from dockyard.errors import Conflict, DockyardError, FailedPrecondition, NotFound
from dockyard.pids import pid_alive

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.store.db import Database

__all__ = ["VolumeService"]

log = logging.getLogger(__name__)

DATA = "_data"
_MARKER = "populating"  # in <root>/volumes/<name>/ while a copy from an image is under way


def _loads(text: str | None) -> dict[str, str] | None:
    return None if text is None else {str(k): str(v) for k, v in json.loads(text).items()}


def _dumps(value: Mapping[str, str] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), sort_keys=True)


def _is_leftover(path: Path) -> bool:
    """Nothing but an empty ``_data``: all a volume directory holds before its row is committed."""
    entries = os.listdir(path)
    if not entries:
        return True
    data = path / DATA
    return entries == [DATA] and data.is_dir() and not data.is_symlink() and not os.listdir(data)


def _docker_opts(path: Path) -> dict[str, str] | None:
    """The local driver's options from a Docker volume's ``opts.json`` (``MountType``, ``MountOpts``, ...)."""
    try:
        saved = json.loads((path / "opts.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict):
        return None
    keys = {"MountType": "type", "MountDevice": "device", "MountOpts": "o"}
    options = {ours: str(saved[theirs]) for theirs, ours in keys.items() if saved.get(theirs)}
    return options or None


class VolumeService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.root = engine.settings.layout.volumes

    @cached_property
    def db(self) -> Database:
        db = self._engine.store.db
        db.ensure_schema("volumes", MIGRATIONS)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o701)
        self._recover(db)
        return db

    # -- paths and rows ----------------------------------------------------------------------------------

    def data_path(self, name: str) -> Path:
        return self.root / name / DATA

    def _volume(self, row: sqlite3.Row) -> Volume:
        return Volume(
            name=row["name"],
            driver=row["driver"],
            mountpoint=self.data_path(row["name"]),
            created=float(row["created"]),
            labels=_loads(row["labels"]),
            options=_loads(row["options"]),
        )

    def _referenced(self) -> set[str]:
        return {r[0] for r in self.db.query("SELECT DISTINCT volume FROM volume_users")}

    # -- verbs -------------------------------------------------------------------------------------------

    def create(
        self,
        name: str | None = None,
        driver: str = DEFAULT_DRIVER,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume:
        """Create a volume (Docker: an existing one of that name is returned as it is). Without a name it gets
        a random 64-hex one and the anonymous label, like ``docker run -v /path``."""
        labels = dict(labels) if labels is not None else None
        options = dict(options) if options is not None else None
        if not name:
            name = os.urandom(32).hex()  # stringid.GenerateRandomID
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        driver = driver or DEFAULT_DRIVER
        validate_name(name)
        check_driver(name, driver)
        validate_options(name, options)
        trash: list[Path] = []
        try:
            with self.db.transaction() as conn:
                row = conn.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
                if row is not None and row["state"] == READY:
                    return self._volume(row)
                if row is not None:
                    trash += self._finish_removal_locked(conn, name)
                vdir = self.root / name
                if vdir.exists() or vdir.is_symlink():
                    adopted = self._stray_locked(conn, name, trash)
                    if adopted is not None:
                        return adopted
                created = time.time()
                try:
                    os.mkdir(vdir)
                    os.chmod(vdir, 0o701)
                    os.mkdir(vdir / DATA)
                    os.chmod(vdir / DATA, 0o755)
                    fsync_dir(vdir)
                    fsync_dir(self.root)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        trash.append(self._to_trash(vdir))
                    raise disk_error(exc, f"create {name}") from exc
                conn.execute(
                    "INSERT INTO volumes(name, driver, created, labels, options, state) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, driver, created, _dumps(labels), _dumps(options), READY),
                )
        finally:
            for path in trash:
                remove_tree(path)
        log.debug("created volume %s", name)
        self._event("create", name, driver)
        return Volume(name, driver, self.data_path(name), created, labels, options)

    def _event(self, action: str, name: str, driver: str) -> None:
        from dockyard.engine.events import record as record_event

        record_event(self.db, "volume", action, name, {"driver": driver})

    def list(self, filters: VolumeFilters | None = None) -> builtins.list[Volume]:
        """Volumes matching ``filters`` (``dangling``, ``driver``, ``label``, ``name``), sorted by name."""
        filters = filters or VolumeFilters()
        filters.validate(LIST_FILTERS)
        filters.dangling()  # refuse a bad value even when there are no volumes
        rows = self.db.query("SELECT * FROM volumes WHERE state = ? ORDER BY name", (READY,))
        used = self._referenced()
        volumes = (self._volume(r) for r in rows)
        return [v for v in volumes if filters.match(v, v.name in used)]

    def get(self, name: str) -> Volume:
        row = self.db.query_one("SELECT * FROM volumes WHERE name = ? AND state = ?", (name, READY))
        if row is None:
            raise NotFound(f"get {name}: no such volume")
        return self._volume(row)

    def inspect(self, name: str) -> dict[str, object]:
        """Docker's volume JSON (``GET /volumes/{name}``, ``volume inspect``)."""
        return volume_json(self.get(name))

    def users(self, name: str) -> builtins.list[str]:
        """IDs of the containers using the volume, in the order they started using it."""
        rows = self.db.query("SELECT container_id FROM volume_users WHERE volume = ? ORDER BY rowid", (name,))
        return [r[0] for r in rows]

    def delete(self, names: Sequence[str], force: bool = False) -> builtins.list[DeleteReport]:
        """Remove volumes no container uses; ``force`` makes a missing one no error (as ``docker volume rm -f``)."""
        reports = []
        for name in names:
            try:
                self._delete_one(name, force)
                reports.append(DeleteReport(name))
            except DockyardError as exc:
                reports.append(DeleteReport(name, exc))
        return reports

    def prune(self, filters: VolumeFilters | None = None, all: bool = False) -> PruneReport:
        """Remove unused local volumes without driver options: only anonymous ones unless ``all`` (or the
        ``all=true`` filter), as Docker 23+ does. ``label``/``label!`` filters narrow the choice."""
        filters = filters or VolumeFilters()
        filters.validate(PRUNE_FILTERS)
        everything = all or filters.prune_all()
        used = self._referenced()
        deleted: builtins.list[str] = []
        reclaimed = 0
        for vol in self.list():
            if vol.driver != DEFAULT_DRIVER or vol.name in used or vol.options:
                continue
            if not everything and not vol.anonymous:
                continue
            if not filters.match(vol, False):
                continue
            size = dir_size(vol.mountpoint)
            try:
                self._delete_one(vol.name, force=False)
            except DockyardError as exc:
                log.warning("prune: cannot remove volume %s: %s", vol.name, exc.message)
                continue
            deleted.append(vol.name)
            reclaimed += size
        from dockyard.engine.events import record as record_event

        record_event(self.db, "volume", "prune", "", {"reclaimed": str(reclaimed)})
        return PruneReport(tuple(deleted), reclaimed)

    # -- the container service's hooks ---------------------------------------------------------------------

    def use(
        self,
        name: str,
        container_id: str,
        anonymous: bool = False,
        *,
        driver: str = DEFAULT_DRIVER,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume:
        """Record that ``container_id`` uses the volume (creating it on first use with ``driver``/``labels``/
        ``options``). ``anonymous`` marks a volume the container made, which ``release(..., True)`` removes."""
        for _ in range(5):
            vol = self.create(name, driver, labels, options)
            with self.db.transaction() as conn:
                row = conn.execute("SELECT state FROM volumes WHERE name = ?", (vol.name,)).fetchone()
                if row is None or row["state"] != READY:
                    continue  # removed between the two transactions: create it again
                conn.execute(
                    "INSERT OR IGNORE INTO volume_users(volume, container_id, anonymous) VALUES (?, ?, ?)",
                    (vol.name, container_id, int(anonymous)),
                )
            return vol
        raise Conflict(f"create {name}: the volume keeps being removed while it is created")

    def mount_source(
        self,
        name: str,
        image_rootfs: Path | str | None,
        container_path: str,
        container_id: str,
        *,
        copy: bool = True,
        driver: str = DEFAULT_DRIVER,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Path:
        """The host directory to bind-mount at ``container_path`` when ``container_id`` starts.

        Creates the volume on first use and records the use; mounts the driver's device (tmpfs, bind) unless it
        is mounted already; then, when the volume is empty and ``image_rootfs`` (the container's root filesystem,
        mounted) has a directory at ``container_path``, copies it in with owners, modes, xattrs and links.
        """
        vol = self.use(name, container_id, driver=driver, labels=labels, options=options)
        data = vol.mountpoint
        if needs_mount(vol.options):
            from dockyard.store.mounts import is_mountpoint

            assert vol.options is not None
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO volume_mounts(volume, container_id) VALUES (?, ?)", (vol.name, container_id)
                )
                if not is_mountpoint(data):
                    mount_volume(vol.options, data)
        if copy and image_rootfs is not None:
            self._populate(vol, Path(image_rootfs), container_path)
        return data

    def unmount(self, container_id: str) -> None:
        """The container stopped: drop its driver mounts; a volume's device is unmounted with its last holder."""
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT volume FROM volume_mounts WHERE container_id = ?", (container_id,)).fetchall()
            conn.execute("DELETE FROM volume_mounts WHERE container_id = ?", (container_id,))
            for (name,) in rows:
                if conn.execute("SELECT 1 FROM volume_mounts WHERE volume = ? LIMIT 1", (name,)).fetchone() is None:
                    unmount_volume(self.data_path(name))
                    log.debug("unmounted volume %s", name)

    def release(self, container_id: str, remove_anonymous: bool = False) -> builtins.list[str]:
        """The container is removed: forget its uses (and mounts). With ``remove_anonymous`` (``rm -v``) also
        remove the anonymous volumes it made, unless another container uses them. Returns the removed names."""
        self.unmount(container_id)
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT volume, anonymous FROM volume_users WHERE container_id = ?", (container_id,)
            ).fetchall()
            conn.execute("DELETE FROM volume_users WHERE container_id = ?", (container_id,))
        removed = []
        if remove_anonymous:
            for name, anonymous in rows:
                if not anonymous:
                    continue
                try:
                    self._delete_one(name, force=True)
                    removed.append(name)
                except Conflict:
                    continue  # another container uses it: not an error (Docker says the same)
                except DockyardError as exc:
                    log.warning("remove volume %s: %s", name, exc.message)
        return removed

    # -- removal -----------------------------------------------------------------------------------------

    def _delete_one(self, name: str, force: bool) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state, driver FROM volumes WHERE name = ?", (name,)).fetchone()
            if row is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            if row["state"] == READY:
                users = [
                    r[0]
                    for r in conn.execute(
                        "SELECT container_id FROM volume_users WHERE volume = ? ORDER BY rowid", (name,)
                    )
                ]
                if users:
                    raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
                conn.execute("UPDATE volumes SET state = ? WHERE name = ?", (REMOVING, name))
        # Committed: the volume is gone for everybody; a crash from here on is finished by the next command.
        trash: builtins.list[Path] = []
        try:
            with self.db.transaction() as conn:
                trash = self._finish_removal_locked(conn, name)
        finally:
            for path in trash:
                remove_tree(path)
        log.debug("removed volume %s", name)
        self._event("destroy", name, str(row["driver"]))

    def _finish_removal_locked(self, conn: sqlite3.Connection, name: str) -> builtins.list[Path]:
        """Under the database lock, for a row in state 'removing': unmount, move the directory aside, delete the
        row. Returns the directories to delete once the lock is released."""
        row = conn.execute("SELECT state FROM volumes WHERE name = ?", (name,)).fetchone()
        if row is None or row["state"] != REMOVING:
            return []
        vdir = self.root / name
        trash = []
        if vdir.exists() or vdir.is_symlink():
            self._unmount_under(vdir)
            trash.append(self._to_trash(vdir))
        conn.execute("DELETE FROM volumes WHERE name = ?", (name,))
        return trash

    def _unmount_under(self, path: Path) -> None:
        """Detach every mount below ``path`` and make sure none is left: removing the tree must never reach
        into a bind-mounted host directory."""
        from dockyard.store.mounts import mounts_under

        for point in mounts_under(path):
            unmount_volume(Path(point))
        left = mounts_under(path)
        if left:
            raise FailedPrecondition(f"remove {path.name}: cannot unmount {left[0]}")

    def _to_trash(self, path: Path) -> Path:
        trash = self.root / f".trash-{os.getpid()}-{os.urandom(4).hex()}-{path.name}"
        os.rename(path, trash)
        return trash

    # -- populate ----------------------------------------------------------------------------------------

    def _populate(self, vol: Volume, image_rootfs: Path, container_path: str) -> None:
        source = resolve_in_root(image_rootfs, container_path)
        if not source.is_dir() or source.is_symlink():
            return
        vdir = self.root / vol.name
        marker = vdir / _MARKER
        with locked(vdir):
            redo = marker.exists()
            if not redo and not is_empty(vol.mountpoint):
                return
            marker.touch()
            fsync_dir(vdir)
            log.debug("copying %s of the image into volume %s%s", container_path, vol.name, " (again)" if redo else "")
            try:
                copy_tree(source, vol.mountpoint)
                syncfs(vol.mountpoint)
            except OSError as exc:
                raise disk_error(exc, f"copy {container_path} of the image into volume {vol.name}") from exc
            marker.unlink()
            fsync_dir(vdir)

    # -- recovery ----------------------------------------------------------------------------------------

    def _recover(self, db: Database) -> None:
        """Finish what killed processes left: removals half-done, directories of creates never committed,
        directories moved aside but not deleted; adopt volume directories with data but no row. Two reads
        when there is nothing to do."""
        rows = db.query("SELECT name, state FROM volumes")
        known = {r["name"] for r in rows}
        removing = [r["name"] for r in rows if r["state"] == REMOVING]
        try:
            entries = os.listdir(self.root)
        except FileNotFoundError:
            return
        orphans = [e for e in entries if not e.startswith(".") and e not in known]
        stale = [e for e in entries if e.startswith(".trash-") and not pid_alive(trash_pid(e))]
        if not (removing or orphans or stale):
            return
        trash: list[Path] = [self.root / e for e in stale]
        with db.transaction() as conn:
            for name in removing:
                trash += self._finish_removal_locked(conn, name)
            known = {r[0] for r in conn.execute("SELECT name FROM volumes")}
            for name in orphans:
                path = self.root / name
                if name not in known and path.is_dir() and not path.is_symlink():
                    self._stray_locked(conn, name, trash)
        for path in trash:
            remove_tree(path)

    def _stray_locked(self, conn: sqlite3.Connection, name: str, trash: builtins.list[Path]) -> Volume | None:
        """A directory ``<root>/volumes/<name>`` without a row, under the database lock. An empty one is what a
        killed ``create`` left: moved to ``trash``. One with data (a lost database, a restored backup) is adopted
        as a volume, with the options of a Docker ``opts.json`` if it has one, as dockerd adopts what it finds."""
        path = self.root / name
        if not path.is_dir() or path.is_symlink():
            raise FailedPrecondition(f"create {name}: {path} exists and is not a volume directory")
        data = path / DATA
        from dockyard.store.mounts import is_mountpoint

        if is_mountpoint(data) or not _is_leftover(path):
            try:
                validate_name(name)
            except DockyardError:
                log.warning("leaving %s alone: not a volume name", path)
                return None
            options = _docker_opts(path)
            created = os.stat(path).st_ctime
            data.mkdir(mode=0o755, exist_ok=True)
            conn.execute(
                "INSERT INTO volumes(name, driver, created, labels, options, state) VALUES (?, ?, ?, ?, ?, ?)",
                (name, DEFAULT_DRIVER, created, None, _dumps(options), READY),
            )
            log.info("adopted %s as volume %s", path, name)
            return Volume(name, DEFAULT_DRIVER, data, created, None, options)
        log.info("removing %s: left by a killed volume create", path)
        trash.append(self._to_trash(path))
        return None
