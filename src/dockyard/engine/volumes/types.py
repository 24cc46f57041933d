"""Volume values: the record, list/prune filters with Docker's semantics, reports, name rules, Docker's JSON."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import DockyardError, InvalidArgument

__all__ = [
    "ANONYMOUS_LABEL",
    "DEFAULT_DRIVER",
    "RESTRICTED_NAME_CHARS",
    "DeleteReport",
    "PruneReport",
    "Volume",
    "VolumeFilters",
    "rfc3339_seconds",
    "validate_name",
    "volume_json",
]

DEFAULT_DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
"""Docker sets this label (empty value) on volumes created without a name; ``prune`` removes only those."""

RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

LIST_FILTERS = frozenset({"dangling", "name", "driver", "label"})
PRUNE_FILTERS = frozenset({"label", "label!", "all"})


def validate_name(name: str) -> None:
    """Docker's local driver rule (``names.RestrictedNamePattern``), with its words, under ``create <name>:``."""
    if len(name) == 1:
        raise InvalidArgument(
            f"create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )
    if not _NAME.match(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            f'"{RESTRICTED_NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path'
        )


@dataclass(frozen=True)
class Volume:
    """A volume record. ``labels``/``options`` are ``None`` when never given (Docker shows ``null`` then)."""

    name: str
    driver: str
    mountpoint: Path  # <root>/volumes/<name>/_data
    created: float
    labels: Mapping[str, str] | None = None
    options: Mapping[str, str] | None = None
    scope: str = "local"

    @property
    def anonymous(self) -> bool:
        return self.labels is not None and ANONYMOUS_LABEL in self.labels


@dataclass(frozen=True)
class DeleteReport:
    """One name given to ``delete``: ``error`` is None when it was removed (or absent under ``force``)."""

    name: str
    error: DockyardError | None = None

    @property
    def message(self) -> str:
        return self.error.message if self.error is not None else ""


@dataclass(frozen=True)
class PruneReport:
    deleted: tuple[str, ...]
    space_reclaimed: int


def _match_kv_list(wanted: Iterable[str], labels: Mapping[str, str] | None) -> bool:
    """``filters.Args.MatchKVList``: every ``k`` or ``k=v`` is present; no labels never match a filter."""
    values = list(wanted)
    if not values:
        return True
    if not labels:
        return False
    for value in values:
        key, sep, expected = value.partition("=")
        if key not in labels or (sep and labels[key] != expected):
            return False
    return True


def _go_regex_match(pattern: str, source: str) -> bool:
    try:
        return re.search(pattern, source) is not None
    except re.error:
        return False


def _bool_value(key: str, values: Sequence[str]) -> bool:
    """``filters.Args.GetBoolOrDefault``: ``true``/``1`` or ``false``/``0``, never both or neither."""
    is_true = any(v in ("1", "true") for v in values)
    is_false = any(v in ("0", "false") for v in values)
    if is_true == is_false:
        raise InvalidArgument(f"invalid filter '{key}=[{' '.join(values)}]'")
    return is_true


@dataclass(frozen=True)
class VolumeFilters:
    """``--filter`` values of ``volume ls`` (dangling, driver, label, name) and ``volume prune`` (label, label!,
    all), as ``key -> values``. Unknown keys are refused when the filters are applied, in Docker's words."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Iterable[str]) -> VolumeFilters:
        out: dict[str, tuple[str, ...]] = {}
        for item in raw:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            key = key.strip().lower()
            if value not in out.get(key, ()):
                out[key] = (*out.get(key, ()), value)
        return cls(out)

    def validate(self, accepted: frozenset[str]) -> None:
        for key in self.values:
            if key not in accepted:
                raise InvalidArgument(f"invalid filter '{key}'")

    def get(self, key: str) -> tuple[str, ...]:
        return self.values.get(key, ())

    def dangling(self) -> bool | None:
        """``dangling=true`` (only unused volumes), ``false`` (only used ones), or None (no such filter)."""
        if "dangling" not in self.values:
            return None
        return _bool_value("dangling", self.values["dangling"])

    def prune_all(self) -> bool:
        """The ``all`` prune filter (Docker 23+): one boolean at most."""
        values = self.get("all")
        if not values:
            return False
        if len(values) > 1:
            raise InvalidArgument(f"invalid filter 'all=[{' '.join(values)}]': only one value is expected")
        text = values[0]
        if text in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if text in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise InvalidArgument(f"invalid filter 'all': strconv.ParseBool: parsing \"{text}\": invalid syntax")

    def match(self, volume: Volume, referenced: bool) -> bool:
        """Docker's ``filtersToBy`` plus ``byLabelFilter``: driver exact, name as a regular expression,
        labels all present, ``label!`` all present excludes, dangling = no container uses it."""
        v = self.values
        if "driver" in v and volume.driver not in v["driver"]:
            return False
        if "name" in v and volume.name not in v["name"] and not any(_go_regex_match(p, volume.name) for p in v["name"]):
            return False
        if not _match_kv_list(self.get("label"), volume.labels):
            return False
        if "label!" in v and _match_kv_list(v["label!"], volume.labels):
            return False
        dangling = self.dangling()
        return dangling is None or dangling != referenced


def rfc3339_seconds(ts: float) -> str:
    """Go's ``time.Format(time.RFC3339)`` in local time: ``2026-11-27T23:36:58Z`` or ``...+01:00``."""
    lt = time.localtime(int(ts))
    offset = lt.tm_gmtoff or 0
    base = time.strftime("%Y-%m-%dT%H:%M:%S", lt)
    if offset == 0:
        return base + "Z"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{base}{sign}{hours:02d}:{minutes:02d}"


def volume_json(volume: Volume) -> dict[str, object]:
    """One volume as the Docker Engine API returns it (``GET /volumes/{name}``, ``volume inspect``)."""
    return {
        "CreatedAt": rfc3339_seconds(volume.created),
        "Driver": volume.driver,
        "Labels": dict(volume.labels) if volume.labels is not None else None,
        "Mountpoint": str(volume.mountpoint),
        "Name": volume.name,
        "Options": dict(volume.options) if volume.options is not None else None,
        "Scope": volume.scope,
    }
