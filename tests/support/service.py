"""``dockyard system service`` on a private unix socket, for tests that drive the Docker Engine API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["api_service_process"]


@contextmanager
def api_service_process(
    state_root: Path, socket: Path, log_path: Path, timeout: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the API service of ``state_root`` on ``socket`` (its output in ``log_path``), wait until it listens,
    and stop it (SIGTERM, then SIGKILL after 10 s) however the body ends."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "system", "service", f"unix://{socket}"],
            env={**os.environ, "DOCKYARD_ROOT": str(state_root)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.time() + timeout
            while not socket.exists():
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"service did not start: {log_path.read_text()}")
                time.sleep(0.02)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
