"""The light side of ``ps``: containers as plain rows, and the display rules every listing shares.

``dockyard ps`` is mostly Python start-up, so the command line serves the common case without click and
without the record classes (``records.py`` and ``types.py`` pull in ``dataclasses``, ``typing`` and ``enum``,
~15 ms before any work): :func:`read_rows` reads the containers table with ``sqlite3`` directly and runs the
liveness checks of ``liveness.py`` on each row. It answers only when nothing needs the full engine — the
schema is current, the host has not rebooted since the root last looked, and no row needs a reconcile — and
returns ``None`` otherwise, so the caller goes the normal way (``ContainerService.list``), which reconciles.

The rules both ways use live here once: which rows ``ps`` shows (:func:`select`), the ``Status`` text, the
``Command`` text, the image a row is shown with. ``listing.py`` (the engine's ``list``) calls them with its
records; the fast path with :class:`ContainerRow`, a plain class on purpose (no dataclass: see above).
stdlib only: ``os``, ``json``, ``sqlite3``.
"""

from __future__ import annotations

import json
import os
import sqlite3

from dockyard.engine.containers.humanize import human_duration
from dockyard.engine.containers.liveness import boot_marker_current, needs_reconcile
from dockyard.engine.containers.schema import MIGRATIONS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, TypeVar

    from dockyard.engine.containers.records import ContainerRecord

    T = TypeVar("T")

__all__ = [
    "SHOWN_BY_DEFAULT",
    "ContainerRow",
    "PortRow",
    "command_text",
    "display_image",
    "image_names",
    "normalized_reference",
    "program_args",
    "read_rows",
    "select",
    "split_reference",
    "status_text",
]

SHOWN_BY_DEFAULT = ("running", "paused", "restarting")  # what ps lists without -a
ORDER = "ORDER BY created DESC, rowid DESC"  # newest first, ties in insertion order reversed


class PortRow:
    """A published port as ``records.PublishedPort`` has it (same attribute names)."""

    __slots__ = ("container_port", "host_ip", "host_port", "protocol")

    def __init__(self, container_port: int, protocol: str, host_ip: str, host_port: int) -> None:
        self.container_port = container_port
        self.protocol = protocol
        self.host_ip = host_ip
        self.host_port = host_port


class ContainerRow:
    """What ``ps`` shows of a container and what its liveness checks read (``ContainerRecord``'s names)."""

    __slots__ = ("args", "boot_id", "created", "exit_code", "exposed_ports", "finished_at", "id", "image_id",
                 "image_ref", "monitor_pid", "name", "owner_pid", "ports", "started_at", "status")  # fmt: skip

    def __init__(self, *, id: str, name: str, image_id: str, image_ref: str, created: float, status: str,
                 exit_code: int = 0, started_at: float = 0.0, finished_at: float = 0.0, monitor_pid: int = 0,
                 owner_pid: int = 0, boot_id: str = "", args: tuple[str, ...] = (),
                 exposed_ports: tuple[str, ...] = (), ports: tuple[PortRow, ...] = ()) -> None:  # fmt: skip
        self.id = id
        self.name = name
        self.image_id = image_id
        self.image_ref = image_ref
        self.created = created
        self.status = status
        self.exit_code = exit_code
        self.started_at = started_at
        self.finished_at = finished_at
        self.monitor_pid = monitor_pid
        self.owner_pid = owner_pid
        self.boot_id = boot_id
        self.args = args
        self.exposed_ports = exposed_ports
        self.ports = ports

    @classmethod
    def of(cls, record: ContainerRecord) -> ContainerRow:
        """The row of a record (the normal listing formats its summaries through rows too)."""
        ports = tuple(PortRow(p.container_port, p.protocol, p.host_ip, p.host_port) for p in record.ports)
        return cls(id=record.id, name=record.name, image_id=record.image_id, image_ref=record.image_ref,
                   created=record.created, status=str(record.status), exit_code=record.exit_code,
                   started_at=record.started_at, finished_at=record.finished_at, monitor_pid=record.monitor_pid,
                   owner_pid=record.owner_pid, boot_id=record.boot_id, args=record.config.args,
                   exposed_ports=record.config.exposed_ports, ports=ports)  # fmt: skip

    @property
    def command(self) -> str:
        return command_text(self.args)

    def status_text(self, now: float) -> str:
        return status_text(self.status, self.exit_code, self.started_at, self.finished_at, now)


def program_args(entrypoint: Sequence[str] | None, cmd: Sequence[str] | None) -> tuple[str, ...]:
    """Entrypoint + command: what PID 1 runs."""
    return (*(entrypoint or ()), *(cmd or ()))


def command_text(args: Sequence[str]) -> str:
    """Docker's ``Command``: the program and its arguments, those with a space in single quotes."""
    if not args:
        return ""
    rest = [f"'{a}'" if " " in a else a for a in args[1:]]
    return " ".join([args[0], *rest])


