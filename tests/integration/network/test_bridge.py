"""Default bridge: address, route, outbound NAT, published ports from loopback / host address / another host."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.errors import Conflict
from dockyard.network import AttachRequest, NetworkOptions
from dockyard.network.manager import NetworkManager
from tests.integration.network.conftest import (
    HTTP_SERVER,
    UDP_ECHO,
    free_port,
    host_address,
    http_get,
    links,
    nft_rules,
    nsexec,
)

pytestmark = pytest.mark.integration


def _cid() -> str:
    return os.urandom(32).hex()


def test_container_gets_address_route_and_outbound_nat(manager: NetworkManager) -> None:
    cid = _cid()
    att = manager.setup(cid, "web", NetworkOptions.from_cli(hostname="web"))
    ep = att.primary
    assert ep is not None and ep.interface == "eth0"
    net = manager.default_network()
    assert ep.gateway == net.ipam[0].gateway and ep.ip.startswith(net.ipam[0].gateway.rsplit(".", 1)[0])
    addr = nsexec(att.netns, "ip", "-4", "-o", "addr", "show", "eth0").stdout
    assert ep.cidr in addr
    assert f"default via {ep.gateway} dev eth0" in nsexec(att.netns, "ip", "route").stdout
    assert "UP" in nsexec(att.netns, "ip", "-o", "link", "show", "lo").stdout
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    # The container reaches Debian's archive through the host's resolver (resolv.conf content given to the
    # container service) and the masquerade rule.
    assert "nameserver 127." not in att.resolv_conf
    assert f"{ep.ip}\tweb" in att.hosts
    body = nsexec(
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
    assert body.stdout == "200", body.stderr


def test_published_tcp_port_reachable_from_loopback_host_and_peer(
    manager: NetworkManager, spawn: Callable[..., subprocess.Popen[str]], peer_host: tuple[Path, str]
) -> None:
    cid, port = _cid(), free_port()
    att = manager.setup(cid, "web", NetworkOptions.from_cli(publish=[f"{port}:8000"]))
    assert [str(p) for p in att.ports] == [f"0.0.0.0:{port}->8000/tcp"]
    spawn(att.netns, HTTP_SERVER, "8000", "hello")
    assert http_get(f"http://127.0.0.1:{port}/") == "hello"
    assert http_get(f"http://{host_address()}:{port}/") == "hello"
    peer_ns, host_ip = peer_host
    assert http_get(f"http://{host_ip}:{port}/", netns=peer_ns) == "hello"
    # and from a second container, through the host address (hairpin through the bridge)
    other = manager.setup(_cid(), "other", NetworkOptions.from_cli())
    assert http_get(f"http://{host_address()}:{port}/", netns=other.netns) == "hello"


def test_published_on_loopback_only(
    manager: NetworkManager, spawn: Callable[..., subprocess.Popen[str]], peer_host: tuple[Path, str]
) -> None:
    port = free_port()
    att = manager.setup(_cid(), "lo", NetworkOptions.from_cli(publish=[f"127.0.0.1:{port}:8000"]))
    spawn(att.netns, HTTP_SERVER, "8000", "local")
    assert http_get(f"http://127.0.0.1:{port}/") == "local"
    peer_ns, host_ip = peer_host
    assert http_get(f"http://{host_ip}:{port}/", netns=peer_ns, timeout=2) == ""


def test_published_udp_port(manager: NetworkManager, spawn: Callable[..., subprocess.Popen[str]]) -> None:
    port = free_port()
    att = manager.setup(_cid(), "dns", NetworkOptions.from_cli(publish=[f"{port}:5353/udp"]))
    spawn(att.netns, UDP_ECHO, "5353")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(b"ping", ("127.0.0.1", port))
        assert s.recvfrom(100)[0] == b"echo:ping"


def test_random_and_ranged_host_ports(manager: NetworkManager, spawn: Callable[..., subprocess.Popen[str]]) -> None:
    base = free_port()
    while base > 65000:
        base = free_port()
    att = manager.setup(_cid(), "r", NetworkOptions.from_cli(publish=["8000", f"{base}-{base + 1}:8001-8002"]))
    by_port = {p.container_port: p.host_port for p in att.ports}
    assert by_port[8001] == base and by_port[8002] == base + 1
    assert 1024 < by_port[8000] <= 65535
    spawn(att.netns, HTTP_SERVER, "8000", "random")
    spawn(att.netns, HTTP_SERVER, "8002", "ranged")
    assert http_get(f"http://127.0.0.1:{by_port[8000]}/") == "random"
    assert http_get(f"http://127.0.0.1:{base + 1}/") == "ranged"
    assert {(p.container_port, p.host_port) for p in manager.ports(att.container_id)} == set(by_port.items())


def _snapshot(manager: NetworkManager) -> tuple[set[str], list[str], list[tuple[object, ...]]]:
    rows = [
        tuple(r) for r in manager.db.query("SELECT * FROM endpoints UNION ALL SELECT *, '', '', '', '', '' FROM ports")
    ]
    return links(), nft_rules(manager.table), rows


def test_port_already_allocated_leaves_nothing_half_set_up(manager: NetworkManager) -> None:
    port = free_port()
    manager.setup(_cid(), "first", NetworkOptions.from_cli(publish=[f"{port}:80"]))
    before = _snapshot(manager)
    cid = _cid()
    with pytest.raises(Conflict, match=rf"^Bind for 0\.0\.0\.0:{port} failed: port is already allocated$"):
        manager.setup(cid, "second", NetworkOptions.from_cli(publish=[f"{port}:80"]))
    with pytest.raises(Conflict, match="port is already allocated"):
        manager.setup(cid, "second", NetworkOptions.from_cli(publish=[f"127.0.0.1:{port}:80"]))
    assert _snapshot(manager) == before
    assert not manager.namespace_path(cid).exists()


def test_port_held_by_a_host_process_is_refused(manager: NetworkManager) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        before = _snapshot(manager)
        with pytest.raises(Conflict, match=rf"Bind for 0\.0\.0\.0:{port} failed"):
            manager.setup(_cid(), "x", NetworkOptions.from_cli(publish=[f"{port}:80"]))
        assert _snapshot(manager) == before


def test_attach_twice_to_same_network_is_refused(manager: NetworkManager) -> None:
    cid = _cid()
    att = manager.setup(cid, "a", NetworkOptions.from_cli())
    with pytest.raises(Conflict, match="already exists in network bridge"):
        manager.attach(cid, Path(att.netns), [AttachRequest("bridge")], name="a")


def test_none_host_and_container_modes(manager: NetworkManager) -> None:
    none = manager.setup(_cid(), "n", NetworkOptions.from_cli(network="none", hostname="n"))
    assert none.endpoints == () and none.netns
    inside = nsexec(none.netns, "ip", "-o", "link").stdout.splitlines()
    assert len(inside) == 1 and "lo" in inside[0] and "UP" in inside[0]
    assert none.hosts.splitlines()[0] == "127.0.0.1\tlocalhost"
    host = manager.setup(_cid(), "h", NetworkOptions.from_cli(network="host", publish=["80:80"]))
    assert host.netns == "" and host.ports == ()
    assert host.resolv_conf == Path("/etc/resolv.conf").read_text()
    web = manager.setup(_cid(), "w", NetworkOptions.from_cli())
    joined = manager.setup(_cid(), "j", NetworkOptions.from_cli(network=f"container:{web.container_id}"))
    assert joined.netns == web.netns and joined.endpoints == web.endpoints
    manager.release(none.container_id)
    assert not Path(none.netns).exists()
