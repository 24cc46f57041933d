"""Images to and from tar archives: ``save``/``load`` (docker-archive and OCI layout) and ``import``.

docker-archive is what ``docker save`` writes and ``docker load`` reads: ``manifest.json`` naming each
image's config and layer tars, ``repositories``, ``<id>/layer.tar``. dockyard writes the classic layout
(loadable by every Docker version) and reads both it and the OCI-layout-plus-manifest.json form of Docker
25+. OCI archives (``index.json``, ``oci-layout``, ``blobs/``) carry a ``manifest.json`` too, so Docker can
load them as well.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from dockyard.errors import CorruptContent, DockyardError, InvalidArgument, NotFound
from dockyard.oci.descriptor import host_platform
from dockyard.oci.digest import Digest
from dockyard.oci.image import History, ImageConfig, parse_image_config
from dockyard.oci.manifest import Index, Manifest, parse_manifest_or_index
from dockyard.oci.mediatypes import MediaType, layer_compression
from dockyard.oci.reference import Reference, parse_reference
from dockyard.store.commit import LayerBlob, ingest_layer_blob, ingest_layer_stream, write_image
from dockyard.store.fsutil import disk_error
from dockyard.timeutil import rfc3339_nano

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.images import Image
    from dockyard.store import Store

__all__ = ["import_rootfs", "load_images", "save_images"]

log = logging.getLogger(__name__)
_CHUNK = 1 << 20


# -- save -----------------------------------------------------------------------------------------------
def save_images(engine: Engine, names: Sequence[str], output: str | None, fmt: str = "docker-archive") -> None:
    """Write the named images (with the tags the user named, or all their tags for an ID) as a tar."""
    images: list[tuple[Image, list[Reference]]] = []
    for name in names:
        image = engine.images.get(name)
        tags = _tags_for(name, image)
        for existing, existing_tags in images:
            if existing.id == image.id:
                existing_tags += [t for t in tags if t not in existing_tags]
                break
        else:
            images.append((image, tags))
    if output is None:
        _write_archive(engine.store, images, sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            _write_archive(engine.store, images, f, fmt)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(exc, f"save {output}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _tags_for(name: str, image: Image) -> list[Reference]:
    try:
        ref = parse_reference(name)
    except InvalidArgument:
        return list(image.record.tags)
    if ref.digest is None:
        ref = ref.with_default_tag()
        if ref in image.record.tags:
            return [ref]
    if ref.digest is not None:
        return []
    return list(image.record.tags)


class _TarWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.mtime = int(time.time())
        self.dirs: set[str] = set()

    def dir(self, name: str) -> None:
        if name in self.dirs:
            return
        self.dirs.add(name)
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, self.mtime
        self.tar.addfile(ti)

    def file(self, name: str, data: bytes) -> None:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, self.mtime
        self.tar.addfile(ti, io.BytesIO(data))

    def stream(self, name: str, f: IO[bytes], size: int) -> None:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = size, 0o644, self.mtime
        self.tar.addfile(ti, f)

    def symlink(self, name: str, target: str) -> None:
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mtime = tarfile.SYMTYPE, target, self.mtime
        self.tar.addfile(ti)

    def close(self) -> None:
        self.tar.close()


def _write_archive(store: Store, images: list[tuple[Image, list[Reference]]], out: IO[bytes], fmt: str) -> None:
    w = _TarWriter(out)
    if fmt == "oci-archive":
        _write_oci(store, images, w)
    else:
        _write_docker(store, images, w)
    w.close()


def _uncompressed_layer(store: Store, digest: Digest, media_type: str) -> tuple[IO[bytes], int]:
    """An uncompressed copy of a layer blob in a temp file (tar needs the size up front)."""
    from dockyard.store.unpack import decompressed

    tmp = tempfile.TemporaryFile(dir=store.layout.tmp if store.layout.tmp.exists() else None)  # noqa: SIM115
    with store.content.open(digest) as f:
        stream, _ = decompressed(f)
        shutil.copyfileobj(stream, tmp, _CHUNK)
    size = tmp.tell()
    tmp.seek(0)
    return tmp, size


def _write_docker(store: Store, images: list[tuple[Image, list[Reference]]], w: _TarWriter) -> None:
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    written: dict[Digest, str] = {}
    for image, tags in images:
        layers: list[str] = []
        for desc, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=True):
            name = written.get(diff_id)
            if name is None:
                layer_dir = diff_id.hex
                name = f"{layer_dir}/layer.tar"
                w.dir(layer_dir)
                w.file(f"{layer_dir}/VERSION", b"1.0")
                w.file(f"{layer_dir}/json", json.dumps({"id": layer_dir}).encode())
                f, size = _uncompressed_layer(store, desc.digest, desc.media_type)
                with f:
                    w.stream(name, f, size)
                written[diff_id] = name
            layers.append(name)
        w.file(f"{image.id.hex}.json", image.config_bytes)
        manifest.append(
            {"Config": f"{image.id.hex}.json", "RepoTags": [t.familiar for t in tags] or None, "Layers": layers}
        )
        for t in tags:
            if layers:
                repositories.setdefault(t.familiar_name, {})[t.tag or "latest"] = layers[-1].split("/")[0]
    w.file("manifest.json", json.dumps(manifest).encode())
    if repositories:
        w.file("repositories", json.dumps(repositories).encode())


def _write_oci(store: Store, images: list[tuple[Image, list[Reference]]], w: _TarWriter) -> None:
    w.file("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    w.dir("blobs")
    w.dir("blobs/sha256")
    seen: set[Digest] = set()

    def blob(digest: Digest) -> None:
        if digest in seen:
            return
        seen.add(digest)
        with store.content.open(digest) as f:
            w.stream(f"blobs/{digest.algorithm}/{digest.hex}", f, store.content.size(digest))

    index_manifests: list[dict[str, Any]] = []
    docker_manifest: list[dict[str, Any]] = []
    for image, tags in images:
        for desc in image.manifest.layers:
            blob(desc.digest)
        blob(image.id)
        blob(image.record.manifest_digest)
        desc_json = {
            "mediaType": image.record.manifest_media_type,
            "digest": str(image.record.manifest_digest),
            "size": store.content.size(image.record.manifest_digest),
        }
        optional_tags: list[Reference | None] = list(tags) or [None]
        for t in optional_tags:
            entry = dict(desc_json)
            if t is not None:
                entry["annotations"] = {"io.containerd.image.name": str(t), "org.opencontainers.image.ref.name": t.tag}
            index_manifests.append(entry)
        docker_manifest.append(
            {
                "Config": f"blobs/sha256/{image.id.hex}",
                "RepoTags": [t.familiar for t in tags] or None,
                "Layers": [f"blobs/sha256/{d.digest.hex}" for d in image.manifest.layers],
            }
        )
    w.file(
        "index.json",
        json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": index_manifests}).encode(),
    )
    w.file("manifest.json", json.dumps(docker_manifest).encode())


# -- load -----------------------------------------------------------------------------------------------
def load_images(engine: Engine, input_path: str | None) -> Iterator[str]:
    """Load every image in a docker-archive or OCI archive; yields Docker's ``Loaded image: ...`` lines."""
    store = engine.store
    store.layout.tmp.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"load-{os.getpid()}-", dir=store.layout.tmp))
    try:
        try:
            source: BinaryIO = open(input_path, "rb") if input_path else sys.stdin.buffer  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(f"open {input_path}: no such file or directory") from None
        try:
            _extract_archive(source, workdir)
        finally:
            if input_path:
                source.close()
        if (workdir / "manifest.json").is_file():
            yield from _load_docker(engine, workdir)
        elif (workdir / "index.json").is_file():
            yield from _load_oci(engine, workdir)
        else:
            raise InvalidArgument("load: the archive has neither manifest.json nor index.json: not an image archive")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _extract_archive(source: BinaryIO, workdir: Path) -> None:
    from dockyard.store.unpack import decompressed

    try:
        stream, _ = decompressed(source)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                    continue
                tar.extract(member, workdir, filter="data")
    except tarfile.FilterError as exc:
        raise CorruptContent(f"load: refusing unsafe archive entry: {exc}") from exc
    except (tarfile.TarError, EOFError) as exc:
        raise CorruptContent(f"load: damaged archive: {exc}") from exc
    except OSError as exc:
        raise disk_error(exc, "load") from exc


