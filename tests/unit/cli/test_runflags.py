"""The fast path's parser of ``run``/``create`` flags agrees with the click commands on everything it accepts
(and accepts the common forms): same table, same values, same defaults."""

from __future__ import annotations

from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.cli.commands.container_run import create_cmd, run_cmd
from dockyard.cli.commands.runflags import CREATE_FLAGS, RUN_FLAGS, parse_docker_args


def _click(command: click.Command, args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    try:
        ctx = command.make_context(command.name, list(args))
    except (click.exceptions.ClickException, click.exceptions.Exit):
        return None
    params = dict(ctx.params)
    positional = [params.pop("image"), *params.pop("args")]
    return params, positional


COMMON = [
    ["--rm", "busybox", "true"],
    ["-d", "busybox", "sleep", "10"],
    ["-it", "--rm", "busybox", "sh"],
    ["-d", "-p", "4000:80", "--name", "web", "busybox", "httpd", "-f", "-p", "80"],
    ["-p80:80", "-P", "-e", "A=1", "-eB=2", "--env=C=3", "busybox"],
    ["--network", "none", "--rm", "busybox", "true"],
    ["--net=host", "-v", "/tmp:/mnt:ro", "--mount", "type=tmpfs,target=/x", "busybox"],
    ["--cpu-shares", "512", "-m", "64m", "--pids-limit", "-1", "--ulimit", "nofile=10:10", "busybox"],
    ["--rm=true", "--sig-proxy=false", "--init=0", "busybox", "ls", "-l", "--help"],
    ["--no-sig-proxy", "--restart", "on-failure:3", "-l", "a=b", "-l", "c", "busybox", "--", "x"],
    ["-h", "myhost", "-u", "1000:1000", "-w", "/tmp", "--entrypoint", "", "busybox"],
    ["-a", "stdout", "-a", "stderr", "--stop-timeout=5", "busybox"],
    ["--name", "--rm", "busybox"],  # click takes "--rm" as the name too
    ["busybox"],
]


@pytest.mark.parametrize("args", COMMON, ids=lambda a: " ".join(a))
def test_common_forms_parse_as_click_parses_them(args: list[str]) -> None:
    fast = parse_docker_args(RUN_FLAGS, args)
    assert fast is not None
    assert fast == _click(run_cmd, args)
    if "-d" not in args and not any(a.startswith("--sig-proxy") or a == "--no-sig-proxy" for a in args):
        assert parse_docker_args(CREATE_FLAGS, args) == _click(create_cmd, args)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--", "busybox"], ["--bogus", "busybox"], ["--name"], ["--cpu-shares", "x", "busybox"],
     ["--rm=maybe", "busybox"], ["--no-sig-proxy=true", "busybox"], ["-e=A", "busybox"], ["-Z", "busybox"],
     ["-d=true", "busybox"]],
    ids=lambda a: " ".join(a),
)  # fmt: skip
def test_what_it_does_not_follow_is_left_to_click(args: list[str]) -> None:
    assert parse_docker_args(RUN_FLAGS, args) is None


_VALUES = st.sampled_from(["x", "80:80", "-1", "5", "A=1", "", "--rm", "-e", "busybox", "a b", "=", "on-failure"])
_TOKENS = st.one_of(
    st.sampled_from(["--rm", "-d", "-i", "-t", "-it", "-ti", "-P", "--init", "--sig-proxy", "--no-sig-proxy",
                     "--rm=false", "--rm=1", "--sig-proxy=no", "--privileged=yes", "-itd", "-dP", "--", "-",
                     "--help", "-x"]),
    st.tuples(st.sampled_from(["-e", "--env", "-p", "--name", "--cpu-shares", "-m", "--network", "-v", "-w", "-u",
                               "--pids-limit", "--restart", "-l", "--stop-timeout"]), _VALUES).map(list),
    st.tuples(st.sampled_from(["--env=", "--name=", "--cpu-shares=", "-e", "-p", "-w", "--net="]), _VALUES).map(
        lambda t: [t[0] + t[1]]
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=6), st.lists(_VALUES, max_size=3), st.booleans())
def test_whatever_it_accepts_click_parses_the_same(tokens: list[Any], rest: list[str], image: bool) -> None:
    args: list[str] = []
    for t in tokens:
        args += t if isinstance(t, list) else [t]
    args += (["busybox"] if image else []) + rest
    fast = parse_docker_args(RUN_FLAGS, args)
    if fast is not None and fast[1]:  # the fast path runs only with an image: click reports a missing one
        assert fast == _click(run_cmd, args), args


