"""The steps that change the filesystem: RUN (a container), COPY and ADD (files), WORKDIR (a directory).

Each one computes its cache inputs first (for COPY/ADD: a checksum of what the sources select), lets the executor
probe the cache, and only on a miss mounts a root filesystem for the step, does the work, turns the overlay upper
directory into a layer (:func:`dockyard.build.layertar.commit_upper`) and commits the step's image.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockyard.build import history as hist
from dockyard.build.cache import CacheInputs, SourceFile
from dockyard.build.context import BuildContext, EntryKind, SourceMatch, check_destination, is_remote_source
from dockyard.build.copier import normalize_dest, parse_chmod
from dockyard.build.dockerfile import (
    AddInstruction,
    CopyInstruction,
    IgnoreMatcher,
    Instruction,
    RunInstruction,
    ShellLexer,
    WorkdirInstruction,
)
from dockyard.build.imageconfig import apply_metadata
from dockyard.build.images import ImageState, commit_step
from dockyard.build.metasteps import config_hash
from dockyard.build.options import BuildNetwork, BuildStepError
from dockyard.errors import InvalidArgument
from dockyard.store.leases import LeaseKind

if TYPE_CHECKING:
    from dockyard.build.copier import Copier
    from dockyard.build.executor import Executor, StageState
    from dockyard.build.rootfs import StepRootfs
    from dockyard.oci.image import ImageConfig
    from dockyard.runtime.options import Mount
    from dockyard.runtime.runc import Runc

__all__ = ["HANDLERS"]


def _new_id() -> str:
    return os.urandom(32).hex()  # secrets.token_hex, without importing secrets (~1.5 ms)


def _layer_step(
    ex: Executor,
    state: StageState,
    work: Callable[[StepRootfs], None],
    created_by: str,
    *,
    config: ImageConfig | None = None,
    stubs: tuple[tuple[str, bool], ...] = (),
    key: str = "",
) -> ImageState:
    """Mount a fresh snapshot on the current image, let ``work`` change it, commit the upper dir as a layer
    (with ``config`` as the new image's config, the current one by default)."""
    from dockyard.build.layertar import commit_upper
    from dockyard.build.rootfs import StepRootfs

    key = key or _new_id()
    ex._lease.add(LeaseKind.SNAPSHOT, key)
    rootfs = StepRootfs(ex.store, key, state.image.top_layer, stubs)
    try:
        rootfs.prepare()
        rootfs.mount()
        work(rootfs)
        rootfs.unmount()
        layer = commit_upper(ex.store, ex._lease, rootfs.upper, state.image.top_layer)
        new_config = config if config is not None else state.image.config
        return commit_step(ex.store, ex._lease, state.image, new_config, created_by, layer=layer)
    finally:
        rootfs.release()


# -- RUN --------------------------------------------------------------------------------------------------------
def run_step(ex: Executor, state: StageState, instr: Instruction, origin: str) -> None:
    assert isinstance(instr, RunInstruction)
    if instr.mounts:
        raise InvalidArgument(
            "RUN --mount is not supported by dockyard's builder", hint="use COPY, or a multi-stage build"
        )
    config = state.image.config.config
    shell = ex.shell(state)
    mounts: list[Mount] = []
    script = instr.command.shebang_heredoc
    if script is not None:
        argv: tuple[str, ...] = (f"/dev/pipes/{script.name}",)
    else:
        argv = instr.command.argv(shell)
    if not argv:
        raise InvalidArgument("RUN: no command given")
    build_env = state.args.for_history(config.env)
    shown = instr.command.argv(shell) if script is not None else argv  # history shows the script, not its path
    created_by = hist.run_created_by(shown, build_env)
    network = BuildNetwork.parse(instr.network) if instr.network not in ("", "default") else ex.options.network
    described = hist.run_created_by(shown, ())  # the build args are an input of their own
    if network is not ex.options.network or instr.network not in ("", "default"):
        described += f"\nnetwork={network}"
    inputs = CacheInputs(
        parent=state.image.image_id,
        instruction=described,
        args=tuple(tuple(e.split("=", 1)) for e in build_env),  # type: ignore[misc]
        display=instr.source,
    )

    def run() -> ImageState:
        from dockyard.build.runstep import RunRequest, mount_stubs, run_container
        from dockyard.runtime.options import Mount

        assert ex.workdir is not None
        cid = _new_id()
        bundle = ex.workdir / cid[:16]
        if script is not None:
            path = bundle / "pipes" / script.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(script.content)
            os.chmod(path, 0o755)
            mounts.append(Mount(destination=argv[0], source=str(path), read_only=True))
        env = (*config.env, *(f"{k}={v}" for k, v in state.args.filter_allowed(config.env).items()))
        ex.out(f" ---> Running in {cid[:12]}\n")
        stubs = tuple(s for s in mount_stubs(ex.host_ca, mounts) if not s[0].startswith("/dev/"))

        def work(rootfs: StepRootfs) -> None:
            request = RunRequest(
                container_id=cid,
                rootfs=rootfs.merged,
                argv=argv,
                env=env,
                cwd=config.working_dir or "/",
                user=config.user,
                network=network,
                host_ca=ex.host_ca,
                mounts=tuple(mounts),
                extra_hosts=ex.options.extra_hosts,
            )
            runc = _runc(ex)
            status = run_container(request, bundle, runc, ex.host.network, ex.out)
            if status != 0:
                raise BuildStepError(
                    f"The command '{' '.join(argv)}' returned a non-zero code: {status}",
                    filename=ex.filename,
                    line=instr.start_line,
                    code=status,
                )

        image = _layer_step(ex, state, work, created_by, stubs=stubs, key=cid)
        ex.out(f"Removing intermediate container {cid[:12]}\n")
        return image

    ex.execute(state, inputs, origin, run)


def _runc(ex: Executor) -> Runc:
    from dockyard.runtime.runc import Runc

    return Runc(ex.store.layout.run / "runc", ex.host.settings.runtime or "runc")


# -- WORKDIR ----------------------------------------------------------------------------------------------------
def workdir_step(ex: Executor, state: StageState, instr: Instruction, origin: str) -> None:
    assert isinstance(instr, WorkdirInstruction)
    new_config = apply_metadata(state.image.config, instr)
    path = new_config.config.working_dir or "/"
    created_by = hist.nop_single(ex.shell(state), f"WORKDIR {path}")
    inputs = CacheInputs(
        parent=state.image.image_id,
        instruction=created_by,
        extra=(("config", config_hash(new_config)),),
        display=instr.source,
        scope=tuple(sorted(state.args.all_allowed().items())),
    )

    def run() -> ImageState:
        from dockyard.build.copier import Copier
        from dockyard.build.rootfs import image_stat

        layers = [layer.path for layer in ex.store.layers.chain(state.image.top_layer)]
        if path == "/" or image_stat(layers, path) is not None:
            return commit_step(ex.store, ex._lease, state.image, new_config, created_by)

        def work(rootfs: StepRootfs) -> None:
            Copier(str(rootfs.merged))._makedirs(path)

        return _layer_step(ex, state, work, created_by, config=new_config)

    ex.execute(state, inputs, origin, run)


# -- COPY / ADD -------------------------------------------------------------------------------------------------
def _manifest(ctx: BuildContext, matches: tuple[SourceMatch, ...]) -> tuple[SourceFile, ...]:
    files = sorted({e.path for m in matches for e in m.entries if e.kind is EntryKind.FILE})
    digests = ctx.file_digests(files)
    out: dict[str, SourceFile] = {}
    for m in matches:
        for e in m.entries:
            content = digests.get(e.path, "") if e.kind is EntryKind.FILE else e.link_target
            out[e.path] = SourceFile(e.path, str(e.kind), e.mode, e.uid, e.gid, content)
    return tuple(out[p] for p in sorted(out))


def _source_hash(ctx: BuildContext, m: SourceMatch) -> str:
    prefix = "dir" if m.kind is EntryKind.DIR else "file"
    return f"{prefix}:{ctx.checksum([m]).removeprefix('sha256:')}"


def copy_step(ex: Executor, state: StageState, instr: Instruction, origin: str) -> None:
    assert isinstance(instr, CopyInstruction | AddInstruction)
    assert ex.context is not None and ex.dockerfile is not None
    kind = "ADD" if isinstance(instr, AddInstruction) else "COPY"
    config = state.image.config.config
    dest = normalize_dest(config.working_dir, instr.dest)
    chmod = parse_chmod(instr.chmod)
    from_ = instr.from_ if isinstance(instr, CopyInstruction) else ""
    env = ex.env(state)
    contents = []
    for c in instr.contents:
        data = (
            ShellLexer(ex.dockerfile.escape_token, skip_process_quotes=True).process_word(c.data, env)
            if c.expand
            else c.data
        )
        contents.append((c.path, data))
    remote = [s for s in instr.sources if is_remote_source(s)] if kind == "ADD" else []
    local = [s for s in instr.sources if s not in remote]
    if len(instr.sources) + len(contents) > 1 and not dest.endswith("/"):
        raise InvalidArgument(
            f"When using {kind} with more than one source file, the destination must be a directory and end with a /"
        )
    hashes: list[str] = []
    key_parts: list[str] = []
    matches: tuple[SourceMatch, ...] = ()
    source_image: ImageState | None = None
    if from_:
        source_image = _from_image(ex, state, from_, instr.start_line)
        key_parts.append(f"image:{source_image.image_id}")
        hashes.append(f"image:{source_image.image_id.removeprefix('sha256:')}")
    elif local:
        matches = ex.context.resolve(local, instruction=kind)
        check_destination(kind, matches, dest)
        key_parts.append(ex.context.checksum(matches))
    downloads = []
    if remote:
        from dockyard.build.remote import RemoteCache

        ex.counters.unverifiable.append(f"{kind} from a URL")
        for url in remote:
            if url.lower().startswith(("git://", "git@", "github.com/", "ssh://")) or url.lower().endswith(".git"):
                raise InvalidArgument(f"ADD failed: {url}: git sources are not supported by dockyard's builder")
            d = RemoteCache(ex.store.layout.cache / "build-remote").fetch(url)
            downloads.append(d)
            key_parts.append(f"url:{url}:{d.digest}")
            hashes.append(f"file:{d.digest.removeprefix('sha256:')}")
    for name, data in contents:
        digest = hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()
        key_parts.append(f"content:{name}:{digest}")
        hashes.append(f"file:{digest}")
    sources_key = "sha256:" + hashlib.sha256("\n".join(key_parts).encode()).hexdigest()
    context = ex.context
    manifest = (lambda: _manifest(context, matches)) if matches else None  # only a miss needs the file list
    described = json.dumps(
        {
            "kind": kind,
            "sources": list(instr.sources),
            "contents": [n for n, _ in contents],
            "dest": dest,
            "chown": instr.chown,
            "chmod": instr.chmod,
            "from": from_,
        },
        sort_keys=True,
    )
    inputs = CacheInputs(
        parent=state.image.image_id,
        instruction=described,
        sources=sources_key,
        display=instr.source,
        manifest=sources_key if manifest is not None else "",
        scope=tuple(sorted(state.args.all_allowed().items())),
    )

    def run() -> ImageState:
        from dockyard.build.copier import Copier, parse_chown

        assert ex.context is not None and ex.workdir is not None
        all_hashes = [*(_source_hash(ex.context, m) for m in matches), *hashes]
        created_by = hist.nop_single(
            ex.shell(state), hist.copy_comment(kind, instr.chown, hist.source_hash(all_hashes), dest)
        )

        def work(rootfs: StepRootfs) -> None:
            merged = str(rootfs.merged)
            owner = parse_chown(instr.chown, merged) if instr.chown else None
            copier = Copier(merged, owner, chmod)
            for m in matches:
                copier.copy_match(ex.context.root, m, dest, decompress=kind == "ADD")  # type: ignore[union-attr]
            for d in downloads:
                name = d.filename or "__unnamed__"
                target = copier.file_target(dest, name)
                copier.copy_file(str(d.path), target, mode=0o600)
                if d.mtime is not None:
                    os.utime(copier.host(target), (d.mtime, d.mtime))
            for name, data in contents:
                copier.write_file(data.encode("utf-8", "surrogateescape"), copier.file_target(dest, name))
            if source_image is not None:
                _copy_from_image(ex, source_image, instr, copier, dest)

        return _layer_step(ex, state, work, created_by)

    ex.execute(state, inputs, origin, run, manifest=manifest)


def _from_image(ex: Executor, state: StageState, from_: str, line: int) -> ImageState:
    assert ex.dockerfile is not None
    stage = ex.dockerfile.resolve_stage(from_)
    if stage is not None:
        if stage.index >= state.index:
            raise InvalidArgument(f"invalid from flag value {from_}: circular dependency detected on stage: {from_}")
        image = ex.stage_results.get(stage.index)
        if image is None:
            raise InvalidArgument(f"invalid from flag value {from_}: stage {from_} was not built")
        return image
    try:
        return ex.image_for(from_, line)
    except BuildStepError as exc:
        raise BuildStepError(
            f"invalid from flag value {from_}: {exc.detail}", filename=exc.filename, line=line
        ) from None


def _copy_from_image(ex: Executor, image: ImageState, instr: Instruction, copier: Copier, dest: str) -> None:
    from dockyard.build.rootfs import ImageView

    assert ex.workdir is not None and isinstance(instr, CopyInstruction)
    view_dir = ex.workdir / f"from-{os.urandom(4).hex()}"
    with ImageView(ex.store, image.top_layer, view_dir) as root:
        src = BuildContext(root, dockerfile=".dockyard-none")
        src.ignore = IgnoreMatcher(())
        found = src.resolve(instr.sources, instruction="COPY")
        check_destination("COPY", found, dest)
        for m in found:
            copier.copy_match(src.root, m, dest)


def add_step(ex: Executor, state: StageState, instr: Instruction, origin: str) -> None:
    copy_step(ex, state, instr, origin)


HANDLERS: dict[type, Callable[[Executor, StageState, Instruction, str], None]] = {
    RunInstruction: run_step,
    CopyInstruction: copy_step,
    AddInstruction: add_step,
    WorkdirInstruction: workdir_step,
}
