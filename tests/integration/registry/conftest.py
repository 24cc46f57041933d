"""Fixtures: real registries (htpasswd / token / open), a faulty fake registry, a content store, DOCKER_CONFIG."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store.content import LocalContentStore

from .servers import Distribution, FaultyRegistry, running


@pytest.fixture(scope="module")
def basic_registry() -> Iterator[Distribution]:
    """distribution 2.8 with htpasswd auth (testuser / testpassword)."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("htpasswd") as registry:
        yield registry


@pytest.fixture(scope="module")
def token_registry() -> Iterator[Distribution]:
    """distribution 2.8 with token auth, backed by a TokenServer run by the test."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("token") as registry:
        yield registry


@pytest.fixture(scope="module")
def open_registry() -> Iterator[Distribution]:
    """distribution 2.8 without auth."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("none") as registry:
        yield registry


@pytest.fixture
def faulty() -> Iterator[FaultyRegistry]:
    server = FaultyRegistry()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def store(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path / "blobs", tmp_path / "ingest")


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return path
