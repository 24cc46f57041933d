"""Typed Dockerfile instructions (frozen dataclasses), modelled on BuildKit's ``instructions/commands.go``.

Values are kept as written (quotes included where Docker keeps them, e.g. ``ENV a="b c"``); the executor calls
:func:`expand_instruction` with the current environment, which applies Docker's rule of which arguments are
expanded: ADD, COPY, ENV, EXPOSE (split into words), FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG are;
RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are not (the container's shell expands, or the
trigger is expanded when it runs). Heredoc bodies marked ``expand`` are expanded by the executor with
``ShellLexer(skip_process_quotes=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import ClassVar, TypeVar

from .errors import DockerfileError
from .parser import Heredoc, parse_heredoc
from .shell import ShellLexer

__all__ = [
    "AddInstruction",
    "ArgInstruction",
    "ArgSpec",
    "CmdInstruction",
    "CommandLine",
    "CopyInstruction",
    "EntrypointInstruction",
    "EnvInstruction",
    "ExposeInstruction",
    "FromInstruction",
    "HealthcheckInstruction",
    "Instruction",
    "InstructionKind",
    "KeyValue",
    "LabelInstruction",
    "MaintainerInstruction",
    "OnbuildInstruction",
    "RunInstruction",
    "ShellInstruction",
    "SourceContent",
    "StopSignalInstruction",
    "UserInstruction",
    "VolumeInstruction",
    "WorkdirInstruction",
    "expand_instruction",
]


class InstructionKind(StrEnum):
    ADD = "ADD"
    ARG = "ARG"
    CMD = "CMD"
    COPY = "COPY"
    ENTRYPOINT = "ENTRYPOINT"
    ENV = "ENV"
    EXPOSE = "EXPOSE"
    FROM = "FROM"
    HEALTHCHECK = "HEALTHCHECK"
    LABEL = "LABEL"
    MAINTAINER = "MAINTAINER"
    ONBUILD = "ONBUILD"
    RUN = "RUN"
    SHELL = "SHELL"
    STOPSIGNAL = "STOPSIGNAL"
    USER = "USER"
    VOLUME = "VOLUME"
    WORKDIR = "WORKDIR"


@dataclass(frozen=True)
class KeyValue:
    """One ENV or LABEL pair; ``legacy`` for the ``ENV key value`` form (no ``=``)."""

    key: str
    value: str
    legacy: bool = False


@dataclass(frozen=True)
class ArgSpec:
    """One ARG name with its default (None when the ARG has no ``=``) and the comment above it, if any."""

    key: str
    default: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class SourceContent:
    """A COPY/ADD source given inline as a heredoc: the file ``path`` (the delimiter) and its ``data``."""

    path: str
    data: str
    expand: bool = True


@dataclass(frozen=True)
class CommandLine:
    """RUN/CMD/ENTRYPOINT arguments: exec form (``shell_form`` False) or one shell string, with heredocs."""

    args: tuple[str, ...]
    shell_form: bool
    heredocs: tuple[Heredoc, ...] = ()

    @property
    def shebang_heredoc(self) -> Heredoc | None:
        """For ``RUN <<EOF`` whose body starts with ``#!``: the heredoc BuildKit writes to a file and executes."""
        if (
            self.heredocs
            and len(self.args) == 1
            and parse_heredoc_quiet(self.args[0]) is not None
            and self.heredocs[0].content.startswith("#!")
        ):
            return self.heredocs[0]
        return None

    def effective_args(self) -> tuple[str, ...]:
        """The arguments with heredocs folded in as BuildKit's dispatchRun does: ``RUN <<EOF`` runs the body as
        the shell command (or, with a shebang, the caller runs ``shebang_heredoc`` as a file); other heredoc
        lines are reconstituted (``cmd <<EOF\\nbody\\nEOF``) for the shell to handle."""
        if not self.heredocs:
            return self.args
        if len(self.args) == 1 and parse_heredoc_quiet(self.args[0]) is not None:
            return (self.heredocs[0].text,)
        full = self.args[0] if self.args else ""
        for doc in self.heredocs:
            full += "\n" + doc.content + doc.name
        return (full,)

    def argv(self, shell: Sequence[str]) -> tuple[str, ...]:
        """The process arguments: exec form as is; shell form as ``[*shell, command]``."""
        args = self.effective_args()
        if not self.shell_form:
            return args
        return (*shell, " ".join(args)) if args else tuple(shell)


