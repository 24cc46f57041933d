"""``dockyard version --format``: the data of docker's own template — a client and a server, reachable by the Go
field names scripts use (``.Server.APIVersion``) while ``{{json .}}`` shows the JSON keys (``ApiVersion``)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration


def test_version_templates(cli: Cli) -> None:
    out = cli("version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Client.Context}}").stdout
    assert out == "1.41 1.41 default\n"
    data = json.loads(cli("version", "--format", "json").stdout)
    assert set(data["Client"]) == {"Platform", "Version", "ApiVersion", "DefaultAPIVersion", "GitCommit", "GoVersion",
                                   "Os", "Arch", "BuildTime", "Context", "Experimental"}  # fmt: skip
    assert data["Server"]["ApiVersion"] == "1.41" and "APIVersion" not in data["Server"]
    assert [c["Name"] for c in data["Server"]["Components"]][:1] == ["Engine"]
    bad = cli("version", "--format", "{{.Client.Nope}}", check=False)
    assert bad.returncode == 125 and 'map has no entry for key "Nope"' in bad.stderr
