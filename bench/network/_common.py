"""Shared bits of the network benchmarks: a throw-away state root with its own subnets, and cleanup."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dockyard.network.ipam import host_routes
from dockyard.network.manager import NetworkManager
from dockyard.settings import load_settings

# A tiny keep-alive HTTP server (asyncio protocol): the same code serves both sides of a comparison.
FAST_HTTP = r"""
import asyncio, sys
BODY = b"hello from dockyard\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s" % (len(BODY), BODY)
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, data):
        self.buf += data
        n = self.buf.count(b"\r\n\r\n")
        if n:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.t.write(RESP * n)
async def main():
    srv = await asyncio.get_running_loop().create_server(P, "0.0.0.0", int(sys.argv[1]), reuse_address=True)
    print("ready", flush=True)
    await srv.serve_forever()
asyncio.run(main())
"""


def _free_block() -> ipaddress.IPv4Network:
    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.72.0.0/14").subnets(new_prefix=20))
    random.shuffle(blocks)
    for block in blocks:
        if not any(block.overlaps(u) for u in used):
            return block
    raise RuntimeError("no free subnet")


@contextlib.contextmanager
def bench_manager() -> Iterator[NetworkManager]:
    root = Path(tempfile.mkdtemp(prefix="dy-bench-"))
    subnets = list(_free_block().subnets(new_prefix=24))
    config = {
        "bip": f"{subnets[0].network_address + 1}/24",
        "default-address-pools": [{"base": str(s), "size": 24} for s in subnets[1:]],
    }
    (root / "config.json").write_text(json.dumps(config))
    manager = NetworkManager(load_settings(root))
    try:
        yield manager
    finally:
        manager.destroy_all()
        manager.close()
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    n = len(ordered)
    mean = sum(ordered) / n
    return (
        f"n={n} mean={mean * 1e3:.2f}ms median={ordered[n // 2] * 1e3:.2f}ms "
        f"p95={ordered[min(n - 1, int(n * 0.95))] * 1e3:.2f}ms min={ordered[0] * 1e3:.2f}ms"
    )
