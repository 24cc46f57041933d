"""Base images made without a registry: busybox from busybox-static, debian with mmdebstrap."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration


def _rootfs_entries(cli: Cli, image: str) -> set[str]:
    [data] = json.loads(cli("image", "inspect", image).stdout)
    upper = data["GraphDriver"]["Data"]["UpperDir"]
    return set(os.listdir(upper))


def test_busybox_behaves_like_the_official_image(cli: Cli) -> None:
    first = cli("image", "bootstrap", "busybox").stdout
    [data] = json.loads(cli("image", "inspect", "busybox:latest").stdout)
    assert data["Config"]["Cmd"] == ["sh"]
    assert data["Config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert {"bin", "etc", "tmp", "root"} <= _rootfs_entries(cli, "busybox")
    upper = data["GraphDriver"]["Data"]["UpperDir"]
    assert os.path.samefile(f"{upper}/bin/sh", f"{upper}/bin/busybox")
    # reproducible: the cached rootfs gives the same image ID again
    assert cli("image", "bootstrap", "busybox").stdout.split()[1] == first.split()[1]


@pytest.mark.slow
@pytest.mark.parametrize("tag", ["bookworm-slim", "trixie-slim"])
def test_debian_slim(cli: Cli, tag: str) -> None:
    cli("image", "bootstrap", f"debian:{tag}", timeout=900)
    [data] = json.loads(cli("image", "inspect", f"debian:{tag}").stdout)
    assert data["Config"]["Cmd"] == ["bash"]
    assert data["Size"] < 120_000_000  # slim: docs, man pages and locales filtered out
    upper = data["GraphDriver"]["Data"]["UpperDir"]
    assert os.path.islink(f"{upper}/bin")  # merged /usr
    assert os.path.exists(f"{upper}/usr/bin/apt-get") and os.path.exists(f"{upper}/etc/debian_version")
    assert not os.listdir(f"{upper}/usr/share/man") if os.path.isdir(f"{upper}/usr/share/man") else True
    assert os.path.exists(f"{upper}/etc/dpkg/dpkg.cfg.d")  # the slim filters stay for later installs
    with open(f"{upper}/var/lib/dpkg/status") as f:
        packages = {line.split()[1] for line in f if line.startswith("Package:")}
    assert "usrmerge" not in packages and "perl" not in packages  # perl-base only, as in the official image
    assert {"bash", "apt", "dpkg", "coreutils"} <= packages


def test_unknown_bootstrap_name(cli: Cli) -> None:
    r = cli("image", "bootstrap", "alpine", check=False)
    assert r.returncode == 1 and "only busybox and debian" in r.stderr
