"""``dockyard network ...`` as a user runs it: output shapes, Docker's error wording, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.network.manager import NetworkManager
from dockyard.settings import load_settings
from tests.conftest import Cli

pytestmark = pytest.mark.integration


@pytest.fixture
def ncli(net_root: Path) -> Iterator[Cli]:
    try:
        yield Cli(net_root)
    finally:
        m = NetworkManager(load_settings(net_root))
        m.destroy_all()
        m.close()


def test_network_lifecycle(ncli: Cli) -> None:
    out = ncli("network", "ls").stdout.splitlines()
    assert out[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [line.split()[1:] for line in out[1:]] == [
        ["bridge", "bridge", "local"],
        ["host", "host", "local"],
        ["none", "null", "local"],
    ]
    net_id = ncli("network", "create", "--label", "team=pango", "n1").stdout.strip()
    assert len(net_id) == 64
    assert ncli("network", "ls", "-q", "--filter", "name=n1").stdout.split() == [net_id[:12]]
    assert ncli("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Labels}}", "-f", "type=custom").stdout == (
        f"{net_id} team=pango\n"
    )
    doc = json.loads(ncli("network", "inspect", "n1").stdout)[0]
    assert doc["Name"] == "n1" and doc["Id"] == net_id and doc["Driver"] == "bridge"
    assert doc["IPAM"]["Config"][0]["Subnet"].endswith("/24") and doc["Labels"] == {"team": "pango"}
    assert ncli("network", "inspect", "-f", "{{.Name}} {{.Scope}}", net_id[:12]).stdout == "n1 local\n"
    assert json.loads(ncli("inspect", "n1").stdout)[0]["Id"] == net_id

    dup = ncli("network", "create", "n1", check=False)
    assert dup.returncode != 0 and "network with name n1 already exists" in dup.stderr
    overlap = ncli("network", "create", "--subnet", doc["IPAM"]["Config"][0]["Subnet"], "n2", check=False)
    assert overlap.returncode != 0 and "Pool overlaps with other one on this address space" in overlap.stderr
    missing = ncli("network", "rm", "nope", check=False)
    assert missing.returncode == 1 and "network nope not found" in missing.stderr
    predefined = ncli("network", "rm", "bridge", check=False)
    assert predefined.returncode == 1 and "bridge is a pre-defined network and cannot be removed" in predefined.stderr

    assert ncli("network", "rm", "n1").stdout == "n1\n"
    ncli("network", "create", "n3")
    assert ncli("network", "prune", "-f").stdout == "Deleted Networks:\nn3\n"
    assert ncli("network", "prune", "-f").stdout == ""
