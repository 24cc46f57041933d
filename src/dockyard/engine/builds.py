"""BuildService: ``build`` and ``builder prune`` — the one implementation behind the CLI and ``POST /build``.

A build has two phases so that the API server can answer a broken Dockerfile with a plain ``400`` before it starts
streaming: :meth:`BuildService.prepare` opens the context (a directory, or a tar stream extracted safely) and
parses the Dockerfile; :meth:`BuildService.run` executes it, sending Docker's progress events to the caller's sink.
:meth:`BuildService.build` does both (the CLI).

The engine side of the executor's seams lives here too: local image lookup, pulls (``engine.distribution``) and
networks for RUN steps (``engine.networks``).
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dockyard.build.options import BuildError, BuildNetwork, BuildOptions, BuildResult, BuildStepError, CacheMiss
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound

if TYPE_CHECKING:
    from dockyard.build.cache import CacheEntry
    from dockyard.build.context import BuildContext
    from dockyard.build.dockerfile import Dockerfile
    from dockyard.build.seams import NetworkInfo
    from dockyard.engine import Engine
    from dockyard.registry.progress import ProgressEvent
    from dockyard.settings import Settings
    from dockyard.store import Store
    from dockyard.store.images import ImageRecord

__all__ = [
    "BuildError",
    "BuildNetwork",
    "BuildOptions",
    "BuildPruneOptions",
    "BuildPruneReport",
    "BuildResult",
    "BuildService",
    "BuildStepError",
    "CacheMiss",
    "PreparedBuild",
    "context_transfer_size",
]

log = logging.getLogger(__name__)

Sink = Callable[["ProgressEvent"], None]
_TAR_BLOCK = 512


@dataclass(frozen=True)
class PreparedBuild:
    """A context whose Dockerfile parsed; ``close()`` removes an extracted context."""

    context: BuildContext
    dockerfile: Dockerfile
    options: BuildOptions
    context_id: str

    def close(self) -> None:
        self.context.close()


@dataclass(frozen=True)
class BuildPruneOptions:
    all: bool = False  # also the cache behind tagged images (``-a``)
    until: float | None = None  # only entries last used before this time


@dataclass(frozen=True)
class BuildPruneReport:
    deleted: tuple[str, ...]  # cache keys
    images_deleted: tuple[str, ...]
    space_reclaimed: int


def context_transfer_size(context: BuildContext) -> int:
    """The size of the tar the docker CLI would send for this context (what it prints as ``Sending build context
    to Docker daemon``): a 512-byte header per entry, file data in 512-byte blocks, and the two end blocks. The
    Dockerfile and ``.dockerignore`` are always sent."""
    total = 2 * _TAR_BLOCK
    seen: set[str] = set()
    for entry in context.walk():
        seen.add(entry.path)
        total += _TAR_BLOCK + (-(-entry.size // _TAR_BLOCK) * _TAR_BLOCK if entry.size else 0)
        if len(entry.path) > 100:
            total += 2 * _TAR_BLOCK  # a PAX header for the long name
    for name in (context.dockerfile, ".dockerignore"):
        rel = os.path.relpath(os.path.join(context.root, name), context.root)
        if rel.startswith("..") or rel in seen:
            continue
        try:
            size = os.path.getsize(os.path.join(context.root, rel))
        except OSError:
            continue
        total += _TAR_BLOCK + -(-size // _TAR_BLOCK) * _TAR_BLOCK
    return total


class _Networks:
    """The executor's network seam over ``engine.networks``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def setup(self, container_id: str, hostname: str, mode: BuildNetwork, extra_hosts: Iterable[str]) -> NetworkInfo:
        from dockyard.build.seams import NetworkInfo
        from dockyard.network.options import NetworkOptions

        network = {BuildNetwork.DEFAULT: None, BuildNetwork.HOST: "host", BuildNetwork.NONE: "none"}[mode]
        options = NetworkOptions.from_cli(network=network, hostname=hostname, add_hosts=list(extra_hosts))
        attachment = self.engine.networks.setup(container_id, "", options)
        return NetworkInfo(attachment.netns, attachment.hosts, attachment.resolv_conf)

    def release(self, container_id: str) -> None:
        self.engine.networks.release(container_id)


