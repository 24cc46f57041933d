"""``commit``: the container's upper directory as a new layer on its image's, and the container's config (with
``--change`` instructions) as the new image's, written through the store like every other image.

The layer tar carries OCI whiteouts: an overlay whiteout (a 0/0 character device) becomes ``.wh.<name>``, an
opaque directory gets ``.wh..wh..opq``. Runtime mount points (empty ``/etc/hosts``... created by runc) are
left out, as Docker's init layer keeps them out of its commits.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dockyard.engine.containers.files import RUNTIME_MOUNTPOINTS, _in_lowers, _tarinfo
from dockyard.engine.containers.types import ContainerStatus
from dockyard.errors import Conflict, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers.records import ContainerRecord
    from dockyard.engine.containers.service import ContainerService
    from dockyard.oci.image import ContainerConfig, History

__all__ = ["CommitOptions", "commit_container", "layer_tar"]

OPAQUE_XATTR = "trusted.overlay.opaque"


@dataclass(frozen=True)
class CommitOptions:
    reference: str | None = None  # repository[:tag] for the new image
    author: str = ""
    message: str = ""
    changes: tuple[str, ...] = ()  # Dockerfile instructions (CMD, ENV, EXPOSE, ...)
    pause: bool = True


def _ignored(path: str, st: os.stat_result, ignore: frozenset[str], lowers: list[Path]) -> bool:
    if path not in ignore or _in_lowers(lowers, path.lstrip("/")) is not None:
        return False
    return stat.S_ISDIR(st.st_mode) or st.st_size == 0


def layer_tar(upper: Path, lowers: list[Path], out: IO[bytes], ignore: frozenset[str]) -> None:
    """Write the upper directory as a layer tar (OCI whiteouts) to ``out``."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        links: dict[tuple[int, int], str] = {}
        for dirpath, dirs, files in os.walk(upper):
            dirs.sort()
            rel_dir = os.path.relpath(dirpath, upper)
            for name in sorted(dirs + files):
                full = os.path.join(dirpath, name)
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                st = os.lstat(full)
                if _ignored("/" + rel, st, ignore, lowers):
                    if name in dirs:
                        dirs.remove(name)
                    continue
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    whiteout = tarfile.TarInfo(f"{rel_dir}/.wh.{name}" if rel_dir != "." else f".wh.{name}")
                    whiteout.mtime = int(st.st_mtime)
                    tar.addfile(whiteout)
                    continue
                link = os.readlink(full) if stat.S_ISLNK(st.st_mode) else ""
                info = _tarinfo(rel, st, link)
                if info.type == tarfile.REGTYPE and st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    if key in links:
                        info.type, info.linkname, info.size = tarfile.LNKTYPE, links[key], 0
                        tar.addfile(info)
                        continue
                    links[key] = rel
                if info.type == tarfile.REGTYPE:
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                    continue
                tar.addfile(info)
                if info.type == tarfile.DIRTYPE:
                    with contextlib.suppress(OSError):
                        if os.getxattr(full, OPAQUE_XATTR, follow_symlinks=False) == b"y":
                            opaque = tarfile.TarInfo(f"{rel}/.wh..wh..opq")
                            opaque.mtime = int(st.st_mtime)
                            tar.addfile(opaque)


def _image_config(record: ContainerRecord) -> ContainerConfig:
    from dockyard.oci.image import ContainerConfig

    c = record.config
    return ContainerConfig(
        user=c.user,
        exposed_ports=c.exposed_ports,
        env=c.env,
        entrypoint=c.entrypoint,
        cmd=c.cmd,
        volumes=c.volumes,
        working_dir=c.working_dir,
        labels=dict(c.labels),
        stop_signal=c.stop_signal,
        on_build=c.on_build,
    )


def _history(created: str, opts: CommitOptions, record: ContainerRecord) -> History:
    from dockyard.oci.image import History

    return History(created=created, author=opts.author, created_by=" ".join(record.config.args), comment=opts.message)


def commit_container(svc: ContainerService, record: ContainerRecord, opts: CommitOptions) -> str:
    """Make an image of the container (paused meanwhile if it runs and ``opts.pause``); its ID."""
    from dockyard.oci.digest import Digest
    from dockyard.oci.image import ImageConfig
    from dockyard.oci.reference import parse_reference
    from dockyard.store.commit import LayerBlob, ingest_layer_stream, write_image
    from dockyard.timeutil import rfc3339_nano

    ref = parse_reference(opts.reference).with_default_tag() if opts.reference else None
    if ref is not None and ref.digest is not None:
        raise Conflict("refusing to create a tag with a digest reference")
    store = svc.engine.store
    try:
        parent = svc.engine.images.load(svc.engine.images.resolve(record.image_id))
    except NotFound:
        raise NotFound(f"commit {record.name}: its image {record.image_id} is gone") from None
    snapshot = store.snapshots.get(record.id)
    if snapshot is None:
        raise NotFound(f"commit {record.name}: no root filesystem")
    lowers = [layer.path for layer in store.layers.chain(snapshot.parent)]
    ignore = frozenset((*RUNTIME_MOUNTPOINTS, *(m.destination for m in record.mounts)))
    paused = False
    svc.layout.tmp.mkdir(parents=True, exist_ok=True)
    with svc.locks.hold(record.id):
        current = svc.store.get(record.id) or record
        if opts.pause and current.status is ContainerStatus.RUNNING:
            svc.runtime.pause(record.id)
            paused = True
        try:
            with tempfile.TemporaryFile(dir=svc.layout.tmp) as spool:
                layer_tar(snapshot.upper, lowers, spool, ignore)
                spool.seek(0)
                with store.lease() as lease:
                    new = ingest_layer_stream(store, lease, spool, parent.record.top_layer)
                    chain = list(reversed(store.layers.chain(parent.record.top_layer)))
                    layers = [LayerBlob(d, layer.diff_id, layer) for d, layer in zip(parent.manifest.layers, chain,
                                                                                     strict=True)]  # fmt: skip
                    created = rfc3339_nano()
                    base = parent.config
                    config = ImageConfig(
                        architecture=base.architecture or "amd64",
                        os=base.os or "linux",
                        variant=base.variant,
                        created=created,
                        author=opts.author,
                        config=_image_config(current),
                        diff_ids=(*base.diff_ids, new.diff_id),
                        history=(*base.history, _history(created, opts, current)),
                        comment=opts.message,
                    )
                    if opts.changes:
                        from dockyard.build.imageconfig import apply_dockerfile_changes

                        config = replace(apply_dockerfile_changes(config, opts.changes), created=created)
                    tags = [ref] if ref else []
                    image, _ = write_image(
                        store, lease, config.to_json(), [*layers, new], tags=tags, parent=Digest.parse(record.image_id)
                    )
        finally:
            if paused:
                svc.runtime.resume(record.id)
    svc.emit(
        record, "commit", {"comment": opts.message, "imageID": str(image.id), "imageRef": ref.familiar if ref else ""}
    )
    return str(image.id)
