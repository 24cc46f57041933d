"""Push and pull of a 200 MB random single-layer image with ``skopeo copy``: dockyard's registry vs Debian's
``docker-registry`` (distribution 2.8), both on loopback without auth, same client, fresh storage per run.

    python3 bench/registry_server/push_pull.py [--size-mb 200] [--runs 3]

Prints the median push and pull times (and MB/s) of each registry. Never asserts timings.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layout(directory: Path, size_mb: int) -> int:
    """An OCI layout with one gzip layer of random bytes (gzip so skopeo keeps it as it is); the layer's size."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    raw = os.urandom(size_mb << 20)
    layer = gzip.compress(raw, compresslevel=1, mtime=0)
    del raw
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer), "size": len(layer)}
            ],
        }
    ).encode()
    for blob in (config, manifest, layer):
        (blobs / sha(blob)[7:]).write_bytes(blob)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "1"},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return len(layer)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/v2/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"registry at {url} did not start")


@contextmanager
def dockyard_registry(storage: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "dockyard", "--log-level", "error", "registry", "serve"]
    cmd += ["--addr", f"127.0.0.1:{port}", "--storage", str(storage), "--allow-anonymous-push"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_up(f"http://127.0.0.1:{port}", proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


@contextmanager
def distribution_registry(storage: Path) -> Iterator[str]:
    port = free_port()
    config = storage.parent / f"{storage.name}.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {storage}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(8)}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}", proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def skopeo(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def measure(name: str, registry: Callable[[Path], object], layout: Path, work: Path, runs: int) -> dict[str, float]:
    pushes, pulls = [], []
    for i in range(runs):
        storage = work / f"{name}-{i}"
        with registry(storage) as host:  # type: ignore[attr-defined]
            ref = f"docker://{host}/bench/random:1"
            pushes.append(skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:1", ref))
            out = work / f"pulled-{name}-{i}"
            pulls.append(skopeo("copy", "--src-tls-verify=false", ref, f"oci:{out}:1"))
            shutil.rmtree(out)
        shutil.rmtree(storage)
    return {"push": statistics.median(pushes), "pull": statistics.median(pulls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for tool in ("skopeo", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-registry-") as tmp:
        work = Path(tmp)
        layout = work / "layout"
        size = make_layout(layout, args.size_mb)
        results = {
            "dockyard": measure("dockyard", dockyard_registry, layout, work, args.runs),
            "distribution": measure("distribution", distribution_registry, layout, work, args.runs),
        }
    mb = size / 1e6
    print(f"skopeo copy of one {mb:.0f} MB layer on loopback, median of {args.runs} runs")
    print(f"{'registry':<14}{'push s':>9}{'push MB/s':>11}{'pull s':>9}{'pull MB/s':>11}")
    for name, r in results.items():
        print(f"{name:<14}{r['push']:>9.2f}{mb / r['push']:>11.0f}{r['pull']:>9.2f}{mb / r['pull']:>11.0f}")
    d, b = results["dockyard"], results["distribution"]
    print(f"dockyard/distribution time ratio: push {d['push'] / b['push']:.2f}, pull {d['pull'] / b['pull']:.2f}")


if __name__ == "__main__":
    main()
