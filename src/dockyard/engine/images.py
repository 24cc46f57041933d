"""ImageService: list, resolve, tag, remove, prune and describe local images (Docker's semantics).

Name resolution follows Docker: a full or ``sha256:`` ID, then a reference (tag or digest), then an
unambiguous ID prefix. Removal untags first and deletes an image only when no name is left, refusing
(unless forced) while a container uses it, and never deleting an image other images are built on.
"""

from __future__ import annotations

import builtins
import fnmatch
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.oci.digest import Digest
from dockyard.oci.reference import Reference, is_short_id_candidate, parse_reference
from dockyard.store.images import ImageRecord

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.oci.image import ImageConfig
    from dockyard.oci.manifest import Manifest
    from dockyard.store import Store

__all__ = [
    "DeleteReport",
    "HistoryEntry",
    "Image",
    "ImageFilters",
    "ImageService",
    "ImageUser",
    "PruneReport",
    "RemoveOptions",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Image:
    """An image with what ``run`` and ``inspect`` need: its record, config (parsed and raw) and manifest."""

    record: ImageRecord
    config: ImageConfig
    config_bytes: bytes
    manifest: Manifest

    @property
    def id(self) -> Digest:
        return self.record.id


@dataclass(frozen=True)
class ImageUser:
    """A container that uses an image."""

    container_id: str
    running: bool


@dataclass(frozen=True)
class DeleteReport:
    """``rmi``: the references untagged and the images deleted."""

    untagged: str = ""
    deleted: str = ""


@dataclass(frozen=True)
class PruneReport:
    """``image prune``: what was deleted and the bytes reclaimed."""

    deleted: tuple[DeleteReport, ...]
    space_reclaimed: int


@dataclass(frozen=True)
class RemoveOptions:
    """``rmi``: remove even when used (``force``), and untagged parents."""

    force: bool = False
    prune_parents: bool = True


@dataclass(frozen=True)
class HistoryEntry:
    """One row of ``history``."""

    id: str  # image ID for the entries that are local images, else "<missing>"
    created: str
    created_by: str
    size: int
    comment: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ImageFilters:
    """``--filter`` for ``image ls`` / ``image prune``: dangling, label, reference, before, since, until."""

    dangling: bool | None = None
    labels: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    before: str | None = None
    since: str | None = None
    until: str | None = None

    @classmethod
    def parse(cls, items: Iterable[str]) -> ImageFilters:
        dangling: bool | None = None
        labels: list[str] = []
        refs: list[str] = []
        before = since = until = None
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            key = key.strip().lower()
            if key == "dangling":
                if value.lower() not in ("true", "false", "1", "0"):
                    raise InvalidArgument(f"invalid filter 'dangling={value}'")
                dangling = value.lower() in ("true", "1")
            elif key == "label":
                labels.append(value)
            elif key == "reference":
                refs.append(value)
            elif key == "before":
                before = value
            elif key == "since":
                since = value
            elif key == "until":
                until = value
            else:
                raise InvalidArgument(f"invalid filter '{key}'")
        return cls(dangling, tuple(labels), tuple(refs), before, since, until)


class ImageService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def store(self) -> Store:
        return self.engine.store

    # -- lookup ------------------------------------------------------------------------------------
    def resolve(self, name_or_id: str) -> ImageRecord:
        """The image a user means by ``name_or_id``; NotFound in Docker's words otherwise."""
        images = self.store.images
        value = name_or_id.strip()
        if value.startswith("sha256:"):
            try:
                record = images.get(Digest.parse(value))
            except InvalidArgument:
                record = None
            if record is not None:
                return record
            return self._by_prefix(value.removeprefix("sha256:"), name_or_id)
        if len(value) == 64 and is_short_id_candidate(value):
            record = images.get(Digest.from_hex(value))
            if record is not None:
                return record
            raise NotFound(f"No such image: {name_or_id}")
        try:
            ref = parse_reference(value)
        except InvalidArgument:
            if is_short_id_candidate(value):
                return self._by_prefix(value, name_or_id)
            raise
        if ref.digest is not None:
            record = images.by_digest(ref)
        else:
            record = images.by_tag(ref.with_default_tag())
        if record is not None:
            return record
        if ref.tag is None and ref.digest is None and is_short_id_candidate(value):
            return self._by_prefix(value, name_or_id)
        shown = ref.familiar if ref.digest is not None else ref.with_default_tag().familiar
        raise NotFound(f"No such image: {shown}")

    def _by_prefix(self, hexpart: str, original: str) -> ImageRecord:
        found = self.store.images.by_prefix(hexpart) if hexpart else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise NotFound(f"No such image: {original}", hint="the ID prefix is ambiguous; give more digits")
        raise NotFound(f"No such image: {original}")

    def exists(self, name_or_id: str) -> bool:
        try:
            self.resolve(name_or_id)
        except NotFound:
            return False
        return True

    def load(self, record: ImageRecord) -> Image:
        from dockyard.oci.image import parse_image_config
        from dockyard.oci.manifest import Manifest

        content = self.store.content
        config_bytes = content.read(record.id)
        manifest = Manifest.parse(content.read(record.manifest_digest))
        return Image(record, parse_image_config(config_bytes), config_bytes, manifest)

    def get(self, name_or_id: str) -> Image:
        return self.load(self.resolve(name_or_id))

    # -- listing -----------------------------------------------------------------------------------
    def list(self, all: bool = False, filters: ImageFilters | None = None) -> list[ImageRecord]:
        """Images newest first. Without ``all``, untagged parents of other images are hidden."""
        filters = filters or ImageFilters()
        records = self.store.images.all()
        parents = {r.parent for r in records if r.parent is not None}
        out = []
        before = self.resolve(filters.before).added if filters.before else None
        since = self.resolve(filters.since).added if filters.since else None
        label_cache: dict[Digest, dict[str, str]] = {}
        for r in records:
            dangling = not r.tags and not r.digests
            intermediate = dangling and r.id in parents
            if intermediate and not all and filters.dangling is None:
                continue
            if filters.dangling is not None and (dangling and not intermediate) != filters.dangling:
                continue
            if before is not None and r.added >= before:
                continue
            if since is not None and r.added <= since:
                continue
            if filters.until and r.created and r.created > filters.until:
                continue
            if filters.references and not any(_matches_reference(r, pat) for pat in filters.references):
                continue
            if filters.labels:
                if r.id not in label_cache:
                    label_cache[r.id] = dict(self.load(r).config.config.labels)
                if not all_labels_match(label_cache[r.id], filters.labels):
                    continue
            out.append(r)
        out.sort(key=lambda r: (r.created, r.added), reverse=True)
        return out

    # -- tagging -----------------------------------------------------------------------------------
    def tag(self, source: str, target: str) -> Reference:
        record = self.resolve(source)
        ref = parse_reference(target)
        if ref.digest is not None:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        ref = ref.with_default_tag()
        self.store.images.tag(ref, record.id)
        self._event("tag", str(record.id), ref.familiar)
        return ref

    def _event(self, action: str, image_id: str, name: str) -> None:
        """An image event as Docker records it: the image (or, for pull and push, the reference) and a name."""
        from dockyard.engine.events import record as record_event

        record_event(self.engine.database, "image", action, image_id, {"name": name})

    # -- removal -----------------------------------------------------------------------------------
    def users(self, image_id: Digest) -> builtins.list[ImageUser]:
        """Containers created from the image (any state)."""
        try:
            containers = self.engine.containers
        except ImportError:  # the container service is not part of this build
            return []
        return [ImageUser(cid, running) for cid, running in containers.using_image(str(image_id))]

    def remove(self, names_or_ids: Sequence[str], options: RemoveOptions | None = None) -> builtins.list[DeleteReport]:
        """``rmi``: for each name, untag (and delete when nothing else names the image)."""
        options = options or RemoveOptions()
        reports: builtins.list[DeleteReport] = []
        errors: builtins.list[DockyardError] = []
        for name in names_or_ids:
            try:
                reports += self._remove_one(name, options)
            except DockyardError as exc:
                errors.append(exc)
        self._collect()
        if errors:
            if len(errors) == 1 and not reports:
                raise errors[0]
            raise _MultiError(reports, errors)
        return reports

    def _remove_one(self, name: str, options: RemoveOptions) -> builtins.list[DeleteReport]:
        record = self.resolve(name)
        reports = self._remove_resolved(name, record, options)
        for report in reports:  # Docker names the image by its ID in both (``untag`` of busybox: sha256:...)
            if report.untagged:
                self._event("untag", str(record.id), str(record.id))
            if report.deleted:
                self._event("delete", report.deleted, report.deleted)
        return reports

    def _remove_resolved(self, name: str, record: ImageRecord, options: RemoveOptions) -> builtins.list[DeleteReport]:
        images = self.store.images
        by_name = self._named_reference(name, record)
        reports: builtins.list[DeleteReport] = []
        users = self.users(record.id)
        if by_name is not None:
            others = [t for t in record.tags if t != by_name]
            if others or (by_name.digest is None and _other_repo_digests(record, by_name)):
                reports += self._untag(record, by_name)
                return reports
            if users and not options.force:
                u = users[0]
                raise Conflict(
                    f'conflict: unable to remove repository reference "{name}" (must force) - container '
                    f"{u.container_id[:12]} is using its referenced image {record.id.short}"
                )
        else:
            distinct_repos = {t.name for t in record.tags} | {d.name for d in record.digests}
            if len(distinct_repos) > 1 and not options.force:
                raise Conflict(
                    f"conflict: unable to delete {record.id.short} (must be forced) - image is referenced in "
                    "multiple repositories"
                )
            running = [u for u in users if u.running]
            if running:
                raise Conflict(
                    f"conflict: unable to delete {record.id.short} (cannot be forced) - image is being used by "
                    f"running container {running[0].container_id[:12]}"
                )
            if users and not options.force:
                raise Conflict(
                    f"conflict: unable to delete {record.id.short} (must be forced) - image is being used by "
                    f"stopped container {users[0].container_id[:12]}"
                )
        if by_name is None and images.children(record.id):
            raise Conflict(
                f"conflict: unable to delete {record.id.short} (cannot be forced) - image has dependent child images"
            )
        for tag in record.tags:
            images.untag(tag)
            reports.append(DeleteReport(untagged=tag.familiar))
        for digest_ref in record.digests:
            images.remove_digest(digest_ref)
            reports.append(DeleteReport(untagged=digest_ref.familiar))
        if images.children(record.id) or (users and options.force and any(u.running for u in users)):
            return reports
        if users and options.force:
            # Docker keeps the image (now dangling) for the stopped container that uses it.
            return reports
        reports += self._delete_chain(record, options)
        return reports

    def _named_reference(self, name: str, record: ImageRecord) -> Reference | None:
        """The reference ``name`` denotes, if the user named the image rather than giving its ID."""
        if name.startswith("sha256:") or (is_short_id_candidate(name) and record.id.hex.startswith(name)):
            try:
                ref = parse_reference(name)
            except InvalidArgument:
                return None
            ref = ref.with_default_tag() if ref.digest is None else ref
            if ref in record.tags or ref in record.digests:
                return ref
            return None
        ref = parse_reference(name)
        return ref if ref.digest is not None else ref.with_default_tag()

    def _untag(self, record: ImageRecord, ref: Reference) -> builtins.list[DeleteReport]:
        images = self.store.images
        out = []
        if ref.digest is not None:
            images.remove_digest(ref)
            return [DeleteReport(untagged=ref.familiar)]
        images.untag(ref)
        out.append(DeleteReport(untagged=ref.familiar))
        if not any(t.name == ref.name for t in record.tags if t != ref):
            for d in record.digests:
                if d.name == ref.name:
                    images.remove_digest(d)
                    out.append(DeleteReport(untagged=d.familiar))
        return out

    def _delete_chain(self, record: ImageRecord, options: RemoveOptions) -> builtins.list[DeleteReport]:
        images = self.store.images
        reports = [DeleteReport(deleted=str(record.id))]
        parent = record.parent
        images.delete(record.id)
        while options.prune_parents and parent is not None:
            prec = images.get(parent)
            if prec is None or prec.tags or prec.digests or images.children(prec.id) or self.users(prec.id):
                break
            images.delete(prec.id)
            reports.append(DeleteReport(deleted=str(prec.id)))
            parent = prec.parent
        return reports

    def _collect(self) -> int:
        return self.store.gc().bytes_freed

    def prune(self, all: bool = False, filters: ImageFilters | None = None) -> PruneReport:
        """Remove dangling images (with ``all``: every image no container uses)."""
        filters = filters or ImageFilters()
        reports: builtins.list[DeleteReport] = []
        before = self.store.gc().bytes_freed
        changed = True
        while changed:
            changed = False
            records = self.store.images.all()
            parents = {r.parent for r in records if r.parent is not None}
            for r in records:
                if r.id in parents:
                    continue
                if not all and (r.tags or r.digests):
                    continue
                if filters.labels and not all_labels_match(dict(self.load(r).config.config.labels), filters.labels):
                    continue
                if filters.until and r.created and r.created > filters.until:
                    continue
                if self.users(r.id):
                    continue
                for tag in r.tags:
                    self.store.images.untag(tag)
                    reports.append(DeleteReport(untagged=tag.familiar))
                    self._event("untag", str(r.id), str(r.id))
                for d in r.digests:
                    self.store.images.remove_digest(d)
                    reports.append(DeleteReport(untagged=d.familiar))
                    self._event("untag", str(r.id), str(r.id))
                self.store.images.delete(r.id)
                reports.append(DeleteReport(deleted=str(r.id)))
                self._event("delete", str(r.id), str(r.id))
                changed = True
        freed = self.store.gc().bytes_freed
        from dockyard.engine.events import record as record_event

        record_event(self.engine.database, "image", "prune", "", {"reclaimed": str(freed + before)})
        return PruneReport(tuple(reports), freed + before)

    # -- history -----------------------------------------------------------------------------------
    def history(self, name_or_id: str) -> builtins.list[HistoryEntry]:
        """Newest first, as ``docker history``: each entry with the size of the layer it created."""
        image = self.get(name_or_id)
        layers = list(reversed(self.store.layers.chain(image.record.top_layer)))  # base first
        history = image.config.history
        sizes: builtins.list[int] = []
        next_layer = 0
        for h in history:
            if h.empty_layer:
                sizes.append(0)
            else:
                sizes.append(layers[next_layer].size if next_layer < len(layers) else 0)
                next_layer += 1
        ids = self._history_ids(image)
        out: builtins.list[HistoryEntry] = []
        for idx in reversed(range(len(history))):
            h = history[idx]
            hid, tags = ids.get(idx, ("<missing>", ()))
            out.append(HistoryEntry(hid, h.created, h.created_by, sizes[idx], h.comment, tags))
        return out

    def _history_ids(self, image: Image) -> dict[int, tuple[str, tuple[str, ...]]]:
        """Map history index -> (image ID, tags) for images in the local parent chain."""
        out: dict[int, tuple[str, tuple[str, ...]]] = {}
        rec: ImageRecord | None = image.record
        while rec is not None:
            count = len(self.load(rec).config.history)
            if count and count - 1 not in out:
                out[count - 1] = (str(rec.id), tuple(t.familiar for t in rec.tags))
            rec = self.store.images.get(rec.parent) if rec.parent else None
        if not out:
            out[len(image.config.history) - 1] = (str(image.id), tuple(t.familiar for t in image.record.tags))
        return out


class _MultiError(DockyardError):
    def __init__(self, reports: list[DeleteReport], errors: list[DockyardError]) -> None:
        super().__init__("\n".join(e.message for e in errors))
        self.reports = reports
        self.errors = errors


def _other_repo_digests(record: ImageRecord, ref: Reference) -> bool:
    return any(d.name != ref.name for d in record.digests)


def _matches_reference(record: ImageRecord, pattern: str) -> bool:
    for t in record.tags:
        familiar = t.familiar
        name = t.familiar_name
        if fnmatch.fnmatchcase(familiar, pattern) or fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def all_labels_match(labels: dict[str, str], wanted: Iterable[str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True
