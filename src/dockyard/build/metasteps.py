"""The steps that change only the image's config: ARG, ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, USER, VOLUME,
STOPSIGNAL, HEALTHCHECK, ONBUILD, SHELL, MAINTAINER (those of :mod:`dockyard.build.steps` change the filesystem).

Each one applies the instruction to the config (:func:`dockyard.build.imageconfig.apply_metadata`), is looked up in
the cache by its parent, its ``#(nop)`` history line (worded as Docker's classic builder words it) and a hash of the
new config, and on a miss is committed as an image with no new layer.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from dockyard.build import history as hist
from dockyard.build.cache import CacheInputs
from dockyard.build.dockerfile import (
    ArgInstruction,
    CmdInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    Instruction,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    ShellInstruction,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
)
from dockyard.build.imageconfig import apply_metadata
from dockyard.build.images import commit_step
from dockyard.oci.image import ImageConfig

if TYPE_CHECKING:
    from dockyard.build.executor import Executor, StageState

__all__ = ["config_hash", "metadata_step"]


def config_hash(config: ImageConfig) -> str:
    """The cache's view of a step's resulting config (``extra=(("config", ...),)``)."""
    return hashlib.sha256(json.dumps(config.config.to_json(), sort_keys=True).encode()).hexdigest()


def metadata_step(ex: Executor, state: StageState, instr: Instruction, origin: str) -> None:
    """Apply ``instr`` to the stage's config: from the cache, or committed as a step without a layer."""
    config = state.image.config
    shell = ex.shell(state)
    if isinstance(instr, ArgInstruction):
        parts = []
        for spec in instr.args:
            state.args.add(spec.key, spec.default)
            parts.append(spec.key if spec.default is None else f"{spec.key}={spec.default}")
        comment = "ARG " + " ".join(parts)
        new = config
    else:
        if isinstance(instr, StopSignalInstruction):
            from dockyard.runtime.runtime import parse_signal

            parse_signal(instr.signal)
        new = apply_metadata(config, instr, cmd_inherited=not state.cmd_set)
        if isinstance(instr, ShellInstruction):
            shell = instr.shell
        comment = _comment(instr, new)
    if isinstance(instr, CmdInstruction) and instr.command.args:
        state.cmd_set = True
    created_by = hist.nop(shell, comment)
    inputs = CacheInputs(
        parent=state.image.image_id,
        instruction=created_by,
        extra=(("config", config_hash(new)),),
        display=instr.source,
        scope=tuple(sorted(state.args.all_allowed().items())),
    )
    ex.execute(state, inputs, origin, lambda: commit_step(ex.store, ex._lease, state.image, new, created_by))


def _comment(instr: Instruction, new: ImageConfig) -> str:
    """The instruction as Docker's history comment words it (from the resulting config where Docker does)."""
    cfg = new.config
    if isinstance(instr, EnvInstruction):
        return "ENV " + " ".join(f"{kv.key}={kv.value}" for kv in instr.env)
    if isinstance(instr, LabelInstruction):
        return "LABEL " + " ".join(f"{kv.key}={kv.value}" for kv in instr.labels)
    if isinstance(instr, ExposeInstruction):
        return "EXPOSE " + " ".join(instr.ports)
    if isinstance(instr, CmdInstruction):
        return "CMD " + hist.go_quote_slice(cfg.cmd or ())
    if isinstance(instr, EntrypointInstruction):
        return "ENTRYPOINT " + hist.go_quote_slice(cfg.entrypoint or ())
    if isinstance(instr, UserInstruction):
        return f"USER {instr.user}"
    if isinstance(instr, VolumeInstruction):
        return "VOLUME " + hist.go_value_slice(instr.volumes)
    if isinstance(instr, StopSignalInstruction):
        return f"STOPSIGNAL {instr.signal}"
    if isinstance(instr, HealthcheckInstruction):
        h = cfg.healthcheck
        assert h is not None
        return (
            f"HEALTHCHECK &{{{hist.go_quote_slice(h.test)} "
            + " ".join(hist.go_quote(hist.go_duration(d)) for d in (h.interval, h.timeout, h.start_period))
            + f" {hist.go_rune_quote(h.retries)}}}"
        )
    if isinstance(instr, OnbuildInstruction):
        return f"ONBUILD {instr.expression}"
    if isinstance(instr, ShellInstruction):
        return "SHELL " + hist.go_value_slice(instr.shell)
    if isinstance(instr, MaintainerInstruction):
        return f"MAINTAINER {instr.maintainer}"
    return instr.source
