"""The real docker CLI against dockyard's API socket: ``docker volume create/ls/inspect/rm/prune``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.settings import Settings
from tests.compat.conftest import ApiServer, api  # noqa: F401  (the fixture)
from tests.conftest import Cli
from tests.integration.volumes.conftest import container_id

pytestmark = [pytest.mark.integration, pytest.mark.compat]


def test_docker_volume_commands(api: ApiServer, cli: Cli, state_root: Path) -> None:  # noqa: F811
    assert api.docker("volume", "create", "--label", "team=a", "web").stdout == "web\n"
    anon = api.docker("volume", "create").stdout.strip()
    assert len(anon) == 64
    # what docker made, dockyard sees, and the other way round
    cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "mem")
    assert sorted(cli("volume", "ls", "-q").stdout.split()) == sorted([anon, "mem", "web"])
    lines = api.docker("volume", "ls").stdout.splitlines()
    assert lines[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert [line.split() for line in lines[1:]] == [["local", anon], ["local", "mem"], ["local", "web"]]
    assert api.docker("volume", "ls", "-q", "--filter", "label=team=a").stdout == "web\n"
    assert api.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == [anon, "mem", "web"]

    [doc] = json.loads(api.docker("volume", "inspect", "web").stdout)
    assert doc == json.loads(cli("volume", "inspect", "web").stdout)[0]
    assert doc["Mountpoint"] == str(state_root / "volumes/web/_data") and doc["Labels"] == {"team": "a"}
    [mem] = json.loads(api.docker("volume", "inspect", "mem").stdout)
    assert mem["Options"] == {"type": "tmpfs", "device": "tmpfs"}
    assert api.docker("volume", "inspect", "-f", "{{.Driver}}/{{.Scope}}", "web").stdout == "local/local\n"

    r = api.docker("volume", "inspect", "nope", check=False)
    assert r.returncode != 0 and "get nope: no such volume" in r.stderr
    r = api.docker("volume", "create", "x!", check=False)
    assert r.returncode != 0 and 'create x!: "x!" includes invalid characters for a local volume name' in r.stderr

    cid = container_id()
    Engine(Settings(root=state_root)).volumes.use("web", cid)
    r = api.docker("volume", "rm", "web", check=False)
    assert r.returncode != 0 and f"remove web: volume is in use - [{cid}]" in r.stderr
    assert api.docker("volume", "ls", "-q", "--filter", "dangling=false").stdout == "web\n"
    Engine(Settings(root=state_root)).volumes.release(cid)
    assert api.docker("volume", "rm", "web").stdout == "web\n"
    r = api.docker("volume", "rm", "web", check=False)
    assert r.returncode != 0 and "get web: no such volume" in r.stderr
    assert api.docker("volume", "rm", "-f", "web").returncode == 0

    # API 1.41 (what the docker CLI negotiates with us): prune removes every unused volume without driver
    # options, named ones included, as dockerd did before 1.42
    api.docker("volume", "create", "named")
    out = api.docker("volume", "prune", "-f").stdout
    assert out.startswith("Deleted Volumes:\n") and out.endswith("Total reclaimed space: 0B\n")
    assert sorted(out.splitlines()[1:3]) == sorted([anon, "named"])
    assert cli("volume", "ls", "-q").stdout == "mem\n"
