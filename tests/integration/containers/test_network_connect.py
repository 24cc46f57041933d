"""`network connect`/`disconnect` are remembered by the container: later starts attach the same networks."""

from __future__ import annotations

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration


def test_connect_is_remembered_across_starts(cli: Cli, busybox: str) -> None:
    cli("network", "create", "extra")
    cli("create", "--name", "c1", "busybox", "sleep", "60")
    cli("network", "connect", "--alias", "other", "extra", "c1")  # stopped: recorded for the next start
    cli("start", "c1")
    nets = cli("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "c1", check=False)
    if nets.returncode != 0:  # no range support in the template engine: read the JSON instead
        import json

        nets_json = json.loads(cli("inspect", "c1").stdout)[0]["NetworkSettings"]["Networks"]
        names = sorted(nets_json)
    else:
        names = sorted(nets.stdout.split())
    assert names == ["bridge", "extra"]
    links = cli("exec", "c1", "ip", "-o", "link").stdout
    assert "eth1" in links
    cli("stop", "-t", "0", "c1")
    cli("network", "disconnect", "extra", "c1")
    cli("start", "c1")
    assert "eth1" not in cli("exec", "c1", "ip", "-o", "link").stdout
    cli("rm", "-f", "c1")
    cli("network", "rm", "extra")
