"""Docker's event log: what happened to containers, images, volumes and networks, for ``events`` and ``GET /events``.

Every dockyard process writes to one table of the state root's database (component ``events``), so a daemonless
``dockyard events`` sees what other processes do by polling it. Rows are Docker's ``events.Message`` (API v1.41)
pieces; :func:`message` builds the JSON object Docker sends. The log is bounded: each insert drops rows beyond the
newest :data:`MAX_EVENTS` and rows older than :data:`MAX_AGE` seconds. Recording never fails the operation it
records: errors are logged and dropped.

::

    events   seq PK (insertion order), time_nano (unix ns), type, action, actor_id, attributes (JSON object)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.store.db import Database

__all__ = [
    "MAX_AGE",
    "MAX_EVENTS",
    "MIGRATIONS",
    "EventFilter",
    "EventLog",
    "container_attributes",
    "format_line",
    "message",
    "record",
]

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000
MAX_AGE = 7 * 24 * 3600.0

MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        time_nano  INTEGER NOT NULL,
        type       TEXT NOT NULL,
        action     TEXT NOT NULL,
        actor_id   TEXT NOT NULL,
        attributes TEXT NOT NULL
    );
    CREATE INDEX events_time ON events(time_nano)
    """,
]

TYPES = ("container", "image", "volume", "network", "daemon", "plugin", "service", "node", "secret", "config")


def message(time_nano: int, type_: str, action: str, actor_id: str, attributes: Mapping[str, str]) -> dict[str, Any]:
    """Docker's JSON event (API v1.41): container events also carry the old ``status``/``id``/``from``."""
    out: dict[str, Any] = {}
    if type_ == "container":
        out["status"] = action
        out["id"] = actor_id
        out["from"] = attributes.get("image", "")
    elif type_ == "image":
        out["status"] = action
        out["id"] = actor_id
    out.update(
        {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes)},
            "scope": "local",
            "time": time_nano // 1_000_000_000,
            "timeNano": time_nano,
        }
    )
    return out


class EventLog:
    """The ``events`` table of one state root's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema("events", MIGRATIONS)

    def add(
        self,
        type_: str,
        action: str,
        actor_id: str,
        attributes: Mapping[str, str] | None = None,
        *,
        when: float | None = None,
    ) -> None:
        now_ns = time.time_ns()
        time_nano = now_ns if when is None else int(when * 1e9)
        attrs = json.dumps({k: str(v) for k, v in (attributes or {}).items()}, sort_keys=True)
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO events(time_nano, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)",
                (time_nano, type_, action, actor_id, attrs),
            )
            seq = int(cur.lastrowid or 0)
            if seq % 100 == 0:  # bounded: trimmed now and then, not on every insert
                conn.execute(
                    "DELETE FROM events WHERE seq <= ? OR time_nano < ?",
                    (seq - MAX_EVENTS, now_ns - int(MAX_AGE * 1e9)),
                )

    def last_seq(self) -> int:
        row = self.db.query_one("SELECT max(seq) FROM events")
        return int(row[0] or 0) if row else 0

    def since(
        self, *, after_seq: int = 0, since: float | None = None, until: float | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(seq, message)`` of the events after ``after_seq`` with ``since <= time <= until``, in order."""
        sql = "SELECT seq, time_nano, type, action, actor_id, attributes FROM events WHERE seq > ?"
        params: list[object] = [after_seq]
        if since is not None:
            sql += " AND time_nano >= ?"
            params.append(int(since * 1e9))
        if until is not None:
            sql += " AND time_nano <= ?"
            params.append(int(until * 1e9))
        rows = self.db.query(sql + " ORDER BY seq", params)
        return [
            (
                int(r["seq"]),
                message(
                    int(r["time_nano"]),
                    str(r["type"]),
                    str(r["action"]),
                    str(r["actor_id"]),
                    json.loads(r["attributes"]),
                ),
            )
            for r in rows
        ]


