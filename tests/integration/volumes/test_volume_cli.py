"""``dockyard volume ...`` round trips, with docker's output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.settings import Settings
from tests.conftest import Cli
from tests.integration.volumes.conftest import container_id

pytestmark = pytest.mark.integration


def test_create_ls_inspect_rm(cli: Cli, state_root: Path) -> None:
    assert cli("volume", "create", "v10").stdout == "v10\n"
    assert cli("volume", "create", "--label", "env=prod", "--label", "flag", "v2").stdout == "v2\n"
    anon = cli("volume", "create").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", anon)
    lines = cli("volume", "ls").stdout.splitlines()
    assert lines[0] == "DRIVER    VOLUME NAME"
    assert [line.split() for line in lines[1:]] == [["local", anon], ["local", "v2"], ["local", "v10"]]
    assert cli("volume", "list", "-q").stdout.split() == [anon, "v2", "v10"]
    assert cli("volume", "ls", "-q", "--filter", "label=env=prod").stdout == "v2\n"
    assert cli("volume", "ls", "-q", "-f", "name=v1").stdout == "v10\n"
    assert cli("volume", "ls", "--format", "{{.Name}} {{.Labels}} {{.Scope}}", "-f", "name=v2").stdout == (
        "v2 env=prod,flag= local\n"
    )
    row = json.loads(cli("volume", "ls", "--format", "json", "-f", "name=v10").stdout)
    assert row["Name"] == "v10" and row["Mountpoint"] == str(state_root / "volumes/v10/_data")
    assert list(row) == sorted(row)
    table = cli("volume", "ls", "--format", "table {{.Name}}\t{{.Mountpoint}}", "-f", "name=v10").stdout
    assert table.splitlines()[0].split() == ["VOLUME", "NAME", "MOUNTPOINT"]

    [doc] = json.loads(cli("volume", "inspect", "v2").stdout)
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert doc["Labels"] == {"env": "prod", "flag": ""} and doc["Options"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", str(doc["CreatedAt"]))
    assert cli("volume", "inspect", "--format", "{{.Mountpoint}}", "v2").stdout == (f"{state_root}/volumes/v2/_data\n")
    r = cli("volume", "inspect", "v2", "nope", check=False)
    assert r.returncode == 1 and len(json.loads(r.stdout)) == 1
    assert r.stderr == "Error response from daemon: get nope: no such volume\n"
    # the generic inspect finds volumes too
    assert cli("inspect", "--type", "volume", "--format", "{{.Name}}", "v10").stdout == "v10\n"

    assert cli("volume", "rm", "v10", "v2").stdout == "v10\nv2\n"
    r = cli("volume", "rm", "v10", check=False)
    assert r.returncode == 1 and r.stderr == "Error response from daemon: get v10: no such volume\n"
    assert cli("volume", "rm", "-f", "v10").returncode == 0
    assert cli("volume", "ls", "-q").stdout.split() == [anon]


def test_create_errors(cli: Cli) -> None:
    r = cli("volume", "create", "x!", check=False)
    assert r.returncode == 1
    assert r.stderr.startswith(
        'Error response from daemon: create x!: "x!" includes invalid characters for a local volume name'
    )
    r = cli("volume", "create", "-o", "type=tmpfs", "t1", check=False)
    assert r.returncode == 1 and 'missing required option: "device"' in r.stderr
    r = cli("volume", "create", "--driver", "nfs", "t1", check=False)
    assert 'error looking up volume plugin nfs: plugin "nfs" not found' in r.stderr
    r = cli("volume", "create", "--name", "a1", "a2", check=False)
    assert "Conflicting options: either specify --name or provide positional arg, not both" in r.stderr
    assert cli("volume", "create", "--name", "a1").stdout == "a1\n"
    r = cli("volume", "ls", "-f", "bogus=1", check=False)
    assert r.returncode == 1 and "invalid filter 'bogus'" in r.stderr


def test_create_with_driver_options(cli: Cli) -> None:
    cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m,uid=1000", "mem")
    [doc] = json.loads(cli("volume", "inspect", "mem").stdout)
    assert doc["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=10m,uid=1000"}


def test_rm_refuses_a_volume_in_use(cli: Cli, state_root: Path) -> None:
    cli("volume", "create", "busy")
    cid = container_id()
    Engine(Settings(root=state_root)).volumes.use("busy", cid)
    r = cli("volume", "rm", "busy", check=False)
    assert r.returncode == 1 and r.stderr == f"Error response from daemon: remove busy: volume is in use - [{cid}]\n"
    assert cli("volume", "ls", "-q", "-f", "dangling=false").stdout == "busy\n"
    assert cli("volume", "ls", "-q", "-f", "dangling=true").stdout == ""
    Engine(Settings(root=state_root)).volumes.release(cid)
    assert cli("volume", "rm", "busy").stdout == "busy\n"


def test_prune(cli: Cli, state_root: Path) -> None:
    cli("volume", "create", "named")
    anon = cli("volume", "create").stdout.strip()
    (state_root / f"volumes/{anon}/_data/blob").write_bytes(b"a" * 12000)
    r = cli("volume", "prune", input="n\n")
    assert r.stdout.startswith(
        "WARNING! This will remove anonymous local volumes not used by at least one container.\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert len(cli("volume", "ls", "-q").stdout.split()) == 2
    out = cli("volume", "prune", input="y\n").stdout
    assert out.endswith(f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 12kB\n")
    assert cli("volume", "prune", "-f").stdout == "Total reclaimed space: 0B\n"
    r = cli("volume", "prune", "--all", input="n\n")
    assert r.stdout.startswith("WARNING! This will remove all local volumes not used by at least one container.")
    cli("volume", "create", "--label", "keep=1", "kept")
    out = cli("volume", "prune", "-a", "-f", "--filter", "label!=keep").stdout
    assert out == "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n"
    assert cli("volume", "ls", "-q").stdout == "kept\n"
