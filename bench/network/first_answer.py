"""Time to the first HTTP answer through a published port, from nothing: namespace + endpoint + port, then
busybox httpd started in the namespace, then a client on the host's loopback polling until it gets 200.
The same server started on the host network gives the baseline.

    python3 bench/network/first_answer.py [--count 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import bench_manager, free_port, stats

from dockyard.network import NetworkOptions


def first_answer(port: int, deadline: float) -> float:
    request = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1."):
                    return time.perf_counter()
        except OSError:
            time.sleep(0.0005)
    raise TimeoutError("no answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    www = Path(tempfile.mkdtemp(prefix="dy-www-"))
    (www / "index.html").write_text("hello\n")
    container, host, setups = [], [], []
    with bench_manager() as m:
        m.setup(os.urandom(32).hex(), "warm", NetworkOptions.from_cli())  # bridge and table exist
        for i in range(args.count):
            port = free_port()
            cid = os.urandom(32).hex()
            t0 = time.perf_counter()
            att = m.setup(cid, f"web{i}", NetworkOptions.from_cli(publish=[f"{port}:8000"]))
            t1 = time.perf_counter()
            server = subprocess.Popen(
                ["nsenter", f"--net={att.netns}", "busybox", "httpd", "-f", "-p", "8000", "-h", str(www)]
            )
            try:
                t2 = first_answer(port, time.perf_counter() + 10)
            finally:
                server.kill()
                server.wait()
            m.release(cid)
            setups.append(t1 - t0)
            container.append(t2 - t0)
            port = free_port()
            t0 = time.perf_counter()
            server = subprocess.Popen(["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www)])
            try:
                host.append(first_answer(port, time.perf_counter() + 10) - t0)
            finally:
                server.kill()
                server.wait()
    print("samples (ms):", " ".join(f"{x * 1e3:.1f}" for x in container))
    print(f"network setup           {stats(setups)}")
    print(f"first answer, published {stats(container)}   (setup + server start + first request)")
    print(f"first answer, host net  {stats(host)}   (server start + first request)")


if __name__ == "__main__":
    main()
