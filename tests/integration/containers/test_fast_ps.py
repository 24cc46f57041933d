"""The fast ``ps`` of the command line (``cli/fastpath.py``) prints exactly what the click command prints, on the
same containers at the same instant, and leaves every root that needs a reconcile to the click command."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from dockyard.cli.app import cli
from dockyard.cli.fastpath import run_fast
from tests.conftest import Cli
from tests.integration.containers.conftest import wait_for

pytestmark = pytest.mark.integration

LATER = 3725.0  # an hour and a bit after the containers were made: "About an hour ago", "Up About an hour"


def _both(root: Path, args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          ) -> tuple[str, str]:  # fmt: skip
    if not hasattr(time.time, "frozen"):  # the first call of a test freezes the clock an hour and a bit ahead
        now = time.time() + LATER

        def frozen() -> float:
            return now

        frozen.frozen = True  # type: ignore[attr-defined]
        monkeypatch.setattr(time, "time", frozen)
    argv = ["--root", str(root), *args]
    assert run_fast(argv) == 0, "the fast path declined"
    fast = capsys.readouterr().out
    monkeypatch.setenv("DOCKYARD_NO_FASTPATH", "1")
    cli.main(argv, prog_name="dockyard", standalone_mode=False)
    monkeypatch.delenv("DOCKYARD_NO_FASTPATH")
    return fast, capsys.readouterr().out


def test_fast_ps_prints_what_the_click_command_prints(
    dy: Cli, croot: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dy("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "--expose", "90", "busybox", "sleep", "300")
    dy("run", "--name", "quitter", "busybox", "sh", "-c", "exit 3", check=False)
    dy("create", "--name", "fresh", "busybox", "echo", 'say "hello world"\tnow')
    dy("run", "-d", "--name", "napper", "busybox", "sleep", "300")
    dy("pause", "napper")
    image_id = dy("image", "inspect", "--format", "{{.Id}}", "busybox").stdout.strip()
    dy("run", "-d", "--name", "by-id", image_id, "sleep", "300")
    forms = [["ps"], ["ps", "-a"], ["ps", "-q"], ["ps", "-aq"], ["ps", "-a", "--no-trunc"], ["ps", "-n", "2"],
             ["ps", "--last=3"], ["ps", "-l"], ["ps", "-qa", "--no-trunc"], ["container", "ls", "-a"],
             ["container", "list"], ["container", "ps", "-al"]]  # fmt: skip
    for args in forms:
        fast, slow = _both(croot, args, capsys, monkeypatch)
        assert fast == slow, args
    table = _both(croot, ["ps", "-a"], capsys, monkeypatch)[0]
    assert "90/tcp, 127.0.0.1:" in table and "->80/tcp" in table  # the columns really were filled
    assert "Exited (3) About an hour ago" in table and "Up About an hour (Paused)" in table
    assert '"echo \'say \\"hello world\\"\\tnow\'"' in _both(croot, ["ps", "-a", "--no-trunc"], capsys, monkeypatch)[0]


def test_fast_ps_leaves_a_root_that_needs_a_reconcile_to_the_engine(
    dy: Cli, croot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = dy("run", "-d", "busybox", "sleep", "300").stdout.strip()
    assert run_fast(["--root", str(croot), "ps", "-q"]) == 0
    assert capsys.readouterr().out == cid[:12] + "\n"
    monitor = int((croot / "containers" / cid / "conmon.pid").read_text())
    os.kill(monitor, signal.SIGKILL)  # the row still says running: only a reconcile may show it otherwise
    wait_for(lambda: not Path(f"/proc/{monitor}").exists() or b"Z" in Path(f"/proc/{monitor}/stat").read_bytes())
    assert run_fast(["--root", str(croot), "ps", "-a"]) is None
    out = dy("ps", "-a").stdout  # the click command reconciles
    assert "Exited (" in out
    assert run_fast(["--root", str(croot), "ps", "-a"]) == 0  # settled again: fast
    assert "Exited (" in capsys.readouterr().out
    (croot / "run" / "containers.boot_id").write_text("another-boot")  # as after a reboot
    assert run_fast(["--root", str(croot), "ps"]) is None