# -- build: click's own parsing style (options anywhere) ------------------------------------------------------------
BUILD_COMMON = [
    ["."],
    ["-t", "friendlyhello", "."],
    [".", "-t", "a", "-t", "b:c", "--host-ca"],
    ["--no-cache", "-f", "Dockerfile.dev", "--build-arg", "X=1", "--build-arg", "Y", "ctx"],
    ["-q", "--iidfile", "/tmp/iid", "--progress", "plain", "--no-rm", "--label", "a=b", "."],
    ["--target=base", "--network=host", "--no-host-ca", "--platform", "linux/amd64", "--add-host", "h:1.2.3.4", "-"],
    ["-qtx", "."],
]


def _click_build(args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    from dockyard.cli.commands.build import build_cmd

    try:
        ctx = build_cmd.make_context("build", list(args))
    except (click.exceptions.ClickException, click.exceptions.Exit):
        return None
    params = dict(ctx.params)
    return params, [params.pop("path")]


@pytest.mark.parametrize("args", BUILD_COMMON, ids=lambda a: " ".join(a))
def test_build_forms_parse_as_click_parses_them(args: list[str]) -> None:
    from dockyard.cli.commands.buildflow import BUILD_FLAGS
    from dockyard.cli.flagtable import parse_args

    fast = parse_args(BUILD_FLAGS, args, docker=False)
    assert fast is not None
    assert fast == _click_build(args)


@pytest.mark.parametrize(
    "args",
    [["-h", "."], ["--help"], [".", "--", "x"], ["--progress", "fancy", "."], ["--no-cache=true", "."],
     ["--host-ca=1", "."], ["-e", "."]],
    ids=lambda a: " ".join(a),
)  # fmt: skip
def test_build_forms_it_does_not_follow(args: list[str]) -> None:
    from dockyard.cli.commands.buildflow import BUILD_FLAGS
    from dockyard.cli.flagtable import parse_args

    assert parse_args(BUILD_FLAGS, args, docker=False) is None


_BUILD_TOKENS = st.one_of(
    st.sampled_from([".", "ctx", "-", "-q", "--no-cache", "--pull", "--host-ca", "--no-host-ca", "--rm", "--no-rm",
                     "--force-rm", "--explain-cache", "--", "-h", "-qt", "--quiet"]),
    st.tuples(st.sampled_from(["-t", "--tag", "-f", "--build-arg", "--target", "--label", "--iidfile", "--network",
                               "--progress", "--platform", "--add-host"]),
              st.sampled_from(["x", "plain", "quiet", "a=b", "", "-q", ".", "fancy"])).map(list),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_BUILD_TOKENS, max_size=7))
def test_whatever_build_parsing_accepts_click_parses_the_same(tokens: list[Any]) -> None:
    from dockyard.cli.commands.buildflow import BUILD_FLAGS
    from dockyard.cli.flagtable import parse_args

    args: list[str] = []
    for t in tokens:
        args += t if isinstance(t, list) else [t]
    fast = parse_args(BUILD_FLAGS, args, docker=False)
    if fast is not None and len(fast[1]) == 1:  # the fast path builds with exactly one PATH
        assert fast == _click_build(args), args


# -- images / image ls ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [[], ["-a"], ["-q", "--no-trunc"], ["busybox"], ["--digests", "python", "-f", "dangling=false"],
     ["--format", "{{.ID}}"], ["-qa"], ["-f", "label=a=b", "--filter=reference=x*"]],
    ids=lambda a: " ".join(a) or "(none)",
)  # fmt: skip
def test_image_ls_forms_parse_as_click_parses_them(args: list[str]) -> None:
    from dockyard.cli.commands.image import ls_cmd
    from dockyard.cli.commands.imageflow import IMAGE_LS_FLAGS
    from dockyard.cli.flagtable import parse_args

    fast = parse_args(IMAGE_LS_FLAGS, args, docker=False)
    assert fast is not None
    ctx = ls_cmd.make_context("ls", list(args))
    params = dict(ctx.params)
    repository = params.pop("repository")
    assert fast == (params, [repository] if repository else [])
