"""A dockyard API server on a private socket, for real Docker clients (docker CLI, docker-py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.service import api_service_process


class ApiServer:
    def __init__(self, root: Path, socket: Path, proc: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.socket = socket
        self.proc = proc

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def docker(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        docker = shutil.which("docker")
        if docker is None:
            pytest.skip("the docker CLI is not installed")
        env = {**os.environ, "DOCKER_HOST": self.url, "DOCKER_CONFIG": str(self.root / "docker-config")}
        proc = subprocess.run([docker, *args], input=input, capture_output=True, text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture
def api(state_root: Path, tmp_path: Path) -> Iterator[ApiServer]:
    socket = tmp_path / "dockyard.sock"
    with api_service_process(state_root, socket, tmp_path / "service.log") as proc:
        yield ApiServer(state_root, socket, proc)
