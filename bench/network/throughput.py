"""Requests/s through a published port (DNAT from 127.0.0.1) against the same server on the host network,
and against the container's address directly (routed, no DNAT). wrk, 2 threads x 32 connections, 5 s each.

    python3 bench/network/throughput.py [--duration 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import FAST_HTTP, bench_manager, free_port

from dockyard.network import NetworkOptions


def wrk(url: str, duration: int) -> tuple[float, str]:
    proc = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", proc.stdout).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", proc.stdout)
    return rps, p99.group(1) if p99 else "?"


def start(argv: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    procs: list[subprocess.Popen[str]] = []
    try:
        with bench_manager() as m:
            port = free_port()
            att = m.setup(os.urandom(32).hex(), "web", NetworkOptions.from_cli(publish=[f"{port}:8000"]))
            assert att.primary is not None
            procs.append(start(["nsenter", f"--net={att.netns}", sys.executable, "-c", FAST_HTTP, "8000"]))
            host_port = free_port()
            procs.append(start([sys.executable, "-c", FAST_HTTP, str(host_port)]))
            for label, url in (
                ("host network (127.0.0.1)", f"http://127.0.0.1:{host_port}/"),
                ("published port (127.0.0.1, DNAT)", f"http://127.0.0.1:{port}/"),
                ("container address (routed, no NAT)", f"http://{att.primary.ip}:8000/"),
            ):
                rps, p99 = wrk(url, args.duration)
                print(f"{label:38s} {rps:10.0f} req/s   p99 {p99}")
            for p in procs:
                p.kill()
                p.wait()
            procs.clear()
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
