"""``dockyard events`` on real containers: the past events of a run in order with Docker's attributes, a following
``events`` seeing what another process does, and the same log over ``GET /events`` to the real docker CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.service import api_service_process

pytestmark = pytest.mark.integration


def _events(dy: Cli, *args: str) -> list[dict[str, object]]:
    out = dy("events", "--since", "2m", "--until", "0s", "--format", "{{json .}}", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_a_run_shows_create_start_die_destroy(dy: Cli) -> None:
    since = f"{time.time() - 1:.3f}"
    dy("run", "--name", "ev1", "-l", "team=blue", "busybox", "sh", "-c", "exit 3", check=False)
    assert dy("ps", "-aq", "--no-trunc", "-f", "name=ev1").stdout.strip()
    dy("rm", "ev1")
    lines = dy("events", "--since", since, "--until", "0s", "-f", "container=ev1").stdout.splitlines()
    actions = [line.split()[2] for line in lines]
    assert actions == ["create", "start", "die", "destroy"], lines
    assert lines[2].endswith("(exitCode=3, image=busybox, name=ev1, team=blue)"), lines[2]
    assert lines[0].split()[1] == "container" and lines[0][29] == "Z"  # nanoseconds, fixed width
    events = _events(dy, "-f", "type=container", "-f", "event=die", "-f", "label=team=blue")
    assert len(events) == 1
    die = events[0]
    cid = die["id"]
    assert isinstance(cid, str) and len(cid) == 64
    assert die["status"] == "die" and die["from"] == "busybox" and die["scope"] == "local"
    assert die["Actor"] == {
        "ID": cid,
        "Attributes": {"exitCode": "3", "image": "busybox", "name": "ev1", "team": "blue"},
    }
    assert die["time"] == int(die["timeNano"]) // 10**9  # type: ignore[call-overload]
    assert _events(dy, "-f", "event=die", "-f", "label=team=red") == []
    assert dy("events", "--since", "1m", "--until", "0s", "--format", "{{.Status}} {{.Actor.Attributes.name}}",
              "-f", "event=destroy").stdout.splitlines()[-1] == "destroy ev1"  # fmt: skip


def test_events_follows_what_other_processes_do(dy: Cli, croot: Path) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"],
        env={**os.environ, "DOCKYARD_ROOT": str(croot)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # started (it shows nothing from before it started: no --since)
        dy("run", "--rm", "--name", "ev2", "busybox", "true")
        time.sleep(1.0)
    finally:
        follower.send_signal(2)  # Ctrl-C: a quiet exit 0
        out, err = follower.communicate(timeout=15)
    assert follower.returncode == 0, err
    lines = out.splitlines()
    assert lines == ["container create ev2", "container start ev2", "container die ev2", "container destroy ev2"], out


@pytest.fixture
def api_socket(croot: Path, tmp_path: Path) -> Iterator[Path]:
    socket = tmp_path / "api.sock"
    with api_service_process(croot, socket, tmp_path / "service.log"):
        yield socket


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_docker_cli_sees_the_events(dy: Cli, api_socket: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{api_socket}", "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    follower = subprocess.Popen(
        ["docker", "events", "--format", "{{json .}}", "--filter", "type=container"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        dy("run", "--rm", "--name", "ev3", "busybox", "true")  # another process: the service sees it in the log
        time.sleep(1.5)
    finally:
        follower.terminate()
        out, _ = follower.communicate(timeout=15)
    followed = [json.loads(line) for line in out.splitlines()]
    assert [e["Action"] for e in followed] == ["create", "start", "die", "destroy"], out
    assert all(e["Actor"]["Attributes"]["name"] == "ev3" for e in followed)
    past = subprocess.run(
        ["docker", "events", "--since", "1m", "--until", "0s", "--filter", "event=die"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert len(past) == 1 and " container die " in past[0] and "(exitCode=0, image=busybox, name=ev3)" in past[0]


def test_image_and_volume_events(dy: Cli) -> None:
    image_id = dy("images", "-q", "--no-trunc", "busybox").stdout.strip()
    dy("tag", "busybox", "evtag:v1")
    dy("rmi", "evtag:v1")
    dy("volume", "create", "evvol")
    dy("volume", "rm", "evvol")
    lines = dy("events", "--since", "1m", "--until", "0s", "-f", "type=image", "-f", "type=volume").stdout.splitlines()
    tail = [line.split(" ", 1)[1] for line in lines[-4:]]
    assert tail == [
        f"image tag {image_id} (name=evtag:v1)",
        f"image untag {image_id} (name={image_id})",
        "volume create evvol (driver=local)",
        "volume destroy evvol (driver=local)",
    ], lines
    assert [e["Action"] for e in _events(dy, "-f", "image=evtag")] == ["tag"]
