"""AST node -> typed instruction, ported from BuildKit's ``instructions/parse.go`` (argument counts, builder flags
and the exact error wording; errors carry the node's lines: ``Dockerfile:3: unknown instruction: RNU``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypedDict

from .errors import DockerfileError, go_quote
from .flags import BuilderFlags
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
    parse_heredoc_quiet,
)
from .parser import Node

__all__ = ["parse_instruction"]

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_ONBUILD_PREFIX = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)
_MIN_DURATION_NS = 1_000_000  # container.MinimumDuration (1ms)
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


def _parse_kvps(args: tuple[str, ...], name: str) -> tuple[KeyValue, ...]:
    if not args:
        raise DockerfileError(f"{name} requires at least one argument")
    if len(args) % 3 != 0:
        raise DockerfileError(f"Bad input to {name}, too many arguments")
    out = []
    for i in range(0, len(args), 3):
        if not args[i]:
            raise DockerfileError(f"{name} names can not be blank")
        out.append(KeyValue(args[i], args[i + 1], legacy=args[i + 2] == ""))
    return tuple(out)


def _comment(comments: tuple[str, ...], name: str) -> str:
    if not name:
        return ""
    for line in comments:
        if line.startswith(name + " "):
            return line[len(name) + 1 :]
    return ""


def _exactly_one(node: Node, name: str) -> str:
    if len(node.args) != 1:
        raise DockerfileError(f"{name} requires exactly one argument")
    return node.args[0]


def _json_args(node: Node, args: tuple[str, ...]) -> tuple[str, ...]:
    if not args:
        return ()
    if node.json:
        return args
    return (" ".join(args),)


def _command(node: Node) -> CommandLine:
    return CommandLine(_json_args(node, node.args), shell_form=not node.json, heredocs=node.heredocs)


class _Common(TypedDict):
    source: str
    start_line: int
    end_line: int


class _Request:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.flags = BuilderFlags(node.flags)
        self.common = _Common(source=node.original.strip(), start_line=node.start_line, end_line=node.end_line)


def _sources_and_dest(node: Node, name: str) -> tuple[tuple[str, ...], tuple[SourceContent, ...], str]:
    *srcs, dest = node.args
    if parse_heredoc_quiet(dest) is not None:
        raise DockerfileError(f"{name} cannot accept a heredoc as a destination")
    by_name = {doc.name: doc for doc in node.heredocs}
    paths: list[str] = []
    contents: list[SourceContent] = []
    for src in srcs:
        doc = parse_heredoc_quiet(src)
        if doc is None:
            paths.append(src)
            continue
        body = by_name.get(doc.name)
        data = body.content if body else ""
        if doc.chomp:
            data = re.sub(r"^\t+", "", data, flags=re.MULTILINE)
        contents.append(SourceContent(doc.name, data, doc.expand))
    return tuple(paths), tuple(contents), dest


def _parse_from(r: _Request) -> FromInstruction:
    args = r.node.args
    stage_name = ""
    if len(args) == 3 and args[1].lower() == "as":
        stage_name = args[2].lower()
        if not _STAGE_NAME.match(stage_name):
            raise DockerfileError(
                f"invalid name for build stage: {go_quote(args[2])}, name can't start with a number or contain symbols"
            )
    elif len(args) != 1:
        raise DockerfileError("FROM requires either one or three arguments")
    r.flags.add_string("platform")
    r.flags.parse()
    return FromInstruction(
        **r.common,
        base_name=args[0],
        stage_name=stage_name,
        platform=r.flags.string("platform"),
        comment=_comment(r.node.comments, stage_name),
    )


def _parse_run(r: _Request) -> RunInstruction:
    f = r.flags
    f.add_strings("mount")
    f.add_string("network", "default")
    f.add_string("security", "sandbox")
    f.add_strings("device")
    f.parse()
    network, security = f.string("network"), f.string("security")
    if network not in ("default", "none", "host"):
        raise DockerfileError(f"invalid network mode {go_quote(network)}")
    if security not in ("sandbox", "insecure"):
        raise DockerfileError(f"security {go_quote(security)} is not valid")
    return RunInstruction(
        **r.common,
        command=_command(r.node),
        mounts=f.strings("mount"),
        network=network,
        security=security,
        devices=f.strings("device"),
        flags_used=tuple(sorted(set(f.used))),
    )


def _parse_cmd(r: _Request) -> CmdInstruction:
    r.flags.parse()
    return CmdInstruction(**r.common, command=_command(r.node))


def _parse_entrypoint(r: _Request) -> EntrypointInstruction:
    r.flags.parse()
    return EntrypointInstruction(**r.common, command=_command(r.node))


def _parse_env(r: _Request) -> EnvInstruction:
    r.flags.parse()
    return EnvInstruction(**r.common, env=_parse_kvps(r.node.args, "ENV"))


def _parse_label(r: _Request) -> LabelInstruction:
    r.flags.parse()
    return LabelInstruction(**r.common, labels=_parse_kvps(r.node.args, "LABEL"))


def _parse_arg(r: _Request) -> ArgInstruction:
    if not r.node.args:
        raise DockerfileError("ARG requires at least one argument")
    specs = []
    for arg in r.node.args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            if not key:
                raise DockerfileError("ARG names can not be blank")
            specs.append(ArgSpec(key, value, _comment(r.node.comments, key)))
        else:
            specs.append(ArgSpec(arg, None, _comment(r.node.comments, arg)))
    return ArgInstruction(**r.common, args=tuple(specs))


def _parse_expose(r: _Request) -> ExposeInstruction:
    if not r.node.args:
        raise DockerfileError("EXPOSE requires at least one argument")
    r.flags.parse()
    return ExposeInstruction(**r.common, ports=tuple(sorted(r.node.args)))


def _parse_add(r: _Request) -> AddInstruction:
    if len(r.node.args) < 2:
        raise DockerfileError(
            "ADD requires at least two arguments, but only one was provided. Destination could not be determined"
        )
    f = r.flags
    for name in ("chown", "chmod", "checksum"):
        f.add_string(name)
    f.add_bool("link")
    f.add_bool("keep-git-dir")
    f.add_strings("exclude")
    f.parse()
    sources, contents, dest = _sources_and_dest(r.node, "ADD")
    return AddInstruction(
        **r.common,
        sources=sources,
        dest=dest,
        contents=contents,
        chown=f.string("chown"),
        chmod=f.string("chmod"),
        link=f.boolean("link"),
        keep_git_dir=f.boolean("keep-git-dir"),
        checksum=f.string("checksum"),
        excludes=f.strings("exclude"),
    )


def _parse_copy(r: _Request) -> CopyInstruction:
    if len(r.node.args) < 2:
        raise DockerfileError(
            "COPY requires at least two arguments, but only one was provided. Destination could not be determined"
        )
    f = r.flags
    for name in ("chown", "from", "chmod"):
        f.add_string(name)
    f.add_bool("link")
    f.add_bool("parents")
    f.add_strings("exclude")
    f.parse()
    sources, contents, dest = _sources_and_dest(r.node, "COPY")
    return CopyInstruction(
        **r.common,
        sources=sources,
        dest=dest,
        contents=contents,
        from_=f.string("from"),
        chown=f.string("chown"),
        chmod=f.string("chmod"),
        link=f.boolean("link"),
        parents=f.boolean("parents"),
        excludes=f.strings("exclude"),
    )


def _parse_workdir(r: _Request) -> WorkdirInstruction:
    path = _exactly_one(r.node, "WORKDIR")
    r.flags.parse()
    return WorkdirInstruction(**r.common, path=path)


def _parse_user(r: _Request) -> UserInstruction:
    user = _exactly_one(r.node, "USER")
    r.flags.parse()
    return UserInstruction(**r.common, user=user)


def _parse_maintainer(r: _Request) -> MaintainerInstruction:
    maintainer = _exactly_one(r.node, "MAINTAINER")
    r.flags.parse()
    return MaintainerInstruction(**r.common, maintainer=maintainer)


def _parse_stopsignal(r: _Request) -> StopSignalInstruction:
    return StopSignalInstruction(**r.common, signal=_exactly_one(r.node, "STOPSIGNAL"))


def _parse_volume(r: _Request) -> VolumeInstruction:
    if not r.node.args:
        raise DockerfileError("VOLUME requires at least one argument")
    r.flags.parse()
    volumes = []
    for v in r.node.args:
        v = v.strip()
        if not v:
            raise DockerfileError("VOLUME specified can not be an empty string")
        volumes.append(v)
    return VolumeInstruction(**r.common, volumes=tuple(volumes))


def _parse_shell(r: _Request) -> ShellInstruction:
    r.flags.parse()
    shell = _json_args(r.node, r.node.args)
    if not shell:
        raise DockerfileError("SHELL requires at least one argument")
    if not r.node.json:
        raise DockerfileError("SHELL requires the arguments to be in JSON form")
    return ShellInstruction(**r.common, shell=shell)


def _parse_onbuild(r: _Request) -> OnbuildInstruction:
    if not r.node.args:
        raise DockerfileError("ONBUILD requires at least one argument")
    r.flags.parse()
    trigger = r.node.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise DockerfileError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", r.node.original, count=1)
    for doc in r.node.heredocs:
        expression += "\n" + doc.content + doc.name
    kind = InstructionKind(trigger) if trigger in InstructionKind.__members__ else None
    return OnbuildInstruction(**r.common, expression=expression, trigger=kind)


def _parse_go_duration(value: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds."""
    orig, s = value, value
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise DockerfileError(f"time: invalid duration {go_quote(orig)}")
    total = 0.0
    while s:
        m = _DURATION_PART.match(s)
        number, unit = (m.group(1), m.group(2)) if m else ("", "")
        if number in ("", ".") or not m:
            raise DockerfileError(f"time: invalid duration {go_quote(orig)}")
        if unit == "":
            raise DockerfileError(f"time: missing unit in duration {go_quote(orig)}")
        if unit not in _DURATION_UNITS:
            raise DockerfileError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(orig)}")
        total += float(number) * _DURATION_UNITS[unit]
        s = s[m.end() :]
    return sign * round(total)


