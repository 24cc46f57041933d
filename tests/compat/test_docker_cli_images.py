"""The real docker CLI against dockyard's API socket: version, info, images, tag, rmi, inspect, save/load."""

from __future__ import annotations

import json
import re

import pytest

from tests.compat.conftest import ApiServer
from tests.conftest import Cli

pytestmark = [pytest.mark.integration, pytest.mark.compat]


def test_version_and_info(api: ApiServer) -> None:
    out = api.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    assert out == "1.41"
    info = json.loads(api.docker("info", "--format", "{{json .}}").stdout)
    assert info["Driver"] == "overlay2" and info["DockerRootDir"] == str(api.root)


def test_images_tag_inspect_rmi(api: ApiServer, cli: Cli, busybox: str) -> None:
    lines = api.docker("images").stdout.splitlines()
    assert re.match(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE", lines[0])
    assert lines[1].split()[:2] == ["busybox", "latest"]
    # the docker CLI's rows match dockyard's own
    assert (
        api.docker("images", "--format", "{{.ID}} {{.Size}}").stdout
        == cli("images", "--format", "{{.ID}} {{.Size}}").stdout
    )
    api.docker("tag", "busybox", "127.0.0.1:5000/pango/get-started:part2")
    assert "127.0.0.1:5000/pango/get-started:part2" in cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    [data] = json.loads(api.docker("image", "inspect", "busybox").stdout)
    assert data["Config"]["Cmd"] == ["sh"]
    out = api.docker("rmi", "127.0.0.1:5000/pango/get-started:part2").stdout
    assert out.strip() == "Untagged: 127.0.0.1:5000/pango/get-started:part2"
    r = api.docker("rmi", "no-such-image", check=False)
    assert r.returncode != 0 and "No such image: no-such-image:latest" in r.stderr
    r = api.docker("inspect", "no-such-object-xyz", check=False)
    assert r.returncode != 0 and "No such object: no-such-object-xyz" in r.stderr


def test_save_and_load_through_the_api(api: ApiServer, busybox: str, tmp_path: object) -> None:
    from pathlib import Path

    archive = Path(str(tmp_path)) / "bb.tar"
    api.docker("save", "-o", str(archive), "busybox")
    api.docker("rmi", "busybox")
    assert "Loaded image: busybox:latest" in api.docker("load", "-i", str(archive)).stdout
    assert api.docker("images", "-q").stdout.strip()


def test_system_df_through_the_api(api: ApiServer, cli: Cli, busybox: str) -> None:
    """``GET /system/df``: the docker CLI builds its table from it, and it is dockyard's own table."""
    cli("volume", "create", "v1")
    cli("run", "-d", "--name", "up", "-v", "v1:/d", "busybox", "sleep", "60")
    assert api.docker("system", "df").stdout == cli("system", "df").stdout
    verbose = api.docker("system", "df", "-v").stdout
    assert re.search(r"^busybox\s+latest\s+\w{12}\s+.*\s1\n", verbose, re.M)  # one container uses it
    assert re.search(r"^v1\s+1\s+0B$", verbose, re.M)  # LINKS 1, empty
    cli("rm", "-f", "up")
