"""Shared pieces of the container benchmarks: a throw-away dockyard root with busybox, a private dockerd and
podman with the same busybox image, timing helpers and cleanup.

Benchmarks report figures and ratios; they never assert timings. Docker runs privately (own data root, socket,
containerd namespace, no iptables changes) and is stopped afterwards; podman runs with ``--runtime runc`` and
ulimits this host allows, in its own storage root.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))
PYTHON = sys.executable
DOCKYARD = [PYTHON, "-m", "dockyard"]
PODMAN_FLAGS = ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
PODMAN_RUN_FLAGS = ["--ulimit", "nproc=1024:1024", "--ulimit", "nofile=1024:1024"]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(argv: Sequence[str], env: dict[str, str] | None = None, check: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=check)
    return time.perf_counter() - start


def repeat(argv: Sequence[str], runs: int, env: dict[str, str] | None = None, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        timed(argv, env)
    return [timed(argv, env) for _ in range(runs)]


def report(title: str, rows: list[tuple[str, float]], baseline: str | None = None, unit: str = "ms") -> None:
    print(f"\n## {title}")
    base = dict(rows).get(baseline) if baseline else None
    for name, value in rows:
        ratio = f"   ({value / base:.2f}x {baseline})" if base and name != baseline else ""
        shown = f"{value * 1000:9.1f} ms" if unit == "ms" else f"{value:9.2f} {unit}"
        print(f"  {name:<44} {shown}{ratio}")


def _free_subnet() -> ipaddress.IPv4Network:
    from dockyard.network.ipam import host_routes

    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.88.0.0/14").subnets(new_prefix=22))
    random.shuffle(blocks)
    for block in blocks:
        if not any(block.overlaps(u) for u in used):
            return block
    raise RuntimeError("no free subnet")


@dataclass
class Dockyard:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKYARD_ROOT": str(self.root)}

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([*DOCKYARD, *args], env=self.env, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"dockyard {' '.join(args)}: {proc.stderr}")
        return proc.stdout


def _cleanup_dockyard(root: Path) -> None:
    marker = str(root).encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                if marker in cmdline and (b"conmon" in cmdline.split(b"\0")[0] or b"dockyard" in cmdline):
                    os.kill(int(entry), signal.SIGKILL)
    runc_root = root / "run" / "runc"
    ids = [p.name for p in runc_root.iterdir()] if runc_root.is_dir() else []
    for cid in ids:
        subprocess.run(["runc", f"--root={runc_root}", "delete", "--force", cid], capture_output=True, check=False)
    containers = root / "containers"
    for cid in [*ids, *([p.name for p in containers.iterdir()] if containers.is_dir() else [])]:
        for controller in Path("/sys/fs/cgroup").iterdir():
            with contextlib.suppress(OSError):
                (controller / "dockyard" / cid).rmdir()
    with contextlib.suppress(Exception):
        from dockyard.network.manager import NetworkManager
        from dockyard.settings import load_settings

        manager = NetworkManager(load_settings(root))
        manager.destroy_all()
        manager.close()
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(str(root))]
    for mp in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def dockyard_root() -> Iterator[Dockyard]:
    """A fresh root with busybox and its own default-bridge subnet; everything removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-containers-"))
    subnets = list(_free_subnet().subnets(new_prefix=24))
    config = {
        "bip": f"{subnets[0].network_address + 1}/24",
        "default-address-pools": [{"base": str(s), "size": 24} for s in subnets[1:]],
    }
    (root / "config.json").write_text(json.dumps(config))
    dy = Dockyard(root)
    try:
        dy("image", "bootstrap", "busybox")
        # what an install does: bytecode, and the dataclass compile cache (see cli/dcache.py)
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "src" / "dockyard")], check=False)
        subprocess.run([PYTHON, "-m", "dockyard.cli.dcache"], check=False, capture_output=True)
        yield dy
    finally:
        _cleanup_dockyard(root)


@dataclass
class Docker:
    socket: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}

    def argv(self, *args: str) -> list[str]:
        return ["docker", *args]

    def __call__(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run(["docker", *args], env=self.env, input=input, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.decode()}")
        return proc.stdout.decode()


@contextlib.contextmanager
def private_docker(busybox_tar: bytes) -> Iterator[Docker | None]:
    """A private dockerd with busybox loaded (None when docker is not installed or does not start)."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-dockerd-"))
    socket = tmp / "docker.sock"
    had_docker0 = Path("/sys/class/net/docker0").exists()
    subnet = _free_subnet()
    args = [
        "dockerd",
        f"--host=unix://{socket}",
        f"--data-root={tmp / 'data'}",
        f"--exec-root={tmp / 'exec'}",
        f"--pidfile={tmp / 'docker.pid'}",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        f"--bip={subnet.network_address + 1}/24",
        "--storage-driver=overlay2",
        f"--containerd-namespace=dybench{os.getpid()}",
        f"--containerd-plugins-namespace=dybenchp{os.getpid()}",
    ]
    log = open(tmp / "dockerd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    docker = Docker(socket)
    try:
        deadline = time.time() + 60
        while proc.poll() is None and not (socket.exists() and docker("version", check=False)):
            if time.time() > deadline:
                break
            time.sleep(0.2)
        if proc.poll() is not None or not socket.exists():
            print(f"(dockerd did not start: {(tmp / 'dockerd.log').read_text()[-500:]})")
            yield None
            return
        docker("load", input=busybox_tar)
        yield docker
    finally:
        with contextlib.suppress(Exception):
            ids = docker("ps", "-aq", check=False).split()
            if ids:
                docker("rm", "-f", *ids, check=False)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", str(tmp / "data")], capture_output=True, check=False)
        subprocess.run(["umount", "-R", str(tmp / "exec")], capture_output=True, check=False)
        if not had_docker0:
            subprocess.run(["ip", "link", "del", "docker0"], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Podman:
    root: Path

    def argv(self, *args: str) -> list[str]:
        return [
            "podman",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            *PODMAN_FLAGS,
            *args,
        ]

    def __call__(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run(self.argv(*args), input=input, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {proc.stderr.decode()}")
        return proc.stdout.decode()


@contextlib.contextmanager
def private_podman(busybox_tar: bytes) -> Iterator[Podman | None]:
    if shutil.which("podman") is None:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-podman-"))
    podman = Podman(tmp)
    try:
        podman("load", input=busybox_tar)
        yield podman
    finally:
        with contextlib.suppress(Exception):
            podman("rm", "-af", "-t", "0", check=False)
        subprocess.run(["umount", "-R", str(tmp)], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def busybox_tar(dy: Dockyard) -> bytes:
    return subprocess.run([*DOCKYARD, "save", "busybox"], env=dy.env, capture_output=True, check=True).stdout


def rss_of(pid: int) -> tuple[int, int]:
    """(RSS, USS) in bytes of a process (USS: its private pages, from smaps_rollup)."""
    rss = uss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "Rss":
                rss = int(value.split()[0]) * 1024
            elif key in ("Private_Clean", "Private_Dirty"):
                uss += int(value.split()[0]) * 1024
    return rss, uss


def pids_named(name: bytes, marker: bytes = b"") -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                if name in cmdline.split(b"\0")[0] and marker in cmdline:
                    out.append(int(entry))
    return out


def parallel(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None) -> float:
    """Wall time to run all commands at once."""
    start = time.perf_counter()
    procs = [subprocess.Popen(list(c), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    for p in procs:
        p.wait()
    return time.perf_counter() - start


def sequential(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    for c in commands:
        subprocess.run(list(c), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


Step = Callable[[], None]
