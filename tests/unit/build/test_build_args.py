"""Build arguments with moby's semantics: scope per stage, meta ARGs, --build-arg overrides, proxy ARGs."""

from __future__ import annotations

from dockyard.build.buildargs import BuildArgs


def test_option_overrides_default_and_meta_fills_bare_arg() -> None:
    args = BuildArgs({"VERSION": "2"})
    args.add_meta("BASE", "busybox")
    args.add_meta("VERSION", "1")
    assert args.all_meta() == {"BASE": "busybox", "VERSION": "2"}
    args.reset()
    assert args.all_allowed() == {}
    args.add("BASE", None)  # a bare ARG takes the meta ARG's value
    args.add("VERSION", "9")  # the option wins over the default
    args.add("EMPTY", None)  # no default, no meta, no option: not set
    assert args.all_allowed() == {"BASE": "busybox", "VERSION": "2"}


def test_env_overrides_arg_in_run_environment() -> None:
    args = BuildArgs({})
    args.add("A", "from-arg")
    args.add("B", "b")
    assert args.filter_allowed(["A=from-env", "PATH=/bin"]) == {"B": "b"}


def test_proxy_args_are_in_scope_but_not_in_history_unless_declared() -> None:
    args = BuildArgs({"HTTP_PROXY": "http://proxy:3128", "FOO": "bar"})
    args.add("FOO", None)
    assert args.filter_allowed([]) == {"FOO": "bar", "HTTP_PROXY": "http://proxy:3128"}
    assert args.for_history([]) == ("FOO=bar",)
    args.add("HTTP_PROXY", None)
    assert args.for_history([]) == ("FOO=bar", "HTTP_PROXY=http://proxy:3128")


def test_unused_build_args_are_reported_not_proxies() -> None:
    args = BuildArgs({"USED": "1", "UNUSED": "2", "https_proxy": "x"})
    args.add("USED", None)
    assert args.unused() == ["UNUSED"]


def test_clone_and_merge_referenced() -> None:
    base = BuildArgs({"X": "1"})
    stage = base.clone()
    stage.add("X", None)
    assert base.unused() == ["X"]
    base.merge_referenced(stage)
    assert base.unused() == []
