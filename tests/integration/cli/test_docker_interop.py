"""Images move between Docker and dockyard through `save`/`load` in both directions."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.dockerd import private_dockerd

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("hello.txt", b"hello from docker\n"), ("etc/os-release", b"ID=test\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_save_load_both_ways(cli: Cli, busybox: str, tmp_path: Path) -> None:
    with private_dockerd(tmp_path / "docker") as docker:
        # dockyard -> docker
        ours = tmp_path / "ours.tar"
        cli("save", "-o", str(ours), "busybox")
        out = docker.docker("load", "-i", str(ours)).stdout.decode()
        assert "Loaded image: busybox:latest" in out
        our_id = cli("images", "-q", "--no-trunc", "busybox").stdout.strip()
        assert docker.docker("images", "-q", "--no-trunc", "busybox").stdout.decode().strip() == our_id
        # docker -> dockyard (an image Docker made itself)
        docker.docker("import", "-c", 'CMD ["/bin/true"]', "-", "fromdocker:v1", input=_rootfs_tar())
        theirs = tmp_path / "theirs.tar"
        docker.docker("save", "-o", str(theirs), "fromdocker:v1", "busybox")
        their_id = docker.docker("images", "-q", "--no-trunc", "fromdocker:v1").stdout.decode().strip()
    cli("rmi", "busybox")
    lines = cli("load", "-i", str(theirs)).stdout.splitlines()
    assert sorted(lines) == ["Loaded image: busybox:latest", "Loaded image: fromdocker:v1"]
    assert cli("images", "-q", "--no-trunc", "fromdocker:v1").stdout.strip() == their_id
    assert cli("images", "-q", "--no-trunc", "busybox").stdout.strip() == our_id
    [data] = json.loads(cli("image", "inspect", "fromdocker:v1").stdout)
    assert data["Config"]["Cmd"] == ["/bin/true"]
    upper = data["GraphDriver"]["Data"]["UpperDir"]
    assert Path(upper, "hello.txt").read_text() == "hello from docker\n"
