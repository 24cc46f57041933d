"""dockyard next to a real dockerd (Debian's docker.io, started by hand with its own state directories).

Docker sets the FORWARD policy to DROP when it is the one enabling forwarding; we set it the same way while
dockerd runs, check that containers still reach the outside and that published ports still work from another
host, then stop dockerd and put the host's firewall back as it was (tables, policy, docker0, br_netfilter).
Skipped when dockerd is not installed (``apt-get install docker.io``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.network import NetworkCreate, NetworkOptions
from dockyard.network.manager import NetworkManager
from tests.integration.network.conftest import HTTP_SERVER, free_port, http_get, links, nsexec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("dockerd") is None or shutil.which("iptables") is None, reason="needs docker.io"),
]


def _tables() -> set[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {line.strip() for line in out.splitlines() if line.startswith("table ")}


def _forward_policy() -> str:
    out = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    first = out.splitlines()[0].split() if out else []
    return first[2] if len(first) == 3 and first[0] == "-P" else "ACCEPT"


BRIDGE_SYSCTLS = [Path("/proc/sys/net/bridge") / n for n in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables")]


def _sysctls() -> dict[Path, str]:
    return {p: p.read_text() for p in BRIDGE_SYSCTLS if p.exists()}


@pytest.fixture
def dockerd() -> Iterator[Path]:
    """A dockerd of our own for the duration of the test; the firewall is restored afterwards."""
    tables0, links0, policy0 = _tables(), links(), _forward_policy()
    sysctls0 = _sysctls()
    state = Path(tempfile.mkdtemp(prefix="dyd", dir="/tmp"))  # short: containerd's socket path must fit
    sock = state / "docker.sock"
    log = (state / "dockerd.log").open("w")
    proc = subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(state / "data"),
            "--exec-root",
            str(state / "exec"),
            "--pidfile",
            str(state / "docker.pid"),
            "-H",
            f"unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            chain = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True)
            if chain.returncode == 0 and sock.exists():
                break
            if proc.poll() is not None:
                pytest.fail(f"dockerd exited: {(state / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.2)
        else:
            pytest.fail("dockerd did not set up its chains in 60 s")
        # What Docker does on a host where it had to enable forwarding itself.
        subprocess.run(["iptables", "-P", "FORWARD", "DROP"], check=True)
        yield sock
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        subprocess.run(["iptables", "-P", "FORWARD", policy0], capture_output=True)
        for table in _tables() - tables0:
            family, name = table.split()[1:3]
            if name.startswith("dockyard"):
                continue  # a root's own (this test's is destroy_all's; others may be roots of tests running now)
            subprocess.run(["nft", "delete", "table", family, name], capture_output=True)
        for link in links() - links0:
            if link == "docker0":
                subprocess.run(["ip", "link", "del", link], capture_output=True)
        for path in _sysctls():
            path.write_text(sysctls0.get(path, "0\n"))
        subprocess.run(["umount", "-R", str(state / "exec")], capture_output=True)
        subprocess.run(["umount", "-R", str(state / "data")], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def test_published_ports_and_outbound_nat_with_dockerd(
    manager: NetworkManager,
    spawn: Callable[..., subprocess.Popen[str]],
    peer_host: tuple[Path, str],
    dockerd: Path,
) -> None:
    port = free_port()
    manager.create_network(NetworkCreate("n1"))
    web = manager.setup(os.urandom(32).hex(), "web", NetworkOptions.from_cli(publish=[f"{port}:8000"]))
    app = manager.setup(os.urandom(32).hex(), "app", NetworkOptions.from_cli(network="n1"))
    rules = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True).stdout
    bridge = manager.default_network().bridge
    assert f"-A DOCKER-USER -i {bridge} -j ACCEPT" in rules
    assert f"-A DOCKER-USER -o {bridge} -j ACCEPT" in rules
    spawn(web.netns, HTTP_SERVER, "8000", "through")
    peer_ns, host_ip = peer_host
    assert http_get(f"http://{host_ip}:{port}/", netns=peer_ns) == "through"
    assert http_get(f"http://127.0.0.1:{port}/") == "through"
    for att in (web, app):
        out = nsexec(
            att.netns,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "15",
            "http://deb.debian.org/debian/dists/bookworm/Release",
            timeout=30,
        )
        assert out.stdout == "200", out.stderr
    # docker's own view of the filter table is still readable by iptables (our rules are in its format)
    assert subprocess.run(["iptables", "-S"], capture_output=True).returncode == 0
    manager.release(web.container_id)
    manager.release(app.container_id)
    manager.delete_network("n1")
    rules = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True).stdout
    assert "dy-" not in rules