def parse_heredoc_quiet(word: str) -> Heredoc | None:
    """BuildKit's ``MustParseHeredoc``: the heredoc a word introduces, ignoring malformed ones."""
    try:
        return parse_heredoc(word)
    except DockerfileError:  # a malformed heredoc word is just not a heredoc here
        return None


class _Expander:
    def __init__(self, lexer: ShellLexer, env: Mapping[str, str]) -> None:
        self.lexer = lexer
        self.env = env
        self.unmatched: set[str] = set()

    def word(self, word: str) -> str:
        if not word:
            return word
        result = self.lexer.process(word, self.env)
        self.unmatched |= result.unmatched
        return result.result

    def words(self, text: str) -> list[str]:
        result = self.lexer.process(text, self.env)
        self.unmatched |= result.unmatched
        return list(result.words)

    def all(self, values: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.word(v) for v in values)


_I = TypeVar("_I", bound="Instruction")


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """Common fields: the instruction's source text (trimmed) and its first and last line."""

    KIND: ClassVar[InstructionKind]
    EXPANDS: ClassVar[bool] = False

    source: str
    start_line: int
    end_line: int

    @property
    def kind(self) -> InstructionKind:
        return self.KIND

    def _expanded(self: _I, ex: _Expander) -> _I:
        return self


@dataclass(frozen=True, kw_only=True)
class FromInstruction(Instruction):
    KIND = InstructionKind.FROM
    EXPANDS = True
    base_name: str
    stage_name: str = ""
    platform: str = ""
    comment: str = ""

    def _expanded(self, ex: _Expander) -> FromInstruction:
        return replace(self, base_name=ex.word(self.base_name), platform=ex.word(self.platform))


@dataclass(frozen=True, kw_only=True)
class ArgInstruction(Instruction):
    KIND = InstructionKind.ARG
    EXPANDS = True
    args: tuple[ArgSpec, ...]

    def _expanded(self, ex: _Expander) -> ArgInstruction:
        specs = tuple(
            replace(a, key=ex.word(a.key), default=None if a.default is None else ex.word(a.default)) for a in self.args
        )
        return replace(self, args=specs)


@dataclass(frozen=True, kw_only=True)
class EnvInstruction(Instruction):
    KIND = InstructionKind.ENV
    EXPANDS = True
    env: tuple[KeyValue, ...]

    def _expanded(self, ex: _Expander) -> EnvInstruction:
        return replace(self, env=tuple(replace(kv, key=ex.word(kv.key), value=ex.word(kv.value)) for kv in self.env))


@dataclass(frozen=True, kw_only=True)
class LabelInstruction(Instruction):
    KIND = InstructionKind.LABEL
    EXPANDS = True
    labels: tuple[KeyValue, ...]

    def _expanded(self, ex: _Expander) -> LabelInstruction:
        pairs = tuple(replace(kv, key=ex.word(kv.key), value=ex.word(kv.value)) for kv in self.labels)
        return replace(self, labels=pairs)


@dataclass(frozen=True, kw_only=True)
class RunInstruction(Instruction):
    """RUN: ``mounts`` are the raw ``--mount`` values (the executor parses and expands them)."""

    KIND = InstructionKind.RUN
    command: CommandLine
    mounts: tuple[str, ...] = ()
    network: str = "default"
    security: str = "sandbox"
    devices: tuple[str, ...] = ()
    flags_used: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CmdInstruction(Instruction):
    KIND = InstructionKind.CMD
    command: CommandLine


@dataclass(frozen=True, kw_only=True)
class EntrypointInstruction(Instruction):
    KIND = InstructionKind.ENTRYPOINT
    command: CommandLine


