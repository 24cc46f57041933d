"""``ps``: the containers to show (Docker's ``-a``/``-n``/``-l`` and ``--filter`` semantics) and the summary of
each, from the database and a few cheap liveness checks only (no runtime, network or image store imports unless
a filter needs them: ``ancestor=``). The display rules (status text, command, image) and the choice of rows are
``rows.py``'s, shared with the command line's fast ``ps``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.engine.containers.liveness import effective, needs_reconcile
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.rows import (
    command_text,
    display_image,
    image_names,
    normalized_reference,
    select,
    split_reference,
)
from dockyard.engine.containers.rows import status_text as row_status_text
from dockyard.engine.containers.types import ContainerStatus, MountRequestType
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService

__all__ = ["ContainerFilters", "ContainerSummary", "list_containers", "network_names", "split_reference", "status_text"]

_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "is-task", "label", "name", "network",
            "publish", "since", "status", "volume")  # fmt: skip
_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


@dataclass(frozen=True)
class ContainerFilters:
    """``--filter key=value`` of ``ps`` (and ``container prune``'s ``label``/``until``)."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Iterable[str], allowed: Sequence[str] = _FILTERS) -> ContainerFilters:
        out: dict[str, tuple[str, ...]] = {}
        for item in raw:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            key = key.strip().lower()
            if key not in allowed:
                raise InvalidArgument(f"invalid filter '{key}'")
            if key == "status" and value not in _STATUSES:
                raise InvalidArgument(
                    f"invalid filter 'status={value}': Invalid filter value; "
                    "valid values are: created, restarting, running, removing, paused, exited, dead"
                )
            if key == "exited":
                try:
                    int(value)
                except ValueError:
                    raise InvalidArgument(f'strconv.Atoi: parsing "{value}": invalid syntax') from None
            out[key] = (*out.get(key, ()), value)
        return cls(out)

    def get(self, key: str) -> tuple[str, ...]:
        return self.values.get(key, ())


@dataclass(frozen=True)
class ContainerSummary:
    """One ``ps`` row's data: the record as reconciled, plus what the list shows beside it."""

    record: ContainerRecord
    image: str  # the reference as typed, or the image ID when that reference now names another image
    size_rw: int | None = None
    size_root_fs: int | None = None

    @property
    def command(self) -> str:
        """Docker's ``Command``: the program and its arguments, those with a space in single quotes."""
        return command_text(self.record.config.args)


def network_names(record: ContainerRecord) -> list[str]:
    """The networks the container is (or will be, once started) on: its primary one and those connected."""
    mode = record.options.network_mode
    if mode in ("default", "", "bridge"):
        primary = ["bridge"]
    elif mode.startswith("container:"):
        return []
    else:
        primary = [mode]
    return list(dict.fromkeys([*primary, *(n.name for n in record.networks)]))


def status_text(record: ContainerRecord, now: float) -> str:
    """Docker's ``State.String()`` of the record (``Up 6 seconds``, ``Exited (0) 2 minutes ago``...)."""
    return row_status_text(str(record.status), record.exit_code, record.started_at, record.finished_at, now)


_normalized = normalized_reference  # the name the unit tests use


def _image_names(svc: ContainerService) -> dict[str, str]:
    """Tag name (docker.io/library/busybox:latest) -> image ID, straight from the store's table."""
    return image_names(svc.store.db.query)


def _matches(record: ContainerRecord, f: ContainerFilters, ancestors: set[str] | None) -> bool:
    if f.get("status") and str(record.status) not in f.get("status"):
        return False
    if f.get("id") and not any(record.id.startswith(v) for v in f.get("id")):
        return False
    if f.get("name"):
        import re

        if not any(re.search(v, "/" + record.name) for v in f.get("name")):
            return False
    for label in f.get("label"):
        key, sep, value = label.partition("=")
        labels = record.config.labels
        if key not in labels or (sep and labels[key] != value):
            return False
    if f.get("exited") and (
        record.status is not ContainerStatus.EXITED or str(record.exit_code) not in f.get("exited")
    ):
        return False
    if f.get("network"):
        nets = network_names(record)
        if not any(n in nets for n in f.get("network")):
            return False
    if f.get("volume"):
        sources = {m.source for m in record.mounts} | {m.destination for m in record.mounts}
        if not any(v in sources for v in f.get("volume")):
            return False
    if f.get("publish") or f.get("expose"):
        published = {f"{p.host_port}/{p.protocol}" for p in record.ports} | {str(p.host_port) for p in record.ports}
        exposed = set(record.config.exposed_ports) | {e.split("/")[0] for e in record.config.exposed_ports}
        if f.get("publish") and not any(v in published for v in f.get("publish")):
            return False
        if f.get("expose") and not any(v in exposed for v in f.get("expose")):
            return False
    return ancestors is None or record.image_id in ancestors


def _ancestors(svc: ContainerService, names: Sequence[str]) -> set[str]:
    """Image IDs of the named images and every image built on them."""
    from dockyard.errors import NotFound

    wanted: set[str] = set()
    for name in names:
        try:
            wanted.add(str(svc.engine.images.resolve(name).id))
        except NotFound:
            continue
    if not wanted:
        return set()
    records = svc.engine.store.images.all()
    changed = True
    while changed:
        changed = False
        for r in records:
            if r.parent is not None and str(r.parent) in wanted and str(r.id) not in wanted:
                wanted.add(str(r.id))
                changed = True
    return wanted


def list_containers(
    svc: ContainerService,
    *,
    all: bool = False,
    limit: int = -1,
    filters: ContainerFilters | None = None,
    size: bool = False,
) -> list[ContainerSummary]:
    """Newest first; running ones only unless ``all`` (or ``limit`` > 0, or a status filter says otherwise)."""
    filters = filters or ContainerFilters()
    svc.settle()
    records = svc.store.all()
    stale = [r for r in records if needs_reconcile(r, svc.container_dir(r.id))]
    if stale:
        from dockyard.engine.containers.reconcile import reconcile

        if reconcile(svc, stale):
            records = svc.store.all()
    records = [effective(r, svc.container_dir(r.id)) for r in records]
    before = _bound(svc, filters.get("before"), records)
    since = _bound(svc, filters.get("since"), records)
    ancestors = _ancestors(svc, filters.get("ancestor")) if filters.get("ancestor") else None
    show_all = all or limit > 0 or bool(filters.get("status")) or bool(filters.get("exited"))

    def keep(r: ContainerRecord) -> bool:
        if before is not None and r.created >= before:
            return False
        if since is not None and r.created <= since:
            return False
        return _matches(r, filters, ancestors)

    out = select(records, lambda r: str(r.status), show_all=show_all, limit=limit, keep=keep)
    tags = _image_names(svc) if out else {}
    summaries = []
    for r in out:
        rw = root = None
        if size:
            rw, root = svc.sizes(r)
        summaries.append(ContainerSummary(r, display_image(r.image_ref, r.image_id, tags), rw, root))
    return summaries


def _bound(svc: ContainerService, names: Sequence[str], records: Sequence[ContainerRecord]) -> float | None:
    if not names:
        return None
    record = svc.store.resolve(names[-1])
    return record.created


def volume_names(record: ContainerRecord) -> list[str]:
    return [m.source for m in record.mounts if m.type is MountRequestType.VOLUME]
