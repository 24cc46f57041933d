"""The build executor: a parsed Dockerfile and a context in, an image out, with the classic builder's output.

For every stage up to the target: FROM (a previous stage, ``scratch``, a local image, or a pull; the base's
ONBUILD triggers run first), then each instruction. Every step is looked up in the cache first
(:mod:`dockyard.build.cache`) and, on a hit, prints `` ---> Using cache``; otherwise it runs (metadata steps change
the config: :mod:`dockyard.build.metasteps`; WORKDIR/COPY/ADD/RUN produce a layer from an overlay upper directory:
:mod:`dockyard.build.steps`) and is committed as an intermediate image. The first miss of a build gets a line
saying why (``cache miss at step 4/7 (COPY . /app): app.py changed (content)``). Tags move only once the whole
build succeeded.

I/O beyond the store goes through :class:`BuildHost` (images, pulls, networks), implemented by the engine.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockyard.build.buildargs import BuildArgs
from dockyard.build.cache import BuildCache, CacheInputs, SourceFile
from dockyard.build.context import BuildContext
from dockyard.build.dockerfile import (
    ArgInstruction,
    Dockerfile,
    DockerfileError,
    Instruction,
    KeyValue,
    LabelInstruction,
    Stage,
    expand_instruction,
    parse_trigger,
)
from dockyard.build.dockerfile.shell import ShellLexer
from dockyard.build.explain import explain_miss
from dockyard.build.imageconfig import DEFAULT_SHELL
from dockyard.build.images import ImageState, image_by_id, load_image, scratch_image
from dockyard.build.metasteps import metadata_step
from dockyard.build.options import BuildError, BuildOptions, BuildResult, BuildStepError, BuildTrace, CacheMiss
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.reference import Reference, parse_reference
from dockyard.registry.progress import BuildAux, BuildOutput, ProgressEvent
from dockyard.store.images import ImageRecord

if TYPE_CHECKING:
    from dockyard.build.seams import NetworkSeam
    from dockyard.settings import Settings
    from dockyard.store import Store
    from dockyard.store.leases import Lease

__all__ = ["BuildHost", "Executor", "StageState", "parse_tags"]

log = logging.getLogger(__name__)

Sink = Callable[[ProgressEvent], None]


class BuildHost(Protocol):
    """What the executor needs from the engine."""

    @property
    def store(self) -> Store: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def network(self) -> NetworkSeam: ...

    def find_image(self, name: str) -> ImageRecord | None:
        """The local image ``name`` refers to, or None."""

    def pull_image(self, name: str, sink: Sink) -> ImageRecord:
        """Pull ``name``, reporting progress; Docker's "pull access denied" wording when it cannot be had."""


@dataclass
class StageState:
    index: int
    name: str
    base_name: str
    image: ImageState
    args: BuildArgs
    cmd_set: bool = False
    busted: bool = False  # a step of this stage missed the cache: the rest will too
    steps_done: int = 0  # instructions of this stage run so far (to know the first one)


@dataclass
class _Counters:
    step: int = 0
    total: int = 0
    cached: int = 0
    hits: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    traced_hits: list[tuple[str, str, str]] = field(default_factory=list)  # (key, image ID, origin)
    images: list[tuple[str, str]] = field(default_factory=list)  # (name, image ID) resolved from the store
    pulled: bool = False
    unverifiable: list[str] = field(default_factory=list)  # inputs a "nothing changed" record cannot check


def parse_tags(tags: tuple[str, ...]) -> tuple[Reference, ...]:
    """``-t`` values as references with a tag (Docker: ``invalid reference format``; no digests)."""
    out: list[Reference] = []
    for tag in tags:
        if not tag:
            continue
        ref = parse_reference(tag)
        if ref.digest is not None:
            raise InvalidArgument("build tag cannot contain a digest")
        ref = ref.with_default_tag()
        if ref not in out:
            out.append(ref)
    return tuple(out)