@dataclass(frozen=True, kw_only=True)
class ExposeInstruction(Instruction):
    KIND = InstructionKind.EXPOSE
    EXPANDS = True
    ports: tuple[str, ...]

    def _expanded(self, ex: _Expander) -> ExposeInstruction:
        ports: list[str] = []
        for p in self.ports:
            ports += ex.words(p)
        return replace(self, ports=tuple(ports))


@dataclass(frozen=True, kw_only=True)
class AddInstruction(Instruction):
    KIND = InstructionKind.ADD
    EXPANDS = True
    sources: tuple[str, ...]
    dest: str
    contents: tuple[SourceContent, ...] = ()
    chown: str = ""
    chmod: str = ""
    link: bool = False
    keep_git_dir: bool = False
    checksum: str = ""
    excludes: tuple[str, ...] = ()

    def _expanded(self, ex: _Expander) -> AddInstruction:
        return replace(
            self,
            sources=ex.all(self.sources),
            dest=ex.word(self.dest),
            chown=ex.word(self.chown),
            chmod=ex.word(self.chmod),
            checksum=ex.word(self.checksum),
        )


@dataclass(frozen=True, kw_only=True)
class CopyInstruction(Instruction):
    """COPY: ``from_`` is a stage name, a stage index or an image reference (see ``Dockerfile.resolve_stage``)."""

    KIND = InstructionKind.COPY
    EXPANDS = True
    sources: tuple[str, ...]
    dest: str
    contents: tuple[SourceContent, ...] = ()
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()

    def _expanded(self, ex: _Expander) -> CopyInstruction:
        return replace(
            self,
            sources=ex.all(self.sources),
            dest=ex.word(self.dest),
            chown=ex.word(self.chown),
            chmod=ex.word(self.chmod),
        )


@dataclass(frozen=True, kw_only=True)
class WorkdirInstruction(Instruction):
    KIND = InstructionKind.WORKDIR
    EXPANDS = True
    path: str

    def _expanded(self, ex: _Expander) -> WorkdirInstruction:
        return replace(self, path=ex.word(self.path))


@dataclass(frozen=True, kw_only=True)
class UserInstruction(Instruction):
    KIND = InstructionKind.USER
    EXPANDS = True
    user: str

    def _expanded(self, ex: _Expander) -> UserInstruction:
        return replace(self, user=ex.word(self.user))


@dataclass(frozen=True, kw_only=True)
class VolumeInstruction(Instruction):
    KIND = InstructionKind.VOLUME
    EXPANDS = True
    volumes: tuple[str, ...]

    def _expanded(self, ex: _Expander) -> VolumeInstruction:
        return replace(self, volumes=ex.all(self.volumes))


@dataclass(frozen=True, kw_only=True)
class StopSignalInstruction(Instruction):
    KIND = InstructionKind.STOPSIGNAL
    EXPANDS = True
    signal: str

    def _expanded(self, ex: _Expander) -> StopSignalInstruction:
        return replace(self, signal=ex.word(self.signal))


@dataclass(frozen=True, kw_only=True)
class HealthcheckInstruction(Instruction):
    """HEALTHCHECK: ``test`` is ``("NONE",)``, ``("CMD", *argv)`` or ``("CMD-SHELL", command)``; durations are
    nanoseconds (0 = inherit the default), as in the image config."""

    KIND = InstructionKind.HEALTHCHECK
    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True, kw_only=True)
class OnbuildInstruction(Instruction):
    """ONBUILD: ``expression`` is the trigger's source (heredoc bodies appended), stored in the image config."""

    KIND = InstructionKind.ONBUILD
    expression: str
    trigger: InstructionKind | None = None


@dataclass(frozen=True, kw_only=True)
class ShellInstruction(Instruction):
    KIND = InstructionKind.SHELL
    shell: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MaintainerInstruction(Instruction):
    KIND = InstructionKind.MAINTAINER
    maintainer: str


def expand_instruction(instruction: _I, env: Mapping[str, str], escape_token: str = "\\") -> tuple[_I, frozenset[str]]:
    """Expand the arguments Docker expands for this instruction; return it and the names that were not set."""
    if not instruction.EXPANDS:
        return instruction, frozenset()
    ex = _Expander(ShellLexer(escape_token), env)
    return instruction._expanded(ex), frozenset(ex.unmatched)