def record(
    db: Database,
    type_: str,
    action: str,
    actor_id: str,
    attributes: Mapping[str, str] | None = None,
    *,
    when: float | None = None,
) -> None:
    """Add one event; any error is logged, never raised (the operation it records has happened)."""
    try:
        EventLog(db).add(type_, action, actor_id, attributes, when=when)
    except Exception:
        log.warning("could not record %s %s event for %s", type_, action, actor_id[:12], exc_info=True)


# -- filters (Docker's daemon/events/filter.go) ---------------------------------------------------------------


def _strip_tag(image: str) -> str:
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


class EventFilter:
    """``-f key=value`` filters: values of one key are alternatives, keys must all match."""

    KEYS = frozenset({"container", "event", "image", "label", "type", "volume", "network", "daemon", "scope",
                      "plugin", "node", "service", "secret", "config"})  # fmt: skip

    def __init__(self, filters: Iterable[str] = ()) -> None:
        from dockyard.errors import InvalidArgument

        self.values: dict[str, list[str]] = {}
        for item in filters:
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            if key not in self.KEYS:
                raise InvalidArgument(f"invalid filter '{key}'")
            self.values.setdefault(key, []).append(value)

    def _exact(self, key: str, *candidates: str) -> bool:
        wanted = self.values.get(key)
        return not wanted or any(c in wanted for c in candidates if c)

    def _fuzzy(self, key: str, *candidates: str) -> bool:
        wanted = self.values.get(key)
        return not wanted or any(c == w or c.startswith(w) for w in wanted for c in candidates if c)

    def _labels(self, attributes: Mapping[str, str]) -> bool:
        for wanted in self.values.get("label", ()):
            key, sep, value = wanted.partition("=")
            if key not in attributes or (sep and attributes[key] != value):
                return False
        return True

    def _image(self, ev: Mapping[str, Any]) -> bool:
        actor = ev["Actor"]
        name = actor["Attributes"].get("name" if ev["Type"] == "image" else "image", "")
        return self._exact("image", actor["ID"], name, _strip_tag(actor["ID"]), _strip_tag(name))

    def _named(self, key: str, ev: Mapping[str, Any]) -> bool:
        actor = ev["Actor"]
        return self._fuzzy(key, actor["ID"]) or self._fuzzy(key, actor["Attributes"].get("name", ""))

    def matches(self, ev: Mapping[str, Any]) -> bool:
        actor = ev["Actor"]
        attrs = actor["Attributes"]
        # Docker: ``event=exec_start`` matches ``exec_start: sh -c ...`` (a prefix) for these three
        fuzzy = any(v in ("health_status", "exec_create", "exec_start") for v in self.values.get("event", ()))
        return (
            (self._fuzzy("event", ev["Action"]) if fuzzy else self._exact("event", ev["Action"]))
            and self._exact("type", ev["Type"])
            and self._exact("scope", ev.get("scope", "local"))
            and self._named("container", ev)
            and self._named("volume", ev)
            and self._named("network", ev)
            and self._named("plugin", ev)
            and self._image(ev)
            and self._exact("daemon", actor["ID"], attrs.get("name", ""))
            and not self.values.get("node")
            and not self.values.get("service")
            and not self.values.get("secret")
            and not self.values.get("config")
            and self._labels(attrs)
        )


def format_line(ev: Mapping[str, Any]) -> str:
    """Docker's default line: ``<RFC 3339 nano time> <type> <action> <actor id> (k=v, ...)``."""
    from dockyard.timeutil import rfc3339_nano

    nanos = int(ev["timeNano"])
    secs, frac = divmod(nanos, 1_000_000_000)
    stamp = rfc3339_nano(float(secs)).removesuffix("Z") + f".{frac:09d}Z"
    actor = ev["Actor"]
    attrs: Mapping[str, str] = actor["Attributes"]
    line = f"{stamp} {ev['Type']} {ev['Action']} {actor['ID']}"
    if attrs:
        line += " (" + ", ".join(f"{k}={v}" for k, v in sorted(attrs.items())) + ")"
    return line


def container_attributes(
    name: str, image: str, labels: Mapping[str, str], extra: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """A container event's attributes, as Docker gives them: its labels, ``image``, ``name`` and any extras."""
    out = dict(labels)
    out["image"] = image
    out["name"] = name
    out.update(extra)
    return out
