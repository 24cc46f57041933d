"""Fixtures for network integration tests: a NetworkManager over a throw-away root, with its own subnets.

Every test root gets a random /20 out of 10.72.0.0/14 (never a route of this host), so tests of several
engineers run side by side; ``destroy_all`` removes the root's bridges, veths, namespaces, nft table and DNS
server afterwards, even when the test failed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.network.ipam import host_routes
from dockyard.network.manager import NetworkManager
from dockyard.settings import load_settings

pytestmark = pytest.mark.integration


def _free_block() -> ipaddress.IPv4Network:
    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.72.0.0/14").subnets(new_prefix=20))
    random.shuffle(blocks)
    for block in blocks:
        if not any(block.overlaps(u) for u in used):
            return block
    raise RuntimeError("no free test subnet")


@pytest.fixture
def net_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    block = _free_block()
    subnets = list(block.subnets(new_prefix=24))
    config = {
        "bip": f"{subnets[0].network_address + 1}/24",
        "default-address-pools": [{"base": str(s), "size": 24} for s in subnets[1:]],
    }
    (root / "config.json").write_text(json.dumps(config))
    return root


@pytest.fixture
def manager(net_root: Path) -> Iterator[NetworkManager]:
    m = NetworkManager(load_settings(net_root))
    try:
        yield m
    finally:
        try:
            m.destroy_all()
        finally:
            m.close()


def nsexec(path: Path | str, *argv: str, timeout: float = 20, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net={path}", *argv], capture_output=True, text=True, timeout=timeout, check=check
    )


HTTP_SERVER = """
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = sys.argv[2].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
socketserver.TCPServer.allow_reuse_address = True
with socketserver.TCPServer(("0.0.0.0", int(sys.argv[1])), H) as s:
    print("ready", flush=True); s.serve_forever()
"""

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048); s.sendto(b"echo:" + data, addr)
"""


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start a long-running process inside a namespace; killed at the end of the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(path: Path | str, script: str, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            ["nsenter", f"--net={path}", "python3", "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", "server did not start"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def http_get(url: str, *, netns: Path | str | None = None, timeout: float = 5) -> str:
    """The body at ``url`` (curl), or "" when unreachable."""
    argv = ["curl", "-s", "--max-time", str(timeout), url]
    if netns is not None:
        argv = ["nsenter", f"--net={netns}", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5)
    return proc.stdout if proc.returncode == 0 else ""


def host_address() -> str:
    """A non-loopback IPv4 address of this host."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        addr = fields[3].split("/")[0]
        if not fields[1].startswith(("dy", "veth", "dockyard")) and not addr.startswith("10.7"):
            return addr
    raise RuntimeError("no global IPv4 address")


@pytest.fixture
def peer_host() -> Iterator[tuple[Path, str]]:
    """A second namespace acting as another host, linked to this host by a veth; yields (netns, host address)."""
    tag = f"{os.getpid() % 100000}{random.randint(0, 99)}"
    name, host_if, peer_if = f"dytpeer{tag}", f"dyth{tag}", f"dytp{tag}"
    block = _free_block()
    hosts = list(block.subnets(new_prefix=30))[-1]
    host_ip, peer_ip = str(hosts.network_address + 1), str(hosts.network_address + 2)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("ip", "netns", "add", name)
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", name)
        run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "-n", name, "addr", "add", f"{peer_ip}/30", "dev", peer_if)
        run("ip", "-n", name, "link", "set", peer_if, "up")
        run("ip", "-n", name, "link", "set", "lo", "up")
        yield Path(f"/run/netns/{name}"), host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def wait_links_gone(names: set[str], timeout: float = 5) -> set[str]:
    deadline = time.monotonic() + timeout
    left = names & links()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = names & links()
    return left


def nft_rules(table: str) -> list[str]:
    out = subprocess.run(["nft", "list", "table", "inet", table], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])
