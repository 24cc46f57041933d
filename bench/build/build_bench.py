"""``dockyard build`` of the tutorial app, side by side with ``docker build`` (a private dockerd, legacy builder) and
``podman build`` when installed; plus the context hash of a 200 MB context and layer-commit throughput.

Scenarios (median of ``--runs`` runs each, whole commands as a user runs them):

* cold        -- ``--no-cache``: every step runs, ``pip install`` downloads Flask and Redis from PyPI;
* cached      -- nothing changed: every step from the cache;
* touch       -- ``touch app.py`` before each run (mtime is not an input: still fully cached);
* edit        -- ``app.py`` edited before each run (ADD and everything after it rebuilt);
* context200  -- a 200 MB context (``data/``, 200 files of 1 MB, copied) plus 3000 small files a ``.dockerignore``
  leaves out: first build, then a cached rebuild (the context is hashed again, the copy is not redone).

Every tool builds the same Dockerfile on the same ``python:3.11-slim`` (made by ``recipes/``, loaded into the private
dockerd with ``dockyard save | docker load``) with ``--network host`` (the private dockerd has no bridge); pip uses
``--trusted-host`` for pypi.org and files.pythonhosted.org, because this host re-signs HTTPS and only dockyard has
``--host-ca``. A last row shows dockyard's real tutorial flow (default bridge network, ``--host-ca``).

Layer commit: :func:`dockyard.build.layertar.commit_upper` (tar + diff ID + multi-threaded ISA-L gzip + blob +
adopting the directory) on a copy of a Python site-packages tree, against ``tar | gzip -6`` (one thread, what
Docker's compress/gzip does) on the same tree.

    python3 bench/build/build_bench.py [--runs 3] [--only cold,cached,...] [--no-docker] [--root DIR]

Prints figures and ratios; never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKYARD = [sys.executable, "-m", "dockyard"]

# Measured on this machine by the author (two runs), printed for reference.
REFERENCE = {
    "cold": {"docker": (2.9, 3.0), "podman": (3.4, 3.8)},
    "cached": {"docker": (0.05, 0.07), "podman": (0.34, 0.57)},
    "touch": {"docker": (0.05, 0.06), "podman": (0.37, 0.39)},
    "edit": {"docker": (2.8, 2.8), "podman": (3.2, 3.2)},
}

DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
ADD . /app
RUN pip install --trusted-host pypi.python.org --trusted-host pypi.org --trusted-host files.pythonhosted.org \\
    -r requirements.txt
EXPOSE 80
ENV NAME World
CMD ["python", "app.py"]
"""
BIG_DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . /app\nRUN ls /app | wc -l\n"


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def timed(runs: int, command: Callable[[], float], before: Callable[[], None] | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        out.append(command())
    return out


# -- tools ------------------------------------------------------------------------------------------------------
class Dockyard:
    name = "dockyard"

    def __init__(self, root: Path, extra: tuple[str, ...] = ("--network", "host")) -> None:
        self.root = root
        self.extra = extra

    def build(self, ctx: Path, *flags: str) -> float:
        return run([*DOCKYARD, "--root", str(self.root), "build", *self.extra, *flags, "-t", "bench", str(ctx)])


class Docker:
    name = "docker"

    def __init__(self, socket: Path) -> None:
        self.env = {"DOCKER_HOST": f"unix://{socket}", "DOCKER_BUILDKIT": "0"}

    def cli(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["docker", *args], input=input, env={**os.environ, **self.env}, capture_output=True, check=True
        )

    def build(self, ctx: Path, *flags: str) -> float:
        return run(["docker", "build", "--network", "host", *flags, "-t", "bench", str(ctx)], env=self.env)


class Podman:
    name = "podman"

    def __init__(self, root: Path) -> None:
        self.args = ["podman", "--root", str(root / "storage"), "--runroot", str(root / "run"), "--runtime", "runc"]

    def build(self, ctx: Path, *flags: str) -> float:
        return run([*self.args, "build", "--layers", "--network", "host", *flags, "-t", "bench", str(ctx)])


def unmount_under(prefix: Path) -> None:
    """Everything mounted below ``prefix`` (dockerd leaves its netns and overlay mounts), deepest first."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(str(prefix))]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


@contextmanager
def private_dockerd(tmp: Path) -> Iterator[Path]:
    """dockerd on its own socket and data root (no bridge, no iptables changes), stopped afterwards."""
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
        f"--containerd-namespace=dybuild{os.getpid()}",
        f"--containerd-plugins-namespace=dybuildp{os.getpid()}",
    ]
    with open(tmp / "dockerd.log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.time() + 60
            env = {**os.environ, "DOCKER_HOST": f"unix://{socket}"}
            while subprocess.run(["docker", "version"], env=env, capture_output=True).returncode != 0:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"dockerd did not start: {(tmp / 'dockerd.log').read_text()[-2000:]}")
                time.sleep(0.2)
            yield socket
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
            unmount_under(tmp)
            shutil.rmtree(tmp / "data", ignore_errors=True)
            shutil.rmtree(tmp / "exec", ignore_errors=True)


# -- contexts ---------------------------------------------------------------------------------------------------
def app_context(tmp: Path, name: str) -> Path:
    ctx = tmp / name
    shutil.copytree(REPO / "examples" / "friendlyhello", ctx)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def big_context(tmp: Path, name: str) -> Path:
    ctx = tmp / name
    (ctx / "data").mkdir(parents=True)
    chunk = os.urandom(1 << 20)
    for i in range(200):
        (ctx / "data" / f"part{i:03}.bin").write_bytes(chunk[i:] + chunk[:i])
    for i in range(3000):
        d = ctx / "node_modules" / f"pkg{i // 100}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.js").write_text(f"module.exports = {i};\n")
    (ctx / ".dockerignore").write_text("node_modules\n*.log\n")
    (ctx / "Dockerfile").write_text(BIG_DOCKERFILE)
    return ctx


def scenarios(tool: Dockyard | Docker | Podman, tmp: Path, runs: int, only: set[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    tmp.mkdir(parents=True, exist_ok=True)
    ctx = app_context(tmp, "app")
    tool.build(ctx)  # warm: the base image's layers in the page cache, PyPI's answers in the proxy
    if "cold" in only:
        out["cold"] = timed(runs, lambda: tool.build(ctx, "--no-cache"))
    tool.build(ctx)
    if "cached" in only:
        out["cached"] = timed(runs, lambda: tool.build(ctx))
    if "touch" in only:
        out["touch"] = timed(runs, lambda: tool.build(ctx), lambda: os.utime(ctx / "app.py"))
    if "edit" in only:
        counter = iter(range(1_000_000))
        out["edit"] = timed(
            runs,
            lambda: tool.build(ctx),
            lambda: (ctx / "app.py").write_text((ctx / "app.py").read_text() + f"# edit {next(counter)}\n"),
        )
    if "context200" in only:
        big = big_context(tmp, "big")
        out["context200 first"] = [tool.build(big, "--no-cache")]
        out["context200 cached"] = timed(runs, lambda: tool.build(big))
        shutil.rmtree(big)
    return out


# -- layer commit -----------------------------------------------------------------------------------------------
def commit_throughput(tmp: Path) -> None:
    import site

    source = Path(site.getsitepackages()[0])
    root = tmp / "commit-root"
    tree = tmp / "tree"
    shutil.copytree(source, tree, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    size = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file() and not f.is_symlink())
    start = time.perf_counter()
    subprocess.run(f"tar -C {tree} -cf - . | gzip -6 > {tmp / 'tree.tar.gz'}", shell=True, check=True)
    gzip_time = time.perf_counter() - start
    from dockyard.settings import load_settings
    from dockyard.store import Store

    store = Store.open(load_settings(root).layout)
    upper = store.layout.layers / f"bench-upper-{os.getpid()}"
    shutil.copytree(tree, upper, symlinks=True)
    with store.lease() as lease:
        start = time.perf_counter()
        from dockyard.build.layertar import commit_upper

        blob = commit_upper(store, lease, upper, None)
        ours = time.perf_counter() - start
    print(f"\n## layer commit of {size / 1e6:.0f} MB ({source})")
    print(f"  tar | gzip -6 (one thread)   {gzip_time:7.2f} s  {size / gzip_time / 1e6:7.0f} MB/s")
    print(
        f"  dockyard commit_upper        {ours:7.2f} s  {size / ours / 1e6:7.0f} MB/s   "
        f"({gzip_time / ours:.1f}x faster; blob {blob.descriptor.size / 1e6:.1f} MB)"
    )
    store.db.close()


def _private_subnets() -> dict[str, object]:
    """A /20 of 10.72.0.0/14 no route of this host uses, so the bench's bridge collides with nobody's."""
    import ipaddress
    import random

    from dockyard.network.ipam import host_routes

    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.72.0.0/14").subnets(new_prefix=20))
    random.shuffle(blocks)
    block = next(b for b in blocks if not any(b.overlaps(u) for u in used))
    subnets = list(block.subnets(new_prefix=24))
    return {
        "bip": f"{subnets[0].network_address + 1}/24",
        "default-address-pools": [{"base": str(s), "size": 24} for s in subnets[1:]],
    }


# -- main -------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="cold,cached,touch,edit,context200,commit")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--root", help="a dockyard root that already has python:3.11-slim (skips the recipes)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="dockyard-build-bench-") as t:
        tmp = Path(t)
        root = Path(args.root) if args.root else tmp / "root"
        try:
            results = measure(root, tmp, args.runs, only, fresh=not args.root, docker=not args.no_docker)
        finally:
            subprocess.run([*DOCKYARD, "--root", str(root), "builder", "prune", "-a", "-f"], capture_output=True)
            if not args.root:
                from dockyard.network.manager import NetworkManager
                from dockyard.settings import load_settings

                manager = NetworkManager(load_settings(root))
                manager.destroy_all()
                manager.close()
            unmount_under(tmp)
        names = ["cold", "cached", "touch", "edit", "context200 first", "context200 cached"]
        print("\n## build of the tutorial app (median seconds; min-max)")
        print(f"  {'':30}" + "".join(f"{n:>22}" for n in names))
        for tool, figures in results.items():
            cells = []
            for n in names:
                values = figures.get(n)
                text = f"{statistics.median(values):.3f} ({min(values):.2f}-{max(values):.2f})" if values else ""
                cells.append(text)
            print(f"  {tool:<30}" + "".join(f"{c:>22}" for c in cells))
        print("  reference (issue, this host): " + "; ".join(f"{k} docker {v['docker']}" for k, v in REFERENCE.items()))
        if "commit" in only:
            commit_throughput(tmp)


def measure(
    root: Path, tmp: Path, runs: int, only: set[str], *, fresh: bool, docker: bool
) -> dict[str, dict[str, list[float]]]:
    if fresh:
        root.mkdir()
        (root / "config.json").write_text(json.dumps(_private_subnets()))
        print("building the base images with recipes/build.sh ...", flush=True)
        run(["sh", str(REPO / "recipes" / "build.sh"), "--root", str(root)], env={"DOCKYARD": " ".join(DOCKYARD)})
    results: dict[str, dict[str, list[float]]] = {}
    print("dockyard ...", flush=True)
    results["dockyard"] = scenarios(Dockyard(root), tmp / "dockyard", runs, only)
    results["dockyard (bridge, --host-ca)"] = scenarios(
        Dockyard(root, ("--host-ca",)), tmp / "dockyard-bridge", runs, only & {"cold", "cached"}
    )
    image = tmp / "python.tar"
    with open(image, "wb") as f:
        subprocess.run([*DOCKYARD, "--root", str(root), "save", "python:3.11-slim"], stdout=f, check=True)
    if docker and shutil.which("dockerd") and shutil.which("docker"):
        print("docker ...", flush=True)
        (tmp / "docker").mkdir()
        with private_dockerd(tmp / "docker") as socket:
            client = Docker(socket)
            client.cli("load", "-i", str(image))
            results["docker"] = scenarios(client, tmp / "docker-ctx", runs, only)
    if shutil.which("podman"):
        print("podman ...", flush=True)
        podman = Podman(tmp / "podman")
        subprocess.run([*podman.args, "load", "-i", str(image)], capture_output=True, check=False)
        results["podman"] = scenarios(podman, tmp / "podman-ctx", runs, only)
    return results


if __name__ == "__main__":
    main()
