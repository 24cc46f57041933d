"""Fixtures for pull/push through the ``dockyard`` CLI against Debian's ``docker-registry`` on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.registry.servers import Distribution, running

from .proxy import ThrottledProxy


class Dockyard(Cli):
    """The CLI with its own state root and its own ``DOCKER_CONFIG`` (no credentials leak between tests)."""

    def __init__(self, root: Path, docker_config: Path) -> None:
        super().__init__(root)
        self.docker_config = docker_config

    def __call__(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        env = {"DOCKER_CONFIG": str(self.docker_config), **kw.pop("env", {})}  # type: ignore[dict-item]
        return super().__call__(*args, env=env, **kw)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "DOCKYARD_ROOT": str(self.root), "DOCKER_CONFIG": str(self.docker_config)}
        return subprocess.Popen(
            [sys.executable, "-m", "dockyard", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def dy(state_root: Path, tmp_path: Path) -> Dockyard:
    return Dockyard(state_root, tmp_path / "docker-config")


@pytest.fixture
def other_root(tmp_path: Path) -> Iterator[Dockyard]:
    """A second, independent dockyard (a second machine pulling what the first pushed)."""
    from tests.conftest import _unmount_under

    root = tmp_path / "root2"
    root.mkdir()
    yield Dockyard(root, tmp_path / "docker-config2")
    _unmount_under(root)


def _need_registry() -> None:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")


@pytest.fixture(scope="module")
def open_registry() -> Iterator[Distribution]:
    _need_registry()
    with running("none") as registry:
        yield registry


@pytest.fixture(scope="module")
def basic_registry() -> Iterator[Distribution]:
    _need_registry()
    with running("htpasswd") as registry:
        yield registry


@pytest.fixture
def own_registry() -> Iterator[Distribution]:
    """A registry of the test's own, to kill and restart."""
    _need_registry()
    with running("none") as registry:
        yield registry


@pytest.fixture
def proxy_to() -> Iterator[type[ThrottledProxy]]:
    made: list[ThrottledProxy] = []

    class Factory(ThrottledProxy):
        def __init__(self, *args: object, **kw: object) -> None:
            super().__init__(*args, **kw)  # type: ignore[arg-type]
            made.append(self)

    yield Factory
    for proxy in made:
        proxy.close()


def random_layer_tar(path: Path, size: int, name: str = "blob.bin") -> Path:
    """A tar with one file of ``size`` random bytes (incompressible: the layer blob is as big)."""
    data = path.with_suffix(".data")
    with open(data, "wb") as f:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 1 << 20))
            f.write(chunk)
            remaining -= len(chunk)
    with tarfile.open(path, "w") as tar:
        tar.add(data, arcname=name)
    data.unlink()
    return path


def unique(name: str) -> str:
    return f"{name}-{os.getpid()}-{os.urandom(3).hex()}"
