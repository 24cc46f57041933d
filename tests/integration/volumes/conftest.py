"""Fixtures for volume tests: an engine over the test's own state root, and fake container IDs.

Mounts made under the root (tmpfs and bind volumes) are detached by the ``state_root`` fixture afterwards,
even when a test fails.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.settings import Settings


@pytest.fixture
def engine(state_root: Path) -> Engine:
    return Engine(Settings(root=state_root))


def container_id() -> str:
    return secrets.token_hex(32)


def mounted(path: Path) -> bool:
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)