def status_text(status: str, exit_code: int, started_at: float, finished_at: float, now: float) -> str:
    """Docker's ``State.String()``: ``Up 6 seconds``, ``Up 2 minutes (Paused)``, ``Exited (0) 2 minutes ago``,
    ``Created``, ``Restarting (1) 3 seconds ago``, ``Removal In Progress``, ``Dead``."""
    if status == "running":
        return f"Up {human_duration(now - started_at)}"
    if status == "paused":
        return f"Up {human_duration(now - started_at)} (Paused)"
    if status == "restarting":
        return f"Restarting ({exit_code}) {human_duration(now - finished_at)} ago"
    if status == "removing":
        return "Removal In Progress"
    if status == "dead":
        return "Dead"
    if started_at <= 0:
        return "Created"
    if finished_at <= 0:
        return ""
    return f"Exited ({exit_code}) {human_duration(now - finished_at)} ago"


def split_reference(ref: str) -> tuple[str, str, str, str]:
    """(domain, path, tag, digest) of a reference the way Docker normalizes it (``busybox`` ->
    ``docker.io``, ``library/busybox``, ``latest``, ""); cheap, for display only (no validation)."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return domain, path, tag or ("" if digest else "latest"), digest


def normalized_reference(ref: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest`` (as :func:`split_reference` reads it)."""
    domain, path, tag, digest = split_reference(ref)
    return f"{domain}/{path}@{digest}" if digest else f"{domain}/{path}:{tag}"


def display_image(image_ref: str, image_id: str, tags: Mapping[str, str]) -> str:
    """The image a row is listed with: the reference as typed, or the image ID when that reference now names
    another image (``tags``: tag name -> image ID, from :func:`image_names`)."""
    if image_ref == image_id or image_ref.startswith("sha256:"):
        return image_id
    target = tags.get(normalized_reference(image_ref))
    if target is None and "@" in image_ref:
        return image_ref
    if target != image_id and not image_id.removeprefix("sha256:").startswith(image_ref):
        return image_id
    return image_ref


def image_names(query: Callable[[str], Sequence[Sequence[Any]]]) -> dict[str, str]:
    """Tag name (docker.io/library/busybox:latest) -> image ID, straight from the store's table (``query``
    runs one statement and returns its rows)."""
    try:
        rows = query("SELECT name, image_id FROM image_tags")
    except sqlite3.Error:
        return {}
    return {str(r[0]): str(r[1]) for r in rows}


def select(rows: Iterable[T], status: Callable[[T], str], *, show_all: bool, limit: int,
           keep: Callable[[T], bool] | None = None) -> list[T]:  # fmt: skip
    """Docker's choice of rows (newest first in, newest first out): active ones unless ``show_all``, those
    ``keep`` accepts, at most ``limit`` when positive."""
    out = []
    for r in rows:
        if not show_all and status(r) not in SHOWN_BY_DEFAULT:
            continue
        if keep is not None and not keep(r):
            continue
        out.append(r)
        if 0 < limit <= len(out):
            break
    return out


_COLUMNS = ("id, name, image_id, image_ref, created, status, exit_code, started_at, finished_at, monitor_pid, "
            "owner_pid, boot_id, config, ports")  # fmt: skip


def _row(r: Sequence[Any]) -> ContainerRow:
    config = json.loads(r[12])
    return ContainerRow(
        id=r[0], name=r[1], image_id=r[2], image_ref=r[3], created=float(r[4]), status=r[5], exit_code=int(r[6]),
        started_at=float(r[7]), finished_at=float(r[8]), monitor_pid=int(r[9]), owner_pid=int(r[10]), boot_id=r[11],
        args=program_args(config.get("entrypoint"), config.get("cmd")),
        exposed_ports=tuple(config.get("exposed_ports") or ()),
        ports=tuple(PortRow(int(p["container_port"]), str(p["protocol"]), str(p["host_ip"]), int(p["host_port"]))
                    for p in json.loads(r[13])),
    )  # fmt: skip


def read_rows(root: str) -> tuple[list[ContainerRow], dict[str, str]] | None:
    """Every listed container of the state root (newest first) and the image tags, when the table can be
    shown as it is; ``None`` when the full engine must look first (a reconcile, a migration, a first start)."""
    db = os.path.join(root, "dockyard.db")
    if not os.path.isfile(db) or not boot_marker_current(os.path.join(root, "run")):
        return None
    try:
        conn = sqlite3.connect(db, timeout=120.0, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return None
        version = conn.execute("SELECT max(version) FROM schema_migrations WHERE component = 'containers'")
        if version.fetchone()[0] != len(MIGRATIONS):
            return None
        # one read transaction: the rows and the tags are of the same moment, as the normal path's queries
        conn.execute("BEGIN")
        raw = conn.execute(f"SELECT {_COLUMNS} FROM containers {ORDER}").fetchall()
        containers = os.path.join(root, "containers")
        rows = []
        for r in raw:
            row = _row(r)
            if needs_reconcile(row, os.path.join(containers, row.id)):
                return None
            if row.status != "creating":
                rows.append(row)
        tags = image_names(lambda sql: conn.execute(sql).fetchall()) if rows else {}
        conn.execute("COMMIT")
        return rows, tags
    except (sqlite3.Error, ValueError, KeyError, TypeError):
        return None
    finally:
        conn.close()
