"""``ps``: the containers to show (Docker's ``-a``/``-n``/``-l`` and ``--filter`` semantics) and the summary of
each, from the database and a few cheap liveness checks only (no runtime, network or image store imports unless
a filter needs them: ``ancestor=``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.engine.containers.liveness import effective, needs_reconcile
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus, MountRequestType
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService

__all__ = ["ContainerFilters", "ContainerSummary", "list_containers", "network_names", "status_text"]

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
        args = self.record.config.args
        if not args:
            return ""
        rest = [f"'{a}'" if " " in a else a for a in args[1:]]
        return " ".join([args[0], *rest])


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
    """Docker's ``State.String()``: ``Up 6 seconds``, ``Up 2 minutes (Paused)``, ``Exited (0) 2 minutes ago``,
    ``Created``, ``Restarting (1) 3 seconds ago``, ``Removal In Progress``, ``Dead``."""
    from dockyard.engine.containers.humanize import human_duration

    status = record.status
    if status is ContainerStatus.RUNNING:
        return f"Up {human_duration(now - record.started_at)}"
    if status is ContainerStatus.PAUSED:
        return f"Up {human_duration(now - record.started_at)} (Paused)"
    if status is ContainerStatus.RESTARTING:
        return f"Restarting ({record.exit_code}) {human_duration(now - record.finished_at)} ago"
    if status is ContainerStatus.REMOVING:
        return "Removal In Progress"
    if status is ContainerStatus.DEAD:
        return "Dead"
    if record.started_at <= 0:
        return "Created"
    if record.finished_at <= 0:
        return ""
    return f"Exited ({record.exit_code}) {human_duration(now - record.finished_at)} ago"


def _image_names(svc: ContainerService) -> dict[str, str]:
    """Tag name (docker.io/library/busybox:latest) -> image ID, straight from the store's table."""
    try:
        rows = svc.store.db.query("SELECT name, image_id FROM image_tags")
    except sqlite3.Error:
        return {}
    return {str(r[0]): str(r[1]) for r in rows}


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


def _normalized(ref: str) -> str:
    domain, path, tag, digest = split_reference(ref)
    return f"{domain}/{path}@{digest}" if digest else f"{domain}/{path}:{tag}"


def _display_image(record: ContainerRecord, tags: Mapping[str, str]) -> str:
    ref = record.image_ref
    if ref == record.image_id or ref.startswith("sha256:"):
        return record.image_id
    target = tags.get(_normalized(ref))
    if target is None and "@" in ref:
        return ref
    if target != record.image_id and not record.image_id.removeprefix("sha256:").startswith(ref):
        return record.image_id
    return ref


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
    out = []
    for r in records:
        if not show_all and r.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED,
                                              ContainerStatus.RESTARTING):  # fmt: skip
            continue
        if before is not None and r.created >= before:
            continue
        if since is not None and r.created <= since:
            continue
        if not _matches(r, filters, ancestors):
            continue
        out.append(r)
        if 0 < limit <= len(out):
            break
    tags = _image_names(svc) if out else {}
    summaries = []
    for r in out:
        rw = root = None
        if size:
            rw, root = svc.sizes(r)
        summaries.append(ContainerSummary(r, _display_image(r, tags), rw, root))
    return summaries


def _bound(svc: ContainerService, names: Sequence[str], records: Sequence[ContainerRecord]) -> float | None:
    if not names:
        return None
    record = svc.store.resolve(names[-1])
    return record.created


def volume_names(record: ContainerRecord) -> list[str]:
    return [m.source for m in record.mounts if m.type is MountRequestType.VOLUME]