def _inside(workdir: Path, rel: str) -> Path:
    path = (workdir / rel).resolve()
    if not str(path).startswith(str(workdir.resolve()) + os.sep):
        raise CorruptContent(f"load: {rel!r} points outside the archive")
    if not path.is_file():
        raise CorruptContent(f"load: {rel!r} is missing from the archive")
    return path


def _load_docker(engine: Engine, workdir: Path) -> Iterator[str]:
    try:
        entries = json.loads((workdir / "manifest.json").read_bytes())
        assert isinstance(entries, list)
    except (ValueError, AssertionError) as exc:
        raise CorruptContent(f"load: invalid manifest.json: {exc}") from exc
    store = engine.store
    for entry in entries:
        config_bytes = _inside(workdir, str(entry.get("Config", ""))).read_bytes()
        config = parse_image_config(config_bytes)
        layer_files = [str(x) for x in entry.get("Layers") or []]
        if len(layer_files) != len(config.diff_ids):
            raise CorruptContent("load: manifest.json lists a different number of layers than the config")
        tags = [parse_reference(t).with_default_tag() for t in entry.get("RepoTags") or []]
        with store.lease() as lease:
            blobs: list[LayerBlob] = []
            parent: Digest | None = None
            for rel, diff_id in zip(layer_files, config.diff_ids, strict=True):
                with open(_inside(workdir, rel), "rb") as f:
                    lb = ingest_layer_stream(store, lease, f, parent, expected_diff_id=diff_id)
                blobs.append(lb)
                parent = lb.layer.chain_id
            yield from _record(engine, lease, config_bytes, blobs, tags)


