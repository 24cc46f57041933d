"""User-defined networks: names and aliases resolve (aardvark-dns), not on the default bridge; internal
networks stay internal; connect/disconnect of a running container; removal rules."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.errors import Conflict, NotFound
from dockyard.network import AttachRequest, NetworkCreate, NetworkOptions
from dockyard.network.manager import NetworkManager
from tests.integration.network.conftest import HTTP_SERVER, http_get, links, nsexec, wait_links_gone

pytestmark = pytest.mark.integration


def _cid() -> str:
    return os.urandom(32).hex()


def _lookup(netns: str, name: str, server: str) -> str:
    """The IPv4 answers of ``server`` for ``name`` (busybox nslookup inside the namespace), space-separated."""
    out = nsexec(netns, "busybox", "nslookup", "-type=a", name, server, timeout=15).stdout
    answers, named = [], False
    for line in out.splitlines():
        if line.startswith("Name:"):
            named = True
        elif named and line.startswith("Address"):
            answers.append(line.split()[-1])
    return " ".join(answers)


def test_names_and_aliases_resolve_on_user_network(
    manager: NetworkManager, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    net = manager.create_network(NetworkCreate("n1"))
    redis = manager.setup(_cid(), "redis", NetworkOptions.from_cli(network="n1", aliases=["cache"]))
    app = manager.setup(_cid(), "app", NetworkOptions.from_cli(network="n1"))
    gateway = net.ipam[0].gateway
    assert app.resolv_conf.splitlines()[-1 if "options" not in app.resolv_conf else -2] == f"nameserver {gateway}"
    assert redis.primary is not None and app.primary is not None
    assert redis.primary.dns_names[:2] == ("redis", "cache")
    assert _lookup(app.netns, "redis", gateway) == redis.primary.ip
    assert _lookup(app.netns, "cache", gateway) == redis.primary.ip
    assert _lookup(redis.netns, "app", gateway) == app.primary.ip
    spawn(redis.netns, HTTP_SERVER, "6379", "pong")
    assert http_get(f"http://{redis.primary.ip}:6379/", netns=app.netns) == "pong"
    # Other names still resolve through the host's resolver.
    assert _lookup(app.netns, "deb.debian.org", gateway)
    # Removing a container removes its name.
    manager.release(redis.container_id)
    assert _lookup(app.netns, "redis", gateway) == ""


def test_no_names_on_default_bridge(manager: NetworkManager) -> None:
    manager.setup(_cid(), "redis", NetworkOptions.from_cli())
    app = manager.setup(_cid(), "app", NetworkOptions.from_cli())
    gateway = manager.default_network().ipam[0].gateway
    assert f"nameserver {gateway}" not in app.resolv_conf
    assert manager.dns.pid() is None
    assert _lookup(app.netns, "redis", gateway) == ""


def test_internal_network_has_no_way_out(manager: NetworkManager) -> None:
    manager.create_network(NetworkCreate("inside", internal=True))
    a = manager.setup(_cid(), "a", NetworkOptions.from_cli(network="inside"))
    b = manager.setup(_cid(), "b", NetworkOptions.from_cli(network="inside"))
    assert b.primary is not None
    assert nsexec(a.netns, "busybox", "ping", "-c1", "-W2", b.primary.ip).returncode == 0
    assert "default" not in nsexec(a.netns, "ip", "route").stdout
    out = nsexec(a.netns, "curl", "-s", "--max-time", "3", "http://deb.debian.org/", timeout=10)
    assert out.returncode != 0


def test_connect_and_disconnect_running_container(manager: NetworkManager) -> None:
    manager.create_network(NetworkCreate("back"))
    cid = _cid()
    att = manager.setup(cid, "web", NetworkOptions.from_cli())
    manager.attach(cid, Path(att.netns), [AttachRequest("back", aliases=("api",))], name="web")
    eps = manager.endpoints(cid)
    assert [(e.interface, e.network_name) for e in eps] == [("eth0", "bridge"), ("eth1", "back")]
    assert eps[1].ip in nsexec(att.netns, "ip", "-4", "-o", "addr", "show", "eth1").stdout
    with pytest.raises(Conflict, match="has active endpoints"):
        manager.delete_network("back")
    veth = eps[1].host_interface
    manager.detach(cid, "back")
    assert [e.network_name for e in manager.endpoints(cid)] == ["bridge"]
    assert veth not in links()
    assert "eth1" not in nsexec(att.netns, "ip", "-o", "link").stdout
    manager.delete_network("back")


def test_network_removal_errors_and_cleanup(manager: NetworkManager) -> None:
    net = manager.create_network(NetworkCreate("n1", labels={"a": "b"}))
    with pytest.raises(Conflict, match=r"^network with name n1 already exists$"):
        manager.create_network(NetworkCreate("n1"))
    with pytest.raises(Conflict, match=r"^Pool overlaps with other one on this address space$"):
        manager.create_network(NetworkCreate("n2", subnet=net.ipam[0].subnet))
    cid = _cid()
    manager.setup(cid, "c", NetworkOptions.from_cli(network="n1"))
    with pytest.raises(Conflict) as info:
        manager.delete_network("n1")
    assert info.value.message == f"error while removing network: network n1 id {net.id} has active endpoints"
    with pytest.raises(NotFound, match=r"^network nope not found$"):
        manager.delete_network("nope")
    manager.release(cid)
    assert net.bridge in links()
    manager.delete_network("n1")
    assert wait_links_gone({net.bridge}) == set()
    assert manager.dns.pid() is None  # no DNS entries left anywhere: the server is stopped