class _Host:
    """The executor's :class:`~dockyard.build.executor.BuildHost`, over the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._network = _Networks(engine)

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def network(self) -> _Networks:
        return self._network

    def find_image(self, name: str) -> ImageRecord | None:
        try:
            return self.engine.images.resolve(name)
        except NotFound:
            return None

    def pull_image(self, name: str, sink: Sink) -> ImageRecord:
        from dockyard.engine.distribution import PullOptions
        from dockyard.oci.reference import parse_reference

        ref = parse_reference(name)
        try:
            report = self.engine.distribution.pull(name, PullOptions(), sink)
        except FailedPrecondition as exc:
            if "not implemented" not in exc.message:
                raise
            raise NotFound(
                f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
                "'docker login': denied: requested access to the resource is denied",
                hint="dockyard cannot pull images yet: build or bootstrap the base image locally "
                "(dockyard image bootstrap, recipes/build.sh)",
            ) from None
        if report.image_id:
            return self.engine.images.resolve(report.image_id)
        return self.engine.images.resolve(name)


class BuildService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- contexts ---------------------------------------------------------------------------------------------
    def open_directory(self, path: str | os.PathLike[str], dockerfile: str = "") -> BuildContext:
        """A directory context; ``dockerfile`` is relative to the current directory or absolute (``-f``), the
        context's ``Dockerfile`` by default."""
        from dockyard.build.context import BuildContext

        if not os.path.isdir(path):
            raise InvalidArgument(f"unable to prepare context: path {os.fspath(path)!r} not found")
        if dockerfile and dockerfile != "-":
            absolute = os.path.abspath(dockerfile)
            if not os.path.exists(absolute):
                raise InvalidArgument(f"Cannot locate Dockerfile: {absolute}")
            root = os.path.realpath(os.fspath(path))
            real = os.path.realpath(absolute)
            inside = os.path.relpath(real, root)
            return BuildContext.from_directory(path, dockerfile=real if inside.startswith("..") else inside)
        return BuildContext.from_directory(path)

    def open_stream(self, stream: BinaryIO, dockerfile: str = "Dockerfile") -> BuildContext:
        """A context from a stream: a tar (compressed or not), or a Dockerfile alone (``docker build - <
        Dockerfile``), which then is the whole context."""
        from dockyard.build.context import BuildContext

        head = _peek(stream, 512)
        if head.data and not _looks_like_archive(head.data):
            temp = self.engine.settings.layout.tmp
            temp.mkdir(parents=True, exist_ok=True)
            import tempfile

            root = tempfile.mkdtemp(prefix="dockyard-context-", dir=temp)
            target = Path(root) / "Dockerfile"
            with open(target, "wb") as out:
                out.write(head.data)
                while chunk := stream.read(1 << 20):
                    out.write(chunk)
            return BuildContext(root, dockerfile="Dockerfile", owned=True)
        temp = self.engine.settings.layout.tmp
        temp.mkdir(parents=True, exist_ok=True)
        return BuildContext.from_tar(head, dockerfile=dockerfile or "Dockerfile", temp_dir=temp)  # type: ignore[arg-type]

    # -- build ------------------------------------------------------------------------------------------------
    def prepare(self, context: BuildContext, options: BuildOptions, *, context_id: str = "") -> PreparedBuild:
        """Read and parse the Dockerfile, check the tags and the target: errors here are the caller's 400."""
        from dockyard.build.dockerfile import parse_dockerfile
        from dockyard.build.executor import parse_tags

        data = context.read_dockerfile()
        dockerfile = parse_dockerfile(data, filename=os.path.basename(context.dockerfile) or "Dockerfile")
        parse_tags(options.tags)
        dockerfile.target_stage(options.target)
        return PreparedBuild(context, dockerfile, options, context_id or context.root)

    def run(self, prepared: PreparedBuild, sink: Sink) -> BuildResult:
        from dockyard.build.executor import Executor

        executor = Executor(_Host(self.engine), prepared.options, sink, context_id=prepared.context_id)
        return executor.build(prepared.context, prepared.dockerfile)

    def build(self, context: BuildContext, options: BuildOptions, sink: Sink, *, context_id: str = "") -> BuildResult:
        prepared = self.prepare(context, options, context_id=context_id)
        return self.run(prepared, sink)

    # -- cache ------------------------------------------------------------------------------------------------
    def cache_entries(self) -> builtins.list[CacheEntry]:
        from dockyard.build.cache import BuildCache

        return BuildCache(self.engine.store.db).entries()

    def prune(self, options: BuildPruneOptions | None = None) -> BuildPruneReport:
        """Drop cache entries (all of them with ``all``; else those whose image no tagged image is built on), then
        the intermediate images only those entries kept, then unreferenced layers and blobs."""
        from dockyard.build.cache import BuildCache
        from dockyard.oci.digest import Digest

        options = options or BuildPruneOptions()
        store = self.engine.store
        cache = BuildCache(store.db)
        before = store.gc().bytes_freed
        entries = cache.entries()
        kept_by_images = set() if options.all else self._tagged_chains()
        doomed = [
            e
            for e in entries
            if e.image_id not in kept_by_images and (options.until is None or e.last_used < options.until)
        ]
        cache.delete(e.key for e in doomed)
        remaining = cache.images()
        candidates = {e.image_id for e in doomed} - remaining
        deleted_images: list[str] = []
        changed = True
        while changed:
            changed = False
            for image_id in sorted(candidates):
                record = store.images.get(Digest.parse(image_id))
                if record is None:
                    candidates.discard(image_id)
                    continue
                if record.tags or record.digests or store.images.children(record.id) or image_id in remaining:
                    candidates.discard(image_id)
                    continue
                if self.engine.images.users(record.id):
                    candidates.discard(image_id)
                    continue
                store.images.delete(record.id)
                deleted_images.append(image_id)
                candidates.discard(image_id)
                if record.parent is not None and str(record.parent) not in remaining:
                    candidates.add(str(record.parent))
                changed = True
        freed = store.gc().bytes_freed
        return BuildPruneReport(tuple(e.key for e in doomed), tuple(deleted_images), before + freed)

    def _tagged_chains(self) -> set[str]:
        """Images that tagged images are built on (their parent chains, themselves included)."""
        store = self.engine.store
        out: set[str] = set()
        records = {str(r.id): r for r in store.images.all()}
        for r in records.values():
            if not (r.tags or r.digests):
                continue
            current: ImageRecord | None = r
            while current is not None and str(current.id) not in out:
                out.add(str(current.id))
                current = records.get(str(current.parent)) if current.parent else None
        return out


@dataclass
class _Peeked:
    data: bytes
    stream: BinaryIO

    def read(self, size: int = -1) -> bytes:
        if self.data:
            if size is None or size < 0:
                data, self.data = self.data + self.stream.read(), b""
                return data
            data, self.data = self.data[:size], self.data[size:]
            if len(data) < size:
                data += self.stream.read(size - len(data))
            return data
        return self.stream.read(size)


def _peek(stream: BinaryIO, size: int) -> _Peeked:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return _Peeked(data, stream)


def _looks_like_archive(head: bytes) -> bool:
    from dockyard.store.unpack import detect_compression

    if detect_compression(head):
        return True
    if len(head) >= 262 and head[257:262] == b"ustar":
        return True
    if len(head) >= 512:
        import tarfile

        try:
            tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape")
            return True
        except Exception:
            return False
    return False
