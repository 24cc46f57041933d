"""Shared fixtures: an isolated state root per test, and the dockyard CLI run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT_REQUIRED = os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ROOT_REQUIRED:
        return
    skip = pytest.mark.skip(reason="integration tests need root (CI runs them as root)")
    for item in items:
        if "integration" in item.keywords or "compat" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def state_root(tmp_path: Path) -> Iterator[Path]:
    """A fresh dockyard state root. Afterwards its containers are removed, its networks (bridges, nft table,
    DNS) destroyed and everything mounted under it unmounted, whatever the test did."""
    root = tmp_path / "root"
    root.mkdir()
    yield root
    teardown_root(root)


def teardown_root(root: Path) -> None:
    if (root / "dockyard.db").exists():
        subprocess.run([sys.executable, "-c", _TEARDOWN, str(root)], capture_output=True, timeout=120)
    _unmount_under(root)


_TEARDOWN = """
import sys
from dockyard.engine import Engine
from dockyard.settings import load_settings
engine = Engine(load_settings(sys.argv[1]))
try:
    from dockyard.engine.containers import RemoveOptions
    ids = [s.record.id for s in engine.containers.list(all=True)]
    if ids:
        engine.containers.remove(ids, RemoveOptions(force=True, volumes=True))
except Exception as exc:
    print("containers:", exc, file=sys.stderr)
try:
    engine.networks.manager.destroy_all()
except Exception as exc:
    print("networks:", exc, file=sys.stderr)
"""


def _unmount_under(root: Path) -> None:
    prefix = str(root)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    for mp in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False, capture_output=True)


class Cli:
    """Runs ``python -m dockyard --root ROOT ...`` and returns the CompletedProcess."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self, *args: str, input: bytes | str | None = None, check: bool = True, timeout: float = 120, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKYARD_ROOT": str(self.root)}
        env.update({k: str(v) for k, v in kw.pop("env", {}).items()})  # type: ignore[attr-defined]
        proc = subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            input=input.decode() if isinstance(input, bytes) else input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"dockyard {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc


@pytest.fixture
def cli(state_root: Path) -> Cli:
    return Cli(state_root)


@pytest.fixture
def busybox(cli: Cli) -> str:
    """The busybox image bootstrapped into the test's root (the rootfs tar is cached across tests)."""
    cli("image", "bootstrap", "busybox")
    return "busybox"