class Executor:
    def __init__(self, host: BuildHost, options: BuildOptions, sink: Sink, *, context_id: str = "") -> None:
        self.host = host
        self.store = host.store
        self.options = options
        self.sink = sink
        self.context_id = context_id
        self.cache = BuildCache(self.store.db)
        self.counters = _Counters()
        self.first_miss: CacheMiss | None = None
        self.stage_results: dict[int, ImageState] = {}
        self.warnings: list[str] = []
        self.lease: Lease | None = None
        self.workdir: Path | None = None
        self.dockerfile: Dockerfile | None = None
        self.context: BuildContext | None = None
        self.host_ca = options.host_ca if options.host_ca is not None else host.settings.host_ca

    # -- output -----------------------------------------------------------------------------------------------
    def out(self, text: str) -> None:
        if not self.options.quiet:
            self.sink(BuildOutput(text))

    def _step_line(self, source: str) -> None:
        self.counters.step += 1
        self.out(f"Step {self.counters.step}/{self.counters.total} : {source}")
        self.out("\n")

    @property
    def filename(self) -> str:
        return self.dockerfile.filename if self.dockerfile is not None else "Dockerfile"

    def step_error(self, exc: DockyardError, line: int) -> BuildStepError:
        if isinstance(exc, BuildStepError):
            return exc
        if isinstance(exc, DockerfileError):
            return BuildStepError(exc.detail, filename=exc.filename, line=exc.line or line, hint=exc.hint)
        code = getattr(exc, "code", None)
        return BuildStepError(exc.message, filename=self.filename, line=line, hint=exc.hint, code=code)

    # -- the build --------------------------------------------------------------------------------------------
    def build(self, context: BuildContext, dockerfile: Dockerfile) -> BuildResult:
        self.dockerfile = dockerfile
        self.context = context
        tags = parse_tags(self.options.tags)
        target = dockerfile.target_stage(self.options.target)
        stages = dockerfile.stages[: target.index + 1]
        labels = self._label_instruction()
        self.counters.total = len(dockerfile.meta_args) + sum(1 + len(s.instructions) for s in stages)
        self.counters.total += 1 if labels is not None else 0
        args = BuildArgs(self.options.build_args)
        layout = self.store.layout
        from dockyard.build.cleanup import cleanup_stale

        cleanup_stale(self.store, self.host.network)
        self.workdir = layout.tmp / f"build-{os.getpid()}-{os.urandom(4).hex()}"
        self.workdir.mkdir(parents=True)
        try:
            for meta in dockerfile.meta_args:
                self._step_line(meta.source)
                self._meta_arg(meta, args, dockerfile.escape_token)
            state: StageState | None = None
            for stage in stages:
                state = self._stage(stage, args.clone(), labels if stage is stages[-1] else None)
                if state.image.image_id:
                    self.sink(BuildAux(state.image.image_id))
                args.merge_referenced(state.args)
                self.stage_results[stage.index] = state.image
            assert state is not None
            if not state.image.image_id:
                raise BuildError("No image was generated. Is your Dockerfile empty?")
            unused = args.unused()
            if unused:
                warning = f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed"
                self.warnings.append(warning)
                self.out(warning + "\n")
            image_id = Digest.parse(state.image.image_id)
            for ref in tags:
                self.store.images.tag(ref, image_id)
            self.out(f"Successfully built {state.image.short_id}\n")
            for ref in tags:
                self.out(f"Successfully tagged {ref.familiar}\n")
            return BuildResult(
                image_id=image_id,
                tags=tags,
                steps=self.counters.total,
                cached_steps=self.counters.cached,
                first_miss=self.first_miss,
                warnings=tuple(self.warnings),
                trace=BuildTrace(
                    images=tuple(self.counters.images),
                    hits=tuple(self.counters.traced_hits),
                    pulled=self.counters.pulled,
                    unverifiable=tuple(self.counters.unverifiable),
                ),
            )
        finally:
            try:
                self.cache.touch(self.counters.hits, self.counters.origins)
            except Exception as exc:  # the build's own outcome matters more
                log.warning("build cache: could not record use: %s", exc)
            if self.lease is not None:
                self.lease.release()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _label_instruction(self) -> LabelInstruction | None:
        if not self.options.labels:
            return None
        items = sorted(self.options.labels.items())
        source = "LABEL " + " ".join(f"\"{k}\"='{v}'" for k, v in items)
        return LabelInstruction(source=source, start_line=0, end_line=0, labels=tuple(KeyValue(k, v) for k, v in items))

    def _meta_arg(self, meta: ArgInstruction, args: BuildArgs, escape: str) -> None:
        try:
            expanded, _ = expand_instruction(meta, args.all_allowed(), escape)
        except DockyardError as exc:
            raise self.step_error(exc, meta.start_line) from None
        for spec in expanded.args:
            args.add(spec.key, spec.default)
            args.add_meta(spec.key, spec.default)

    # -- stages -----------------------------------------------------------------------------------------------
    def _stage(self, stage: Stage, args: BuildArgs, labels: LabelInstruction | None) -> StageState:
        assert self.dockerfile is not None
        frm = stage.from_instruction
        self._step_line(frm.source)
        lexer = ShellLexer(self.dockerfile.escape_token)
        meta = args.all_meta()
        try:
            base = lexer.process_word(stage.base_name, meta)
            platform = lexer.process_word(stage.platform, meta) if stage.platform else self.options.platform
        except DockyardError as exc:
            raise self.step_error(exc, frm.start_line) from None
        if not base:
            raise BuildStepError(
                f"base name ({stage.base_name}) should not be blank", filename=self.filename, line=frm.start_line
            )
        args.reset()
        image = self._base_image(base, platform, frm.start_line)
        state = StageState(stage.index, stage.name, base, image, args)
        triggers = image.config.config.on_build
        if triggers:
            state.image = replace(image, config=replace(image.config, config=replace(image.config.config, on_build=())))
            self.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            for n, expression in enumerate(triggers):
                try:
                    instr = parse_trigger(expression, self.dockerfile.escape_token, self.filename)
                except DockyardError as exc:
                    raise self.step_error(exc, frm.start_line) from None
                instr = replace(instr, start_line=frm.start_line, end_line=frm.end_line)
                self._dispatch(state, instr, origin=f"onbuild{n}")
        self.out(f" ---> {state.image.short_id}\n")
        instructions = list(stage.instructions)
        if labels is not None:
            instructions.append(labels)
        for n, instr in enumerate(instructions):
            self._step_line(instr.source)
            self._dispatch(state, instr, origin=str(n), expand=instr is not labels)
            self.out(f" ---> {state.image.short_id}\n")
        return state

    def _base_image(self, name: str, platform: str, line: int) -> ImageState:
        assert self.dockerfile is not None
        if name.lower() == "scratch":
            return scratch_image(platform)
        stage = self.dockerfile.stage(name)
        if stage is not None and stage.index in self.stage_results:
            return self.stage_results[stage.index]
        return self.image_for(name, line, pull=self.options.pull)

    def image_for(self, name: str, line: int, *, pull: bool = False) -> ImageState:
        """A local image (pulled when missing, or always with ``--pull``)."""
        try:
            record = None if pull else self.host.find_image(name)
            if record is None:
                self.counters.pulled = True
                record = self.host.pull_image(name, self.sink)
            else:
                self.counters.images.append((name, str(record.id)))
            return load_image(self.store, record)
        except DockyardError as exc:
            raise self.step_error(exc, line) from None

    # -- steps ------------------------------------------------------------------------------------------------
    def origin(self, state: StageState, origin: str) -> str:
        return "\0".join([self.context_id, self.filename, str(state.index), origin])

    def env(self, state: StageState) -> dict[str, str]:
        """What instructions are expanded with: the config's ENV, then the build args ENV does not override."""
        config_env = state.image.config.config.env
        env = dict(e.partition("=")[::2] for e in config_env)
        for k, v in state.args.filter_allowed(config_env).items():
            env.setdefault(k, v)
        return env

    def shell(self, state: StageState) -> tuple[str, ...]:
        return tuple(state.image.config.config.shell or DEFAULT_SHELL)

    def _dispatch(self, state: StageState, instr: Instruction, *, origin: str, expand: bool = True) -> None:
        assert self.dockerfile is not None
        try:
            if expand:
                instr, _ = expand_instruction(instr, self.env(state), self.dockerfile.escape_token)
            from dockyard.build import steps

            handler = steps.HANDLERS.get(type(instr))
            if handler is not None:
                handler(self, state, instr, self.origin(state, origin))
            else:
                metadata_step(self, state, instr, self.origin(state, origin))
        except DockyardError as exc:
            raise self.step_error(exc, instr.start_line) from None
        finally:
            state.steps_done += 1

    @property
    def _lease(self) -> Lease:
        """The build's lease, taken when the first step has work to do (a fully cached build writes nothing)."""
        if self.lease is None:
            self.lease = self.store.lease()
        return self.lease

    # -- the cache around a step ------------------------------------------------------------------------------
    def execute(
        self,
        state: StageState,
        inputs: CacheInputs,
        origin: str,
        run: Callable[[], ImageState],
        *,
        manifest: Callable[[], tuple[SourceFile, ...]] | None = None,
    ) -> None:
        """Take the step's image from the cache, or run it and record the result (``manifest`` gives the file list
        behind the step's sources checksum, wanted only on a miss)."""
        cached = self.probe(state, inputs, origin)
        if cached is not None:
            state.image = cached
            return
        files = manifest() if manifest is not None else None
        self.miss(state, inputs, origin, files)
        if state.image.top_layer is not None:  # the layers this step builds on must outlive a concurrent prune
            from dockyard.store.leases import LeaseKind

            self._lease.add(LeaseKind.LAYER, str(state.image.top_layer))
        image = run()
        state.image = image
        try:
            self.cache.record(inputs, image.image_id, origin, files)
        except Exception as exc:
            log.warning("build cache: could not record step: %s", exc)

    def probe(self, state: StageState, inputs: CacheInputs, origin: str) -> ImageState | None:
        if self.options.no_cache or state.busted:
            return None
        key = inputs.key
        entry = self.cache.get(key)
        if entry is None:
            return None
        image = image_by_id(self.store, entry.image_id)
        if image is None:
            return None
        self.counters.cached += 1
        self.counters.hits.append(key)
        self.counters.traced_hits.append((key, entry.image_id, origin))
        if entry.origin != origin:
            self.counters.origins[key] = origin
        self.out(" ---> Using cache\n")
        if self.options.explain_cache:
            self.out(f" ---> cache hit: {key.removeprefix('sha256:')[:12]}\n")
        return image

    def miss(
        self, state: StageState, inputs: CacheInputs, origin: str, manifest: tuple[SourceFile, ...] | None
    ) -> None:
        first_of_build = self.first_miss is None and not self.options.no_cache
        follows = state.busted
        state.busted = True
        if self.options.no_cache or (follows and not self.options.explain_cache):
            return
        if follows:
            self.out(" ---> cache miss: an earlier step of this stage was rebuilt\n")
            return
        previous = self.cache.previous(origin)
        reasons = explain_miss(
            inputs,
            previous,
            manifest_of=self.cache.manifest,
            current_manifest=manifest,
            base_name=state.base_name if state.steps_done == 0 else "",
            image_exists=lambda i: image_by_id(self.store, i) is not None,
            limit=0 if self.options.explain_cache else 5,
        )
        miss = CacheMiss(self.counters.step, self.counters.total, inputs.display, tuple(reasons))
        if first_of_build:
            self.first_miss = miss
        if previous is None and not self.options.explain_cache:
            return  # a step built for the first time: nothing to explain
        self.out(miss.text + "\n")