def _record(
    engine: Engine,
    lease: Any,
    config_bytes: bytes,
    blobs: list[LayerBlob],
    tags: list[Reference],
    manifest: bytes | None = None,
    manifest_media_type: str = MediaType.DOCKER_MANIFEST,
) -> Iterator[str]:
    previous = {t: engine.store.images.by_tag(t) for t in tags}
    record, _ = write_image(
        engine.store, lease, config_bytes, blobs, tags=tags, manifest=manifest, manifest_media_type=manifest_media_type
    )
    _image_event(engine, "load", str(record.id))
    for t in tags:
        old = previous[t]
        if old is not None and old.id != record.id:
            yield (f"The image {t.familiar} already exists, renaming the old one with ID {old.id} to empty string")
        yield f"Loaded image: {t.familiar}"
    if not tags:
        yield f"Loaded image ID: {record.id}"


def _load_oci(engine: Engine, workdir: Path) -> Iterator[str]:
    store = engine.store

    def read_blob(digest: Digest) -> bytes:
        data = _inside(workdir, f"blobs/{digest.algorithm}/{digest.hex}").read_bytes()
        if Digest.of(data) != digest:
            raise CorruptContent(f"load: blob {digest} does not match its digest")
        return data

    try:
        index = Index.parse((workdir / "index.json").read_bytes())
    except DockyardError as exc:
        raise CorruptContent(f"load: invalid index.json: {exc}") from exc
    want = host_platform()
    for desc in index.manifests:
        data = read_blob(desc.digest)
        doc = parse_manifest_or_index(data)
        if isinstance(doc, Index):
            chosen = doc.select(want)
            if chosen is None:
                raise NotFound(f"load: no manifest for {want} in the archive's index")
            data = read_blob(chosen.digest)
            doc = Manifest.parse(data)
        manifest = doc
        config_bytes = read_blob(manifest.config.digest)
        config = parse_image_config(config_bytes)
        name = desc.annotations.get("io.containerd.image.name") or desc.annotations.get(
            "org.opencontainers.image.ref.name", ""
        )
        tags = []
        if name:
            try:
                tags = [parse_reference(name).with_default_tag()]
            except InvalidArgument:
                tags = []
        with store.lease() as lease:
            blobs: list[LayerBlob] = []
            parent: Digest | None = None
            for layer_desc, diff_id in zip(manifest.layers, config.diff_ids, strict=True):
                if layer_compression(layer_desc.media_type) is None:
                    raise CorruptContent(f"load: unsupported layer media type {layer_desc.media_type}")
                path = _inside(workdir, f"blobs/{layer_desc.digest.algorithm}/{layer_desc.digest.hex}")
                with store.content.writer(expected=layer_desc.digest, expected_size=layer_desc.size) as wr:
                    lease.add("blob", str(layer_desc.digest))
                    if not store.content.exists(layer_desc.digest):
                        with open(path, "rb") as f:
                            while chunk := f.read(_CHUNK):
                                wr.write(chunk)
                        wr.commit()
                lb = ingest_layer_blob(store, lease, layer_desc, parent, diff_id)
                blobs.append(lb)
                parent = lb.layer.chain_id
            yield from _record(
                engine, lease, config_bytes, blobs, tags, manifest=data, manifest_media_type=manifest.media_type
            )


