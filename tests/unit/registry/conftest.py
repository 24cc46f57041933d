"""Fixtures for the registry unit tests: an isolated ``DOCKER_CONFIG`` and a fake credential helper on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .fake_credhelper import Keychain, install_helper


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$DOCKER_CONFIG`` pointing at a fresh directory (which does not exist yet)."""
    path = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return path


@pytest.fixture
def keychain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keychain:
    """A ``docker-credential-test`` helper on PATH and its storage."""
    bin_dir = tmp_path / "bin"
    install_helper(bin_dir, "test")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    path = tmp_path / "keychain.json"
    monkeypatch.setenv("DOCKYARD_TEST_KEYCHAIN", str(path))
    return Keychain(path)
