"""``dockyard push`` / ``pull`` against Debian's ``docker-registry`` on loopback, side by side with ``skopeo copy``
(and ``docker push/pull`` or ``podman`` when one is installed and running; dockerd is never started here).

Two images:

* ``random`` — one layer holding a single file of ``--size-mb`` random bytes (incompressible: the blob is as big);
* ``slim``   — ``debian:bookworm-slim`` (bootstrapped, 77 MB rootfs) plus three layers (8 MB random, 8 MB of text,
  2000 small files): about 50 MB compressed in four layers.

Push: a fresh registry (empty storage) for every run, so every blob is really sent. Pull: the image is removed
locally (``rmi``, which also collects its blobs and layers) before every run, so every layer is downloaded *and*
unpacked; skopeo pulls to a directory (no unpacking, the brief's reference). Each figure is a whole command as a user
runs it (process start included), median of ``--runs`` runs. Prints figures and ratios; never asserts timings.

    python3 bench/distribution/push_pull.py [--runs 3] [--size-mb 200] [--only random|slim]
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Measured on this machine against the same registry (the brief of issue 6); printed for comparison.
REFERENCE = {
    "random": {
        "push": {"docker": 3.62, "podman": 1.28, "skopeo": 1.94},
        "pull": {"docker": 1.56, "podman": 0.99, "skopeo": 0.73},
    },
    "python:3.11-slim (53 MB)": {
        "push": {"docker": 2.55, "podman": 1.60, "skopeo": 2.26},
        "pull": {"docker": 3.5, "podman": 3.8, "skopeo": 0.23},
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def registry(storage: Path) -> Iterator[str]:
    """distribution 2.8 without auth on a free loopback port, storing in ``storage``."""
    port = free_port()
    config = storage.parent / f"{storage.name}.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
        f"  secret: {secrets.token_hex(8)}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        shutil.rmtree(storage, ignore_errors=True)
        config.unlink(missing_ok=True)


class Tools:
    def __init__(self, root: Path) -> None:
        self.env = {**os.environ, "DOCKYARD_ROOT": str(root), "DOCKER_CONFIG": str(root / "docker-config")}

    def dockyard(self, *args: str) -> float:
        return timed([sys.executable, "-m", "dockyard", *args], self.env)

    def skopeo(self, *args: str) -> float:
        return timed(["skopeo", "--insecure-policy", *args], self.env)

    def docker(self, *args: str) -> float:
        return timed(["docker", *args], dict(os.environ))


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def docker_running() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


# -- images ------------------------------------------------------------------------------------------------------


def random_tar(path: Path, size: int) -> Path:
    data = path.with_suffix(".bin")
    with open(data, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    with tarfile.open(path, "w") as tar:
        tar.add(data, arcname="random.bin")
    data.unlink()
    return path


def make_slim(root: Path, tools: Tools) -> None:
    """debian:bookworm-slim plus three layers, built in the store the way a build would."""
    tools.dockyard("image", "bootstrap", "debian:bookworm-slim")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from dockyard.engine import Engine
    from dockyard.oci.image import History, parse_image_config
    from dockyard.oci.reference import parse_reference
    from dockyard.settings import load_settings
    from dockyard.store.commit import LayerBlob, ingest_layer_stream, write_image

    def tar_of(files: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return buf.getvalue()

    words = b" ".join(secrets.token_hex(3).encode() for _ in range(4096)) + b"\n"
    layers = [
        {"opt/random.bin": os.urandom(8 << 20)},
        {"usr/share/bench/text.txt": words * ((8 << 20) // len(words))},
        {f"srv/app/m{i // 100}/f{i}.py": os.urandom(512).hex().encode() * 4 for i in range(2000)},
    ]
    engine = Engine(load_settings(root))
    base = engine.images.get("debian:bookworm-slim")
    store = engine.store
    with store.lease() as lease:
        blobs: list[LayerBlob] = []
        parent = None
        for layer, desc in zip(reversed(store.layers.chain(base.record.top_layer)), base.manifest.layers, strict=True):
            blobs.append(LayerBlob(desc, layer.diff_id, layer))
            parent = layer.chain_id
        for files in layers:
            blob = ingest_layer_stream(store, lease, io.BytesIO(tar_of(files)), parent)
            blobs.append(blob)
            parent = blob.layer.chain_id
        config = parse_image_config(base.config_bytes)
        from dataclasses import replace

        config = replace(
            config,
            diff_ids=tuple(b.diff_id for b in blobs),
            history=(*config.history, *(History(created_by=f"bench layer {i}") for i in range(len(layers)))),
        )
        write_image(store, lease, config.to_json(), blobs, tags=[parse_reference("bench/slim:1")])


def oci_layout(tools: Tools, work: Path, image: str) -> Path:
    archive = work / f"{image.replace('/', '_').replace(':', '_')}.oci.tar"
    tools.dockyard("save", "--format", "oci-archive", "-o", str(archive), image)
    layout = archive.with_suffix(".d")
    layout.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    archive.unlink()
    return layout


# -- measuring ---------------------------------------------------------------------------------------------------


def measure(
    name: str, image: str, tools: Tools, work: Path, runs: int, docker: bool
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {"push": {}, "pull": {}}

    def add(kind: str, tool: str, value: float) -> None:
        results[kind].setdefault(tool, []).append(value)

    layout = oci_layout(tools, work, image)
    docker_archive = work / f"{name}.docker.tar"
    if docker:
        tools.dockyard("save", "-o", str(docker_archive), image)
        tools.docker("load", "-i", str(docker_archive))
    for i in range(runs):
        with registry(work / f"push-{name}-{i}") as host:
            target = f"{host}/bench/{name}:1"
            tools.dockyard("tag", image, target)
            add("push", "dockyard", tools.dockyard("push", target))
            tools.dockyard("rmi", target)
        with registry(work / f"push-skopeo-{name}-{i}") as host:
            add(
                "push",
                "skopeo",
                tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}", f"docker://{host}/b:1"),
            )
        if docker:
            with registry(work / f"push-docker-{name}-{i}") as host:
                tools.docker("tag", image, f"{host}/bench/{name}:1")
                add("push", "docker", tools.docker("push", f"{host}/bench/{name}:1"))
                tools.docker("rmi", f"{host}/bench/{name}:1")
    with registry(work / f"pull-{name}") as host:
        source = f"{host}/bench/{name}:1"
        tools.dockyard("tag", image, source)
        tools.dockyard("push", source)
        tools.dockyard("rmi", image)
        for i in range(runs):
            tools.dockyard("rmi", source)
            add("pull", "dockyard", tools.dockyard("pull", source))
            out = work / f"skopeo-{name}-{i}"
            add("pull", "skopeo", tools.skopeo("copy", "--src-tls-verify=false", f"docker://{source}", f"dir:{out}"))
            shutil.rmtree(out)
            if docker:
                subprocess.run(["docker", "rmi", source], capture_output=True)
                add("pull", "docker", tools.docker("pull", source))
        tools.dockyard("tag", source, image)
        tools.dockyard("rmi", source)
    if docker:
        subprocess.run(["docker", "rmi", image], capture_output=True)
    shutil.rmtree(layout)
    return results


def report(name: str, size: float, results: dict[str, dict[str, list[float]]], reference: dict[str, dict[str, float]]):
    print(f"\n## {name}: {size / 1e6:.0f} MB of blobs")
    for kind in ("push", "pull"):
        ours = statistics.median(results[kind]["dockyard"])
        print(f"  {kind}")
        rows = [(tool, statistics.median(v), min(v)) for tool, v in results[kind].items()]
        for tool, med, best in rows:
            ratio = "" if tool == "dockyard" else f"   dockyard/{tool} = {ours / med:.2f}"
            print(f"    {tool:<10} median {med:6.2f} s  best {best:6.2f} s  ({size / 1e6 / med:5.0f} MB/s){ratio}")
        for tool, value in reference.get(kind, {}).items():
            print(f"    {tool:<10} brief  {value:6.2f} s (reference figure)   dockyard/{tool} = {ours / value:.2f}")


def blob_bytes(root: Path, image: str, tools: Tools) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "dockyard", "image", "inspect", "--format", "{{.Id}}", image],
        env=tools.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from dockyard.engine import Engine
    from dockyard.settings import load_settings

    engine = Engine(load_settings(root))
    image_obj = engine.images.get(out)
    return sum(d.size for d in image_obj.manifest.layers) + image_obj.manifest.config.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--only", choices=["random", "slim"])
    args = parser.parse_args()
    for tool in ("skopeo", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    docker = docker_running()
    print(
        "load average at start: {:.2f} {:.2f} {:.2f} (other work on the machine skews every figure)".format(
            *os.getloadavg()
        )
    )
    print(
        f"docker: {'measured' if docker else 'not running here: reference figures only'}; podman: "
        f"{'installed (not measured)' if shutil.which('podman') else 'not installed'}"
    )
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-dist-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        tools = Tools(root)
        cases: list[tuple[str, str, Callable[[], None], dict[str, dict[str, float]]]] = []
        if args.only in (None, "random"):
            cases.append(
                (
                    "random",
                    "bench/random:1",
                    lambda: tools.dockyard(
                        "import", str(random_tar(work / "r.tar", args.size_mb << 20)), "bench/random:1"
                    ),
                    REFERENCE["random"] if args.size_mb == 200 else {},
                )
            )
        if args.only in (None, "slim"):
            cases.append(
                ("slim", "bench/slim:1", lambda: make_slim(root, tools), REFERENCE["python:3.11-slim (53 MB)"])
            )
        for name, image, make, reference in cases:
            make()
            size = blob_bytes(root, image, tools)
            results = measure(name, image, tools, work, args.runs, docker)
            report(f"{name} ({image})", size, results, reference)
        subprocess.run(["umount", "-R", str(root)], capture_output=True)
    print("\nload average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
