"""Fixtures: dockyard's registry in a thread of the test process (open, or with htpasswd users)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.registry.server import RegistryThread
from tests.integration.registry_server.support import PASSWORD, USER, client, make_htpasswd, server_thread


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
def open_registry(storage: Path) -> Iterator[RegistryThread]:
    """Anonymous pulls and pushes (``--allow-anonymous-push``)."""
    with server_thread(storage, allow_anonymous_push=True) as registry:
        yield registry


@pytest.fixture
def http(open_registry: RegistryThread) -> Iterator[httpx.Client]:
    with client(open_registry.url) as c:
        yield c


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    return make_htpasswd(tmp_path / "htpasswd")


@pytest.fixture
def auth_registry(storage: Path, htpasswd: Path) -> Iterator[RegistryThread]:
    """htpasswd users only (alice / s3cret-pw), no anonymous access."""
    with server_thread(storage, htpasswd=htpasswd, realm="test-realm") as registry:
        yield registry


CREDS = (USER, PASSWORD)
