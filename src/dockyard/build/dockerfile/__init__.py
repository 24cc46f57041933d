"""The Dockerfile frontend: parse (bytes -> AST), type (AST -> instructions and stages), expand (``$VAR``).

Pure and cheap to import: no I/O and no heavy modules. Typical use::

    df = parse_dockerfile(data, filename="Dockerfile")
    for stage in df.stages:
        for instr in stage.instructions:
            instr, unset = expand_instruction(instr, env, df.escape_token)

``.dockerignore`` handling (``IgnoreMatcher``) lives here too; the build context itself is ``dockyard.build.context``.
"""

from .convert import parse_instruction
from .errors import DockerfileError
from .gomatch import BadPattern, contains_wildcards
from .gomatch import clean as go_path_clean
from .gomatch import match as go_path_match
from .ignore import IgnoreMatcher, WalkEntry, read_dockerignore
from .instructions import (
    AddInstruction,
    ArgInstruction,
    ArgSpec,
    CmdInstruction,
    CommandLine,
    CopyInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    FromInstruction,
    HealthcheckInstruction,
    Instruction,
    InstructionKind,
    KeyValue,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    RunInstruction,
    ShellInstruction,
    SourceContent,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
    expand_instruction,
)
from .parser import Directive, Heredoc, Node, ParseResult, ParseWarning, parse
from .shell import Expansion, ExpansionError, ShellLexer, expand, expand_with_matches, expand_words
from .stages import Dockerfile, Stage, parse_dockerfile, parse_trigger

__all__ = [
    "AddInstruction",
    "ArgInstruction",
    "ArgSpec",
    "BadPattern",
    "CmdInstruction",
    "CommandLine",
    "CopyInstruction",
    "Directive",
    "Dockerfile",
    "DockerfileError",
    "EntrypointInstruction",
    "EnvInstruction",
    "Expansion",
    "ExpansionError",
    "ExposeInstruction",
    "FromInstruction",
    "HealthcheckInstruction",
    "Heredoc",
    "IgnoreMatcher",
    "Instruction",
    "InstructionKind",
    "KeyValue",
    "LabelInstruction",
    "MaintainerInstruction",
    "Node",
    "OnbuildInstruction",
    "ParseResult",
    "ParseWarning",
    "RunInstruction",
    "ShellInstruction",
    "ShellLexer",
    "SourceContent",
    "Stage",
    "StopSignalInstruction",
    "UserInstruction",
    "VolumeInstruction",
    "WalkEntry",
    "WorkdirInstruction",
    "contains_wildcards",
    "expand",
    "expand_instruction",
    "expand_with_matches",
    "expand_words",
    "go_path_clean",
    "go_path_match",
    "parse",
    "parse_dockerfile",
    "parse_instruction",
    "parse_trigger",
    "read_dockerignore",
]
