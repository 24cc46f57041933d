"""Instructions grouped into stages: the whole frontend in one call, ``parse_dockerfile(data, filename)``.

It returns a :class:`Dockerfile` with the ARGs before the first FROM (``meta_args``) and the stages, like BuildKit's
``instructions.Parse``; errors are :class:`DockerfileError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .convert import parse_instruction
from .errors import DockerfileError, go_quote
from .instructions import ArgInstruction, FromInstruction, Instruction
from .parser import Directive, ParseWarning, parse

__all__ = ["Dockerfile", "Stage", "parse_dockerfile", "parse_trigger"]


@dataclass(frozen=True)
class Stage:
    """One build stage: ``FROM base [AS name]`` and the instructions up to the next FROM."""

    index: int
    name: str
    base_name: str
    platform: str
    from_instruction: FromInstruction
    instructions: tuple[Instruction, ...]
    comment: str = ""


@dataclass(frozen=True)
class Dockerfile:
    filename: str
    escape_token: str
    meta_args: tuple[ArgInstruction, ...]
    stages: tuple[Stage, ...]
    directives: tuple[Directive, ...] = ()
    warnings: tuple[ParseWarning, ...] = ()

    def stage(self, name: str) -> Stage | None:
        """The stage named ``name`` (names are case-insensitive), or None."""
        lowered = name.lower()
        for stage in self.stages:
            if stage.name and stage.name == lowered:
                return stage
        return None

    def resolve_stage(self, name_or_index: str) -> Stage | None:
        """What ``COPY --from=`` / ``RUN --mount=from=`` refers to: a stage by index or name, else None (an
        image reference). An index out of range raises ``invalid stage index N``."""
        if re.fullmatch(r"[+-]?[0-9]+", name_or_index):
            index = int(name_or_index)
            if index.bit_length() < 64:
                if index < 0 or index >= len(self.stages):
                    raise DockerfileError(f"invalid stage index {index}", filename=self.filename, parse_error=False)
                return self.stages[index]
        return self.stage(name_or_index)

    def target_stage(self, target: str = "") -> Stage:
        """The stage ``--target`` names (the last one by default)."""
        if not target:
            return self.stages[-1]
        stage = self.stage(target)
        if stage is None:
            raise DockerfileError(
                f"target stage {go_quote(target)} could not be found", filename=self.filename, parse_error=False
            )
        return stage


def parse_dockerfile(data: bytes | str, filename: str = "Dockerfile") -> Dockerfile:
    """Parse and type a whole Dockerfile into meta ARGs and stages."""
    if len(data) == 0:
        raise DockerfileError("the Dockerfile cannot be empty", filename=filename, parse_error=False)
    result = parse(data, filename)
    meta_args: list[ArgInstruction] = []
    stages: list[tuple[FromInstruction, list[Instruction]]] = []
    for node in result.nodes:
        instr = parse_instruction(node, filename)
        if isinstance(instr, FromInstruction):
            stages.append((instr, []))
        elif not stages and isinstance(instr, ArgInstruction):
            meta_args.append(instr)
        elif not stages:
            raise DockerfileError(
                "no build stage in current context",
                filename=filename,
                line=node.start_line,
                end_line=node.end_line,
                parse_error=False,
            )
        else:
            stages[-1][1].append(instr)
    if not stages:
        raise DockerfileError("dockerfile contains no stages to build", filename=filename, parse_error=False)
    warnings = list(result.warnings)
    seen: set[str] = set()
    for frm, _ in stages:
        if frm.stage_name and frm.stage_name in seen:
            warnings.append(
                ParseWarning(
                    short=f"Duplicate stage name {go_quote(frm.stage_name)}, stage names should be unique",
                    detail="Stage names should be unique",
                    url="https://docs.docker.com/go/dockerfile/rule/duplicate-stage-name/",
                    line=frm.start_line,
                )
            )
        seen.add(frm.stage_name)
    return Dockerfile(
        filename=filename,
        escape_token=result.escape_token,
        meta_args=tuple(meta_args),
        stages=tuple(
            Stage(
                index=i,
                name=frm.stage_name,
                base_name=frm.base_name,
                platform=frm.platform,
                from_instruction=frm,
                instructions=tuple(body),
                comment=frm.comment,
            )
            for i, (frm, body) in enumerate(stages)
        ),
        directives=result.directives,
        warnings=tuple(warnings),
    )


def parse_trigger(expression: str, escape_token: str = "\\", filename: str = "Dockerfile") -> Instruction:
    """Parse an ONBUILD trigger expression (stored in an image config) into one instruction."""
    prefix = f"# escape={escape_token}\n" if escape_token != "\\" else ""
    result = parse(prefix + expression, filename)
    return parse_instruction(result.nodes[0], filename)
