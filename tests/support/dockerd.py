"""A private dockerd for interop tests: own data root and socket, no bridge, no iptables changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class Dockerd:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def docker(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        proc = subprocess.run(["docker", *args], input=input, capture_output=True, env=env, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {proc.stderr.decode()}")
        return proc


@contextmanager
def private_dockerd(tmp: Path) -> Iterator[Dockerd]:
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        pytest.skip("dockerd is not installed (apt-get install docker.io)")
    tmp.mkdir(parents=True, exist_ok=True)
    socket = tmp / "docker.sock"
    args = [
        "dockerd",
        f"--host=unix://{socket}",
        f"--data-root={tmp / 'data'}",
        f"--exec-root={tmp / 'exec'}",
        f"--pidfile={tmp / 'docker.pid'}",
        "--bridge=none",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--storage-driver=overlay2",
        f"--containerd-namespace=dy{os.getpid()}",
        f"--containerd-plugins-namespace=dyp{os.getpid()}",
    ]
    log = open(tmp / "dockerd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        daemon = Dockerd(socket)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(tmp / 'dockerd.log').read_text()[-2000:]}")
            if socket.exists() and daemon.docker("version", check=False).returncode == 0:
                break
            if time.time() > deadline:
                raise RuntimeError("dockerd did not start in 60 s")
            time.sleep(0.2)
        yield daemon
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", str(tmp / "data")], capture_output=True)
        subprocess.run(["umount", "-R", str(tmp / "exec")], capture_output=True)
        shutil.rmtree(tmp / "data", ignore_errors=True)
