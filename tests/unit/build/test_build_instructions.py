"""Typed instructions, stages, expansion rules, builder flags, and the frontend's cost."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dockyard.build.dockerfile import (
    AddInstruction,
    ArgInstruction,
    CmdInstruction,
    CopyInstruction,
    DockerfileError,
    EnvInstruction,
    ExposeInstruction,
    FromInstruction,
    HealthcheckInstruction,
    Instruction,
    InstructionKind,
    LabelInstruction,
    OnbuildInstruction,
    RunInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
    expand_instruction,
    parse_dockerfile,
    parse_trigger,
)
from dockyard.build.dockerfile.flags import BuilderFlags

TUTORIAL = b"""# Use an official Python runtime as a parent image
FROM python:2.7-slim

# Set the working directory to /app
WORKDIR /app

# Copy the current directory contents into the container at /app
ADD . /app

# Install any needed packages specified in requirements.txt
RUN pip install --trusted-host pypi.python.org -r requirements.txt

# Make port 80 available to the world outside this container
EXPOSE 80

# Define environment variable
ENV NAME World

# Run app.py when the container launches
CMD ["python", "app.py"]
"""


def instructions(text: str) -> list[Instruction]:
    return list(parse_dockerfile("FROM scratch\n" + text).stages[0].instructions)


def one(text: str) -> Instruction:
    (instr,) = instructions(text)
    return instr


# --- builder flags (ported from BuildKit's bflag_test.go) ---


def test_flags_empty_and_double_dash() -> None:
    BuilderFlags([]).parse()
    BuilderFlags(["--"]).parse()


def test_flags_defaults_and_values() -> None:
    f = BuilderFlags(["--bool1", "--str1=BYE"])
    f.add_string("str1", "HI")
    f.add_bool("bool1")
    f.parse()
    assert f.string("str1") == "BYE" and f.boolean("bool1")
    f = BuilderFlags([])
    f.add_string("str1", "HI")
    f.add_bool("bool1")
    f.parse()
    assert f.string("str1") == "HI" and not f.boolean("bool1") and f.used == []
    f = BuilderFlags(["--str1="])
    f.add_string("str1", "HI")
    f.parse()
    assert f.string("str1") == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--str1"], "missing a value on flag: --str1"),
        (["--bool1=false1"], "expecting boolean value for flag --bool1, not: false1"),
        (["--bool1="], "missing a value on flag: --bool1"),
        (["--bool2"], "unknown flag: --bool2"),
        (["--bool1", "--bool1"], "duplicate flag specified: --bool1"),
        (["str1=x"], "arg should start with -- : str1=x"),
    ],
)
def test_flags_errors(args: list[str], message: str) -> None:
    f = BuilderFlags(args)
    f.add_string("str1", "HI")
    f.add_bool("bool1")
    with pytest.raises(DockerfileError) as info:
        f.parse()
    assert info.value.detail == message


def test_flags_bool_values_and_used() -> None:
    f = BuilderFlags(["--bool2=false", "--bool3", "--bool4=TRUE", "--str2= ", "--multi=a", "--multi=b"])
    for name in ("bool1", "bool2", "bool3"):
        f.add_bool(name)
    f.add_bool("bool4", True)
    f.add_string("str2")
    f.add_strings("multi")
    f.parse()
    assert (f.boolean("bool2"), f.boolean("bool3"), f.boolean("bool4")) == (False, True, True)
    assert f.string("str2") == " " and f.strings("multi") == ("a", "b")
    assert sorted(f.used) == ["bool2", "bool3", "bool4", "multi", "multi", "str2"]


# --- typed instructions ---


def test_tutorial_dockerfile() -> None:
    df = parse_dockerfile(TUTORIAL)
    (stage,) = df.stages
    assert (stage.index, stage.name, stage.base_name) == (0, "", "python:2.7-slim")
    assert [i.kind for i in stage.instructions] == [
        InstructionKind.WORKDIR,
        InstructionKind.ADD,
        InstructionKind.RUN,
        InstructionKind.EXPOSE,
        InstructionKind.ENV,
        InstructionKind.CMD,
    ]
    cmd = stage.instructions[-1]
    assert isinstance(cmd, CmdInstruction)
    assert cmd.command.args == ("python", "app.py") and not cmd.command.shell_form
    assert cmd.source == 'CMD ["python", "app.py"]' and cmd.start_line == 20


def test_parse_tutorial_is_fast() -> None:
    parse_dockerfile(TUTORIAL)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        parse_dockerfile(TUTORIAL)
    per_parse = (time.perf_counter() - start) / runs
    assert per_parse < 0.005, f"parsing the tutorial Dockerfile took {per_parse * 1000:.2f} ms"


def test_import_is_light() -> None:
    code = (
        "import sys, dockyard.build.dockerfile as d;"
        "heavy = {'json', 'tarfile', 'hashlib', 'concurrent.futures', 'asyncio', 'httpx', 'aiohttp', 'sqlite3'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_from_forms() -> None:
    df = parse_dockerfile("ARG X=1\nFROM --platform=linux/arm64 img:${X} AS Builder\nFROM builder\nFROM scratch\n")
    assert [a.args[0].key for a in df.meta_args] == ["X"]
    s0, s1, s2 = df.stages
    assert (s0.name, s0.base_name, s0.platform) == ("builder", "img:${X}", "linux/arm64")
    assert (s1.name, s1.base_name) == ("", "builder")
    assert s2.base_name == "scratch"
    assert df.resolve_stage("BUILDER") is s0
    assert df.resolve_stage("1") is s1
    assert df.resolve_stage("+0") is s0
    assert df.resolve_stage("busybox:latest") is None
    assert df.target_stage() is s2 and df.target_stage("builder") is s0
    with pytest.raises(DockerfileError, match="invalid stage index 3"):
        df.resolve_stage("3")
    with pytest.raises(DockerfileError, match="invalid stage index -1"):
        df.resolve_stage("-1")
    with pytest.raises(DockerfileError, match='target stage "nope" could not be found'):
        df.target_stage("nope")


def test_duplicate_stage_name_warns() -> None:
    df = parse_dockerfile("FROM a AS x\nFROM b AS X\n")
    assert any("Duplicate stage name" in w.short for w in df.warnings)


def test_env_and_label_pairs() -> None:
    env = one('ENV A=1 B="two words" C=three\\ words\n')
    assert isinstance(env, EnvInstruction)
    assert [(kv.key, kv.value) for kv in env.env] == [("A", "1"), ("B", '"two words"'), ("C", "three\\ words")]
    expanded, _ = expand_instruction(env, {})
    assert [kv.value for kv in expanded.env] == ["1", "two words", "three words"]
    label = one("LABEL version=$V other=x\n")
    assert isinstance(label, LabelInstruction)
    expanded_label, unset = expand_instruction(label, {})
    assert expanded_label.labels[0].value == "" and unset == {"V"}


def test_arg_forms() -> None:
    arg = one('ARG A B=2 C="x y" D=\n')
    assert isinstance(arg, ArgInstruction)
    assert [(a.key, a.default) for a in arg.args] == [("A", None), ("B", "2"), ("C", '"x y"'), ("D", "")]
    expanded, _ = expand_instruction(arg, {})
    assert expanded.args[2].default == "x y"


def test_copy_and_add_flags() -> None:
    copy = one("COPY --from=build --chown=${U}:0 --chmod=0755 --link --parents a* b/ /dest/\n")
    assert isinstance(copy, CopyInstruction)
    assert (copy.from_, copy.chown, copy.chmod, copy.link, copy.parents) == ("build", "${U}:0", "0755", True, True)
    assert copy.sources == ("a*", "b/") and copy.dest == "/dest/"
    expanded, unset = expand_instruction(copy, {"U": "app"})
    assert expanded.chown == "app:0" and not unset
    add = one("ADD --checksum=sha256:abc --keep-git-dir=true --chown=1 https://x/y.tar /z\n")
    assert isinstance(add, AddInstruction)
    assert (add.checksum, add.keep_git_dir, add.chown) == ("sha256:abc", True, "1")
    with pytest.raises(DockerfileError, match="unknown flag: --from"):
        one("ADD --from=x a b\n")


def test_copy_heredoc_sources() -> None:
    copy = one("COPY a <<EOF <<-'RAW' /dest/\nhello $X\nEOF\n\tkeep $Y\n\tRAW\n")
    assert isinstance(copy, CopyInstruction)
    assert copy.sources == ("a",)
    assert [(c.path, c.data, c.expand) for c in copy.contents] == [
        ("EOF", "hello $X\n", True),
        ("RAW", "keep $Y\n", False),
    ]


def test_run_flags_and_heredoc_argv() -> None:
    run = one("RUN --mount=type=cache,target=/c --network=host --device=/dev/fuse echo hi\n")
    assert isinstance(run, RunInstruction)
    assert run.mounts == ("type=cache,target=/c",) and run.network == "host" and run.devices == ("/dev/fuse",)
    assert run.command.argv(["/bin/sh", "-c"]) == ("/bin/sh", "-c", "echo hi")
    here = one("RUN <<EOF\necho a\necho b\nEOF\n")
    assert isinstance(here, RunInstruction)
    assert here.command.argv(["/bin/sh", "-c"]) == ("/bin/sh", "-c", "echo a\necho b\n")
    assert here.command.shebang_heredoc is None
    complex_ = one("RUN cat <<A > /x\nbody\nA\n")
    assert isinstance(complex_, RunInstruction)
    assert complex_.command.effective_args() == ("cat <<A > /x\nbody\nA",)
    shebang = one("RUN <<EOF\n#!/usr/bin/python3\nprint(1)\nEOF\n")
    assert isinstance(shebang, RunInstruction)
    assert shebang.command.shebang_heredoc is not None
    exec_form = one('RUN ["echo", "$HOME"]\n')
    assert isinstance(exec_form, RunInstruction)
    assert exec_form.command.argv(["/bin/sh", "-c"]) == ("echo", "$HOME")
    unexpanded, _ = expand_instruction(exec_form, {"HOME": "/root"})
    assert unexpanded is exec_form


def test_expose_sorted_and_split_on_expansion() -> None:
    expose = one("EXPOSE 8080 $PORTS 443/tcp\n")
    assert isinstance(expose, ExposeInstruction)
    assert expose.ports == ("$PORTS", "443/tcp", "8080")
    expanded, _ = expand_instruction(expose, {"PORTS": "53/udp 54/udp"})
    assert expanded.ports == ("53/udp", "54/udp", "443/tcp", "8080")


def test_single_word_instructions_expand() -> None:
    env = {"HOME": "/root", "U": "app", "D": "/data"}
    workdir, user, volume = instructions('WORKDIR $HOME/w\nUSER ${U}\nVOLUME ["$D", "/x"]\n')
    assert isinstance(workdir, WorkdirInstruction)
    assert isinstance(user, UserInstruction)
    assert isinstance(volume, VolumeInstruction)
    assert expand_instruction(workdir, env)[0].path == "/root/w"
    assert expand_instruction(user, env)[0].user == "app"
    assert expand_instruction(volume, env)[0].volumes == ("/data", "/x")


def test_from_expansion_reports_unset_args() -> None:
    frm = parse_dockerfile("FROM ${REGISTRY}/img:${TAG:-latest}\n").stages[0].from_instruction
    assert isinstance(frm, FromInstruction)
    expanded, unset = expand_instruction(frm, {"REGISTRY": "localhost:5000"})
    assert expanded.base_name == "localhost:5000/img:latest" and unset == {"TAG"}


def test_escape_token_used_for_expansion() -> None:
    df = parse_dockerfile("# escape=`\nFROM a\nENV P=c:\\dir`$X\n")
    env = df.stages[0].instructions[0]
    expanded, _ = expand_instruction(env, {"X": "y"}, df.escape_token)
    assert isinstance(expanded, EnvInstruction)
    assert expanded.env[0].value == "c:\\dir$X"


def test_healthcheck_durations() -> None:
    hc = one("HEALTHCHECK --interval=1h2m3.5s --timeout=250ms --start-period=1.5s --retries=+7 CMD true\n")
    assert isinstance(hc, HealthcheckInstruction)
    assert hc.interval == 3_723_500_000_000 and hc.timeout == 250_000_000 and hc.start_period == 1_500_000_000
    assert hc.retries == 7 and hc.test == ("CMD-SHELL", "true")
    for value, message in [
        ("5", 'time: missing unit in duration "5"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("", None),
        ("-1s", 'Interval "timeout" cannot be less than 1ms'),
        ("abc", 'time: invalid duration "abc"'),
    ]:
        if message is None:
            one(f"HEALTHCHECK --timeout={value} CMD true\n")
            continue
        with pytest.raises(DockerfileError) as info:
            one(f"HEALTHCHECK --timeout={value} CMD true\n")
        assert info.value.detail == message
    with pytest.raises(DockerfileError, match="Missing command after HEALTHCHECK CMD"):
        one("HEALTHCHECK CMD\n")
    with pytest.raises(DockerfileError) as info:
        one("HEALTHCHECK --retries=x CMD true\n")
    assert info.value.detail == 'strconv.ParseInt: parsing "x": invalid syntax'


def test_onbuild_and_trigger_parse() -> None:
    onbuild = one("ONBUILD COPY --from=x /a /b\n")
    assert isinstance(onbuild, OnbuildInstruction)
    assert onbuild.expression == "COPY --from=x /a /b" and onbuild.trigger is InstructionKind.COPY
    trigger = parse_trigger(onbuild.expression)
    assert isinstance(trigger, CopyInstruction) and trigger.from_ == "x"
    heredoc = one("ONBUILD RUN <<EOF\necho hi\nEOF\n")
    assert isinstance(heredoc, OnbuildInstruction)
    run = parse_trigger(heredoc.expression)
    assert isinstance(run, RunInstruction) and run.command.heredocs[0].content == "echo hi\n"
    with pytest.raises(DockerfileError, match="MAINTAINER isn't allowed as an ONBUILD trigger"):
        one("ONBUILD MAINTAINER me\n")


def test_maintainer_and_stopsignal_accept_one_argument() -> None:
    m, s = instructions("MAINTAINER Jane Doe <j@x>\nSTOPSIGNAL --ignored=1 SIGKILL\n")
    assert m.kind is InstructionKind.MAINTAINER and s.kind is InstructionKind.STOPSIGNAL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RNU x\n", "Dockerfile:2: unknown instruction: RNU"),
        ("rnu x\n", "Dockerfile:2: unknown instruction: RNU"),
        ("ENV\n", "Dockerfile:2: ENV requires at least one argument"),
        ("LABEL =x\n", "Dockerfile:2: LABEL names can not be blank"),
        ("USER a b\n", None),
        ("CMD\n", None),
        ("ARG\n", "Dockerfile:2: ARG requires at least one argument"),
        ("ONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument"),
        ("HEALTHCHECK\n", "Dockerfile:2: HEALTHCHECK requires at least one argument"),
        ("VOLUME\n", "Dockerfile:2: VOLUME requires at least one argument"),
        ("STOPSIGNAL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"),
        ("ADD a\n", "Dockerfile:2: ADD requires at least two arguments, but only one was provided. Destination"),
        ("COPY a <<EOF\nx\nEOF\n", "Dockerfile:2: COPY cannot accept a heredoc as a destination"),
        ("RUN --security=weird x\n", 'Dockerfile:2: security "weird" is not valid'),
        ("FROM a as b c\n", "Dockerfile:2: FROM requires either one or three arguments"),
        ("FROM a AS b-c.d_e\n", None),
        ("FROM a AS Ba$\n", 'Dockerfile:2: invalid name for build stage: "Ba$", name can\'t start with'),
    ],
)
def test_instruction_errors(text: str, message: str | None) -> None:
    if message is None:
        parse_dockerfile("FROM scratch\n" + text)
        return
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile("FROM scratch\n" + text)
    assert info.value.message.startswith(message)


def test_error_names_file_and_lines() -> None:
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile(b"FROM a\nCOPY --nope \\\n  a \\\n  b\n", filename="build/Dockerfile.dev")
    err = info.value
    assert err.message == "build/Dockerfile.dev:2: unknown flag: --nope"
    assert (err.line, err.end_line) == (2, 4)
    assert err.legacy_message == "dockerfile parse error line 2: unknown flag: --nope"


def test_missing_from_and_empty() -> None:
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile(b"RUN x\n")
    assert info.value.message == "Dockerfile:1: no build stage in current context"
    assert info.value.legacy_message == "no build stage in current context"
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile(b"")
    assert "Dockerfile cannot be empty" in info.value.message
    with pytest.raises(DockerfileError, match="dockerfile contains no stages to build"):
        parse_dockerfile(b"ARG A\n")


def test_instructions_are_frozen() -> None:
    instr = one("USER a\n")
    with pytest.raises(AttributeError):
        instr.source = "x"  # type: ignore[misc]
