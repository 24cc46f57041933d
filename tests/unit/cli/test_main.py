"""The entry point's tables and fast paths: help texts that match the commands, a top-level help identical to
what importing every command gives, and fast paths that decline whatever they do not serve exactly."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.core import _make_default_short_help

from dockyard.cli.app import cli
from dockyard.cli.fastpath import run_fast
from dockyard.cli.main import COMMANDS, SUMMARIES


def test_every_command_has_a_summary_that_shortens_like_its_help() -> None:
    assert set(SUMMARIES) == set(COMMANDS)
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        for limit in range(10, 120, 3):
            assert _make_default_short_help(SUMMARIES[name], limit).strip() == command.get_short_help_str(limit), (
                name,
                limit,
            )


@pytest.mark.parametrize("width", [50, 61, 80, 99, 100, 140])
def test_top_level_help_is_what_the_imported_commands_give(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def render() -> str:
        ctx = click.Context(cli, info_name="dockyard", terminal_width=width, **cli.context_settings)
        return cli.get_help(ctx)

    fast = render()
    monkeypatch.setattr(cli, "summaries", {})  # click's own listing: every command imported for its help
    assert fast == render()
    assert "ps         List containers." in fast


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\nfrom dockyard.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print([m for m in sys.modules if m.startswith('dockyard.cli.commands.')], file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in out.stdout
    assert out.stderr.strip() == "[]"


def test_version_fast_path_prints_what_click_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_fast(["--version"]) == 0
    fast = capsys.readouterr().out
    cli.main(["--version"], prog_name="dockyard", standalone_mode=False)  # returns 0 (ctx.exit)
    assert capsys.readouterr().out == fast == "dockyard version 0.1.0\n"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help", "ps"],
        ["run"],
        ["run", "--help"],
        ["create", "--bogus", "busybox"],
        ["container", "run", "-e=A", "busybox"],
        ["images", "a", "b"],
        ["images", "--help"],
        ["-D", "ps"],
        ["--log-level", "debug", "ps"],
        ["--root"],
        ["ps", "--help"],
        ["ps", "--format", "{{.ID}}"],
        ["ps", "-f", "status=exited"],
        ["ps", "--filter=name=x"],
        ["ps", "-s"],
        ["ps", "-n"],
        ["ps", "-n", "x"],
        ["ps", "-n5"],
        ["ps", "--all=true"],
        ["ps", "extra"],
        ["ps", "-aqx"],
        ["container", "inspect", "x"],
        ["container"],
        ["--version", "ps"],
    ],
)
def test_fast_paths_decline_what_they_do_not_serve(args: list[str], tmp_path: object) -> None:
    assert run_fast(args) is None


def test_fast_ps_declines_a_root_it_cannot_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    assert run_fast(["--root", str(root / "missing"), "ps"]) is None  # no database: click's path creates it
    (root / "config.json").write_text("{not json")
    assert run_fast(["--root", str(root), "ps"]) is None  # click's path reports the configuration error
    monkeypatch.setenv("DOCKYARD_NO_FASTPATH", "1")
    assert run_fast(["--version"]) is None


def test_help_cache_gives_what_click_prints(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from dockyard.cli import helpcache

    monkeypatch.setattr(helpcache, "CACHE_FILE", str(Path(str(tmp_path)) / "help.marshal"))
    assert helpcache.cached() is None  # nothing built: click answers
    assert helpcache.build() == helpcache.MAX_WIDTH - helpcache.MIN_WIDTH + 1
    for columns in ("30", "61", "80", "100", "150"):
        monkeypatch.setenv("COLUMNS", columns)
        env = {**os.environ, "DOCKYARD_NO_FASTPATH": "1"}
        out = subprocess.run([sys.executable, "-m", "dockyard", "--help"], capture_output=True, text=True, env=env)
        assert helpcache.cached() == out.stdout.removesuffix("\n"), columns


def test_a_stale_help_cache_is_not_used(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import marshal
    from pathlib import Path

    from dockyard.cli import helpcache

    cache = Path(str(tmp_path)) / "help.marshal"
    monkeypatch.setattr(helpcache, "CACHE_FILE", str(cache))
    helpcache.build()
    data = marshal.loads(cache.read_bytes())
    path, mtime, size = data["stamp"][0]
    data["stamp"][0] = (path, mtime - 1, size)  # main.py changed since the texts were rendered
    cache.write_bytes(marshal.dumps(data))
    assert helpcache.cached() is None
    cache.write_bytes(b"garbage")
    assert helpcache.cached() is None


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: object) -> None:
    """``dockyard images --format ... | head -1``: the reader leaves early; no traceback, exit as on SIGPIPE."""
    code = (
        "import sys, os\n"
        "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
        "from dockyard.cli.main import main\n"
        "sys.argv = ['dockyard', '--version']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr
