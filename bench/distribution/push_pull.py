"""``dockyard push`` / ``pull`` against Debian's ``docker-registry`` on loopback, side by side with ``skopeo copy``,
Podman (own storage, ``--runtime runc``) and Docker (a private ``dockerd``, started here and stopped at the end).

Two images:

* ``random`` — one layer holding a single file of ``--size-mb`` random bytes (incompressible: the blob is as big);
* ``slim``   — ``debian:bookworm-slim`` (bootstrapped, 77 MB rootfs) plus three layers (8 MB random, 8 MB of text,
  2000 small files): about 45 MB compressed in four layers, the stand-in for python:3.11-slim.

Push: a fresh registry (empty storage) for every run, so every blob is really sent. dockyard and ``skopeo`` send
the stored blobs as they are (skopeo from an OCI layout of the image); ``skopeo-tar`` copies from a docker-archive
(``dockyard save``: uncompressed layers, like ``docker-daemon:``), so it gzips every layer on the way — what the
brief's skopeo figures include; Docker and Podman keep layers uncompressed and compress them as they push, as they
always do. Pull: each engine removes the image (and its layers) before every
run, so every layer is downloaded *and* unpacked; skopeo copies to a directory (no unpacking, the brief's
reference). Each figure is a whole command as a user runs it (process start included), median of ``--runs`` runs,
the engines taking turns within each run. Prints figures and ratios; never asserts timings.

    python3 bench/distribution/push_pull.py [--runs 3] [--size-mb 200] [--only random|slim] [--no-docker]
        [--no-podman]
"""

from __future__ import annotations

import argparse
import contextlib
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import Engine, private_docker, private_podman, unmount_under

SRC = Path(__file__).resolve().parents[2] / "src"

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
    """dockyard (on the benchmark's root) and skopeo; Docker and Podman when they are installed and wanted."""

    def __init__(self, root: Path, docker: Engine | None = None, podman: Engine | None = None) -> None:
        env = {**os.environ, "DOCKYARD_ROOT": str(root), "DOCKER_CONFIG": str(root / "docker-config")}
        self.dy = Engine("dockyard", [sys.executable, "-m", "dockyard"], env)
        self.skopeo = Engine("skopeo", ["skopeo", "--insecure-policy"], env)
        self.docker = docker
        self.podman = podman

    def dockyard(self, *args: str) -> float:
        return self.dy.timed(*args)


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


def measure(name: str, image: str, tools: Tools, work: Path, runs: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {"push": {}, "pull": {}}

    def add(kind: str, tool: str, value: float) -> None:
        results[kind].setdefault(tool, []).append(value)

    dy, skopeo, docker, podman = tools.dy, tools.skopeo, tools.docker, tools.podman
    layout = oci_layout(tools, work, image)
    archive = work / f"{name}.docker.tar"
    podman_name = ""
    dy("save", "-o", str(archive), image)
    if docker is not None:
        docker("load", "-i", str(archive))
    if podman is not None:
        loaded = podman("load", "-i", str(archive))
        podman_name = loaded.strip().splitlines()[-1].split("Loaded image:", 1)[-1].strip().split(",")[0]
    for i in range(runs):
        with registry(work / f"push-{name}-{i}") as host:
            target = f"{host}/bench/{name}:1"
            dy("tag", image, target)
            add("push", "dockyard", dy.timed("push", target))
            dy("rmi", target)
        with registry(work / f"push-skopeo-{name}-{i}") as host:
            add(
                "push",
                "skopeo",
                skopeo.timed("copy", "--dest-tls-verify=false", f"oci:{layout}", f"docker://{host}/b:1"),
            )
        with registry(work / f"push-skopeo-tar-{name}-{i}") as host:  # uncompressed layers: skopeo gzips them
            source = f"docker-archive:{archive}"
            add("push", "skopeo-tar", skopeo.timed("copy", "--dest-tls-verify=false", source, f"docker://{host}/b:1"))
        if podman is not None:
            with registry(work / f"push-podman-{name}-{i}") as host:
                dest = f"docker://{host}/bench/{name}:1"
                add("push", "podman", podman.timed("push", "--tls-verify=false", podman_name, dest))
        if docker is not None:
            with registry(work / f"push-docker-{name}-{i}") as host:
                docker("tag", image, f"{host}/bench/{name}:1")
                add("push", "docker", docker.timed("push", f"{host}/bench/{name}:1"))
                docker("rmi", f"{host}/bench/{name}:1")
    # the engines must download every layer: nothing of the image may be left in their stores
    if docker is not None:
        docker.quiet("rmi", "-f", image)
    if podman is not None:
        podman.quiet("rmi", "-f", podman_name)
    with registry(work / f"pull-{name}") as host:
        source = f"{host}/bench/{name}:1"
        dy("tag", image, source)
        dy("push", source)
        dy("rmi", image)
        for i in range(runs):
            # nothing may be left: the slim image's base (debian:bookworm-slim, bootstrapped to build it) holds its
            # biggest layer, which a bare `rmi` of the image keeps (before 2026-11-29 the slim pull skipped it)
            dy("image", "prune", "-a", "-f")
            assert not dy("images", "-q").strip(), "the store still holds images before a pull"
            add("pull", "dockyard", dy.timed("pull", source))
            out = work / f"skopeo-{name}-{i}"
            add("pull", "skopeo", skopeo.timed("copy", "--src-tls-verify=false", f"docker://{source}", f"dir:{out}"))
            shutil.rmtree(out)
            if podman is not None:
                podman.quiet("rmi", "-f", source)
                add("pull", "podman", podman.timed("pull", "--tls-verify=false", source))
            if docker is not None:
                docker.quiet("rmi", "-f", source)
                add("pull", "docker", docker.timed("pull", source))
        dy("tag", source, image)
        dy("rmi", source)
    if podman is not None:
        podman.quiet("rmi", "-af")
    if docker is not None:
        docker.quiet("rmi", "-f", source)
    archive.unlink(missing_ok=True)
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
            spread = " ".join(f"{v:.2f}" for v in results[kind][tool])
            print(
                f"    {tool:<10} median {med:6.2f} s  best {best:6.2f} s  ({size / 1e6 / med:5.0f} MB/s){ratio}"
                f"   [{spread}]"
            )
        for tool, value in reference.get(kind, {}).items():
            print(f"    {tool:<10} brief  {value:6.2f} s (reference figure)   dockyard/{tool} = {ours / value:.2f}")


def blob_bytes(root: Path, image: str, tools: Tools) -> int:
    out = tools.dy("image", "inspect", "--format", "{{.Id}}", image).strip()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from dockyard.engine import Engine as DockyardEngine
    from dockyard.settings import load_settings

    engine = DockyardEngine(load_settings(root))
    image_obj = engine.images.get(out)
    return sum(d.size for d in image_obj.manifest.layers) + image_obj.manifest.config.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--only", choices=["random", "slim"])
    parser.add_argument("--no-docker", action="store_true", help="do not start a private dockerd")
    parser.add_argument("--no-podman", action="store_true")
    args = parser.parse_args()
    for tool in ("skopeo", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    print(
        "load average at start: {:.2f} {:.2f} {:.2f} (other work on the machine skews every figure)".format(
            *os.getloadavg()
        )
    )
    with contextlib.ExitStack() as stack:
        docker = None if args.no_docker else stack.enter_context(private_docker())
        podman = None if args.no_podman else stack.enter_context(private_podman())
        print(f"docker: {'measured' if docker else 'not measured'}; podman: {'measured' if podman else 'not measured'}")
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dockyard-bench-dist-"))
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        stack.callback(unmount_under, root)
        tools = Tools(root, docker, podman)
        # what an install does (scripts/install.sh): bytecode and the dataclass compile cache
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(SRC / "dockyard")], check=False)
        dcache = [sys.executable, "-m", "dockyard.cli.dcache"]
        subprocess.run(dcache, check=False, capture_output=True, env=tools.dy.env)
        cases: list[tuple[str, str, Callable[[], object], dict[str, dict[str, float]]]] = []
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
            results = measure(name, image, tools, work, args.runs)
            report(f"{name} ({image})", size, results, reference)
    print("\nload average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