def _interval(r: _Request, name: str) -> int:
    value = r.flags.string(name)
    if value == "":
        return 0
    d = _parse_go_duration(value)
    if d == 0:
        return 0
    if d < _MIN_DURATION_NS:
        raise DockerfileError(f'Interval "{name}" cannot be less than 1ms')
    return d


def _parse_healthcheck(r: _Request) -> HealthcheckInstruction:
    args = r.node.args
    if not args:
        raise DockerfileError("HEALTHCHECK requires at least one argument")
    typ = args[0].upper()
    rest = args[1:]
    if typ == "NONE":
        if rest:
            raise DockerfileError("HEALTHCHECK NONE takes no arguments")
        return HealthcheckInstruction(**r.common, test=("NONE",))
    for name in ("interval", "timeout", "start-period", "start-interval", "retries"):
        r.flags.add_string(name)
    r.flags.parse()
    if typ != "CMD":
        raise DockerfileError(f"Unknown type {go_quote(typ)} in HEALTHCHECK (try CMD)")
    cmd = _json_args(r.node, rest)
    if not cmd:
        raise DockerfileError("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *cmd) if r.node.json else ("CMD-SHELL", *cmd)
    retries = 0
    raw = r.flags.string("retries")
    if raw != "":
        if not re.fullmatch(r"[+-]?[0-9]+", raw):
            raise DockerfileError(f"strconv.ParseInt: parsing {go_quote(raw)}: invalid syntax")
        retries = int(raw)
        if not -(2**31) <= retries < 2**31:
            raise DockerfileError(f"strconv.ParseInt: parsing {go_quote(raw)}: value out of range")
        if retries < 0:
            raise DockerfileError(f"--retries cannot be negative ({retries})")
    return HealthcheckInstruction(
        **r.common,
        test=test,
        interval=_interval(r, "interval"),
        timeout=_interval(r, "timeout"),
        start_period=_interval(r, "start-period"),
        start_interval=_interval(r, "start-interval"),
        retries=retries,
    )


_PARSERS: dict[str, Callable[[_Request], Instruction]] = {
    "add": _parse_add,
    "arg": _parse_arg,
    "cmd": _parse_cmd,
    "copy": _parse_copy,
    "entrypoint": _parse_entrypoint,
    "env": _parse_env,
    "expose": _parse_expose,
    "from": _parse_from,
    "healthcheck": _parse_healthcheck,
    "label": _parse_label,
    "maintainer": _parse_maintainer,
    "onbuild": _parse_onbuild,
    "run": _parse_run,
    "shell": _parse_shell,
    "stopsignal": _parse_stopsignal,
    "user": _parse_user,
    "volume": _parse_volume,
    "workdir": _parse_workdir,
}


def parse_instruction(node: Node, filename: str = "Dockerfile") -> Instruction:
    """Type one AST node; errors carry the node's lines."""
    try:
        fn = _PARSERS.get(node.keyword)
        if fn is None:
            raise DockerfileError(f"unknown instruction: {node.value.upper()}")
        return fn(_Request(node))
    except DockerfileError as exc:
        if exc.line > 0:
            raise
        raise DockerfileError(
            exc.detail, filename=filename, line=node.start_line, end_line=node.end_line, parse_error=exc.parse_error
        ) from None