# -- import ---------------------------------------------------------------------------------------------
def import_rootfs(
    engine: Engine,
    source: str,
    repository: str | None,
    changes: Sequence[str] = (),
    message: str = "",
    platform: str | None = None,
) -> str:
    """``docker import``: a root filesystem tar (file, URL or ``-``) as a one-layer image."""
    from dockyard.oci.descriptor import Platform

    ref = parse_reference(repository).with_default_tag() if repository else None
    plat = Platform.parse(platform) if platform else host_platform()
    config = apply_changes(ImageConfig(architecture=plat.architecture, os=plat.os), changes)
    store = engine.store
    created = rfc3339_nano()
    with store.lease() as lease:
        with _open_source(source) as f:
            lb = ingest_layer_stream(store, lease, f, None)
        comment = message or f"Imported from {source}"
        image_config = ImageConfig(
            architecture=config.architecture,
            os=config.os,
            variant=plat.variant,
            created=created,
            config=config.config,
            diff_ids=(lb.diff_id,),
            history=(History(created=created, comment=comment),),
            comment=message,
        )
        record, _ = write_image(store, lease, image_config.to_json(), [lb], tags=[ref] if ref else [])
    _image_event(engine, "import", str(record.id))
    return str(record.id)


def _image_event(engine: Engine, action: str, image_id: str) -> None:
    """Docker's ``load``/``import`` events: the image's ID as its actor and its name."""
    from dockyard.engine.events import record as record_event

    record_event(engine.database, "image", action, image_id, {"name": image_id})


class _open_source:
    def __init__(self, source: str) -> None:
        self.source = source
        self.f: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        src = self.source
        if src == "-":
            return sys.stdin.buffer
        if src.startswith(("http://", "https://")):
            import httpx

            tmp = tempfile.TemporaryFile()
            try:
                with httpx.stream("GET", src, follow_redirects=True, timeout=60) as resp:
                    if resp.status_code != 200:
                        raise NotFound(f"import: GET {src}: {resp.status_code} {resp.reason_phrase}")
                    for chunk in resp.iter_bytes(_CHUNK):
                        tmp.write(chunk)
            except httpx.HTTPError as exc:
                raise NotFound(f"import: {src}: {exc}") from exc
            tmp.seek(0)
            self.f = tmp
            return tmp
        try:
            self.f = open(src, "rb")
        except FileNotFoundError:
            raise NotFound(f"open {src}: no such file or directory") from None
        except IsADirectoryError:
            raise InvalidArgument(f"import: {src} is a directory, not a tar archive") from None
        return self.f

    def __exit__(self, *exc: object) -> None:
        if self.f is not None:
            self.f.close()


def apply_changes(config: ImageConfig, changes: Sequence[str]) -> ImageConfig:
    """Apply ``--change`` Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,
    USER, VOLUME, WORKDIR) to an image config, as ``docker import -c`` and ``docker commit -c`` do."""
    if not changes:
        return config
    from dockyard.build.imageconfig import apply_dockerfile_changes

    return apply_dockerfile_changes(config, changes)
