"""``system df`` (docker's four rows, and ``GET /system/df`` for Docker's clients) and ``system prune``."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration


def _rows(cli: Cli) -> dict[str, dict[str, str]]:
    return {r["Type"]: r for r in map(json.loads, cli("system", "df", "--format", "json").stdout.splitlines())}


def test_df_counts_what_each_kind_takes(cli: Cli, busybox: str) -> None:
    cli("volume", "create", "full")
    cli("volume", "create", "inuse")
    cli("run", "--rm", "-v", "full:/d", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /d/f")
    cli("run", "-d", "--name", "up", "-v", "inuse:/d", "busybox", "sleep", "60")
    cli("run", "--name", "wrote", "busybox", "sh", "-c", "head -c 3000 /dev/zero > /x")
    table = cli("system", "df").stdout.splitlines()
    assert re.fullmatch(r"TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE", table[0])
    assert [line.split()[0] for line in table[1:]] == ["Images", "Containers", "Local", "Build"]
    rows = _rows(cli)
    # one image, used by a container: nothing of it reclaimable
    images = rows["Images"]
    assert (images["TotalCount"], images["Active"], images["Reclaimable"]) == ("1", "1", "0B (0%)")
    # two containers, one running; what the stopped one wrote is reclaimable
    assert (rows["Containers"]["TotalCount"], rows["Containers"]["Active"]) == ("2", "1")
    assert rows["Containers"]["Reclaimable"].startswith("3kB") and rows["Containers"]["Reclaimable"].endswith("%)")
    # two volumes, one in use; the unused one holds the 5 kB
    volumes = rows["Local Volumes"]
    assert (volumes["TotalCount"], volumes["Active"], volumes["Size"], volumes["Reclaimable"]) == (
        "2", "1", "5kB", "5kB (100%)",
    )  # fmt: skip
    assert rows["Build Cache"] == {"Type": "Build Cache", "TotalCount": "0", "Active": "0", "Size": "0B",
                                   "Reclaimable": "0B"}  # fmt: skip
    assert cli("system", "df", "--format", "{{.Type}}={{.Active}}").stdout.splitlines() == [
        "Images=1", "Containers=1", "Local Volumes=1", "Build Cache=0",
    ]  # fmt: skip
    cli("rm", "-f", "up", "wrote")


def test_prune_asks_then_removes_what_nothing_uses(cli: Cli, busybox: str) -> None:
    cli("run", "--name", "stopped", "busybox", "true")
    cli("run", "-d", "--name", "running", "busybox", "sleep", "60")
    cli("network", "create", "unused")
    cli("volume", "create", "named")
    cli("run", "--name", "anon", "-v", "/data", "busybox", "true")
    refused = cli("system", "prune", input="n\n")
    assert refused.stdout == (
        "WARNING! This will remove:\n"
        "  - all stopped containers\n"
        "  - all networks not used by at least one container\n"
        "  - all dangling images\n"
        "  - all dangling build cache\n\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert sorted(cli("ps", "-a", "--format", "{{.Names}}").stdout.split()) == ["anon", "running", "stopped"]
    anonymous = [v for v in cli("volume", "ls", "-q").stdout.split() if v != "named"]
    out = cli("system", "prune", "-f", "--volumes").stdout
    assert out.startswith("Deleted Containers:\n") and "\nDeleted Networks:\nunused\n\n" in out
    assert f"\nDeleted Volumes:\n{anonymous[0]}\n\n" in out and out.endswith("\nTotal reclaimed space: 0B\n")
    assert cli("ps", "-a", "--format", "{{.Names}}").stdout == "running\n"
    assert cli("volume", "ls", "-q").stdout == "named\n"  # named volumes stay (docker 23 on)
    assert cli("images", "--format", "{{.Repository}}").stdout == "busybox\n"  # in use, and tagged
    cli("rm", "-f", "running")
    assert "Deleted Images:\nuntagged: busybox:latest\n" in cli("system", "prune", "-a", "-f").stdout
    assert cli("images", "-q").stdout == ""
