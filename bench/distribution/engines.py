"""The engines ``push_pull.py`` compares dockyard with, each started privately and removed afterwards.

* Docker: a private ``dockerd`` (own data root, exec root, socket and containerd namespaces; no bridge, no
  iptables), stopped and unmounted at the end. Loopback registries are insecure for it by default.
* Podman: its own storage root and run root (overlay, ``--runtime runc``), unmounted and removed at the end.
* skopeo: stateless (``--insecure-policy``).

Every command is timed as a user runs it: the whole process, from start to exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Engine", "private_docker", "private_podman", "run", "timed", "unmount_under"]


def run(argv: list[str], env: dict[str, str] | None = None, *, input: bytes | None = None) -> str:
    proc = subprocess.run(argv, env=env, input=input, capture_output=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout.decode()[-2000:]}\n{proc.stderr.decode()[-2000:]}")
    return proc.stdout.decode()


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    run(argv, env)
    return time.perf_counter() - start


class Engine:
    """A command-line tool with its own state (``argv(*args)`` builds a command line)."""

    def __init__(self, name: str, prefix: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.prefix = prefix
        self.env = env

    def argv(self, *args: str) -> list[str]:
        return [*self.prefix, *args]

    def __call__(self, *args: str, input: bytes | None = None) -> str:
        return run(self.argv(*args), self.env, input=input)

    def timed(self, *args: str) -> float:
        return timed(self.argv(*args), self.env)

    def quiet(self, *args: str) -> None:
        """Run, ignoring failure (cleanup steps)."""
        subprocess.run(self.argv(*args), env=self.env, capture_output=True, timeout=300, check=False)


def unmount_under(path: Path) -> None:
    """Unmount everything mounted at or below ``path`` (deepest first)."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    prefix = str(path)
    for point in sorted((p for p in points if p == prefix or p.startswith(prefix + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@contextlib.contextmanager
def private_docker() -> Iterator[Engine | None]:
    """A private dockerd (None when docker is not installed or does not start)."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-dist-dockerd-"))
    socket = tmp / "docker.sock"
    (tmp / "daemon.json").write_text("{}")
    args = [
        "dockerd",
        f"--host=unix://{socket}",
        f"--data-root={tmp / 'data'}",
        f"--exec-root={tmp / 'exec'}",
        f"--pidfile={tmp / 'docker.pid'}",
        f"--config-file={tmp / 'daemon.json'}",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--bridge=none",
        "--storage-driver=overlay2",
        "--log-level=error",
        f"--containerd-namespace=dydist{os.getpid()}",
        f"--containerd-plugins-namespace=dydistp{os.getpid()}",
    ]
    log = open(tmp / "dockerd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    docker = Engine("docker", ["docker"], {**os.environ, "DOCKER_HOST": f"unix://{socket}"})
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            probe = subprocess.run(docker.argv("version"), env=docker.env, capture_output=True, check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.2)
        if proc.poll() is not None or time.monotonic() >= deadline:
            print(f"(dockerd did not start: {(tmp / 'dockerd.log').read_text()[-500:]})")
            yield None
            return
        yield docker
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        unmount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def private_podman() -> Iterator[Engine | None]:
    """Podman on a storage of its own (None when podman is not installed)."""
    if shutil.which("podman") is None:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-dist-podman-"))
    podman = Engine(
        "podman",
        [
            "podman",
            "--root",
            str(tmp / "storage"),
            "--runroot",
            str(tmp / "run"),
            "--storage-driver",
            "overlay",
            "--runtime",
            "runc",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ],
    )
    try:
        yield podman
    finally:
        podman.quiet("rmi", "-af")
        unmount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
