"""``builder prune``: cache entries go, with the intermediate images only they kept; ``-a`` also the cache behind
tagged images. And a build killed mid-step leaves nothing that the next build does not clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import assert_nothing_left, write_context

pytestmark = pytest.mark.integration


def test_prune_dangling_then_all(cli: Cli, busybox: str, tmp_path: Path, state_root: Path) -> None:
    tagged = write_context(tmp_path / "tagged", {"Dockerfile": "FROM busybox\nRUN echo t > /t\nENV A=1\n"})
    loose = write_context(tmp_path / "loose", {"Dockerfile": "FROM busybox\nRUN head -c 100000 /dev/urandom > /r\n"})
    cli("build", "-t", "keep", str(tagged))
    cli("build", str(loose))  # untagged: its images are dangling
    images_before = set(cli("images", "-a", "-q").stdout.split())
    r = cli("builder", "prune", "-f")
    assert r.stdout.startswith("Deleted build cache objects:\n")
    assert r.stdout.splitlines()[-1].startswith("Total reclaimed space: ")
    assert r.stdout.splitlines()[-1] != "Total reclaimed space: 0B"
    images_after = set(cli("images", "-a", "-q").stdout.split())
    assert len(images_before - images_after) == 1  # the loose build's RUN image
    assert "Using cache" in cli("build", "-t", "keep", str(tagged)).stdout
    assert "Using cache" not in cli("build", str(loose)).stdout
    # -a: the tagged image stays, but nothing is cached any more
    cli("builder", "prune", "-a", "-f")
    assert cli("images", "-q", "keep").stdout.strip() != ""
    assert "Using cache" not in cli("build", "-t", "keep", str(tagged)).stdout
    assert cli("builder", "prune", "-f", "--filter", "until=24h").stdout.endswith("Total reclaimed space: 0B\n")


def test_prune_asks_first(cli: Cli, busybox: str) -> None:
    r = cli("builder", "prune", input="n\n")
    assert r.stdout == "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] "


def test_killed_build_is_cleaned_up_by_the_next(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nRUN echo started && sleep 60\n"})
    env = {**os.environ, "DOCKYARD_ROOT": str(state_root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "build", "-t", "killed", str(ctx)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        deadline = time.time() + 60
        seen = b""
        while b"started" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
            assert time.time() < deadline
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    # the step's container, mount and snapshot are still there; the next build removes them
    write_context(ctx, {"Dockerfile": "FROM busybox\nRUN echo next\n"})
    cli("build", "-t", "next", str(ctx))
    assert cli("images", "-q", "killed").stdout == ""
    deadline = time.time() + 30
    while True:
        try:
            assert_nothing_left(state_root)
            break
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
