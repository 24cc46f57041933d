"""NetworkService pieces that need no kernel: filters and the Docker JSON shapes."""

from __future__ import annotations

import pytest

from dockyard.engine.networks import NetworkFilters, network_json, network_settings_json
from dockyard.errors import InvalidArgument
from dockyard.network import Driver, Endpoint, IPAMConfig, Network, PortMapping, Protocol

NET = Network(
    id="e53a8b60b03b" + "0" * 52,
    name="n1",
    driver=Driver.BRIDGE,
    created="2026-11-27T23:40:11.222852378Z",
    bridge="dy-e53a8b60b03b",
    ipam=(IPAMConfig("172.19.0.0/16", "172.19.0.1"),),
    dns_enabled=True,
    labels={"team": "pango"},
)
EP = Endpoint("f" * 64, NET.id, "n1", "c" * 64, "eth0", "vethfff", "172.19.0.2", 16, "172.19.0.1", "02:42:ac:13:00:02")


def test_filters() -> None:
    assert NetworkFilters.parse(["name=n", "driver=bridge"]).match(NET, False)
    assert not NetworkFilters.parse(["name=zz"]).match(NET, False)
    assert NetworkFilters.parse(["id=e53a"]).match(NET, False)
    assert NetworkFilters.parse(["label=team"]).match(NET, False)
    assert NetworkFilters.parse(["label=team=pango"]).match(NET, False)
    assert not NetworkFilters.parse(["label=team=other"]).match(NET, False)
    assert NetworkFilters.parse(["type=custom"]).match(NET, False)
    assert not NetworkFilters.parse(["type=builtin"]).match(NET, False)
    assert NetworkFilters.parse(["dangling=true"]).match(NET, False)
    assert not NetworkFilters.parse(["dangling=true"]).match(NET, True)
    with pytest.raises(InvalidArgument, match="invalid filter 'bogus'"):
        NetworkFilters.parse(["bogus=1"])


def test_network_json_matches_docker_shape() -> None:
    doc = network_json(NET, [EP], {EP.container_id: "redis"})
    assert list(doc) == [
        "Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable", "Ingress",
        "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels",
    ]  # fmt: skip
    assert doc["IPAM"] == {
        "Driver": "default",
        "Options": {},
        "Config": [{"Subnet": "172.19.0.0/16", "Gateway": "172.19.0.1"}],
    }
    assert doc["Containers"] == {
        EP.container_id: {
            "Name": "redis",
            "EndpointID": EP.id,
            "MacAddress": EP.mac,
            "IPv4Address": "172.19.0.2/16",
            "IPv6Address": "",
        }
    }


def test_network_settings_json() -> None:
    bridge_ep = Endpoint(
        "a" * 64, "b" * 64, "bridge", "c" * 64, "eth0", "v", "10.77.0.2", 16, "10.77.0.1", "02:42:0a:4d:00:02"
    )
    doc = network_settings_json([bridge_ep], [PortMapping(80, Protocol.TCP, "0.0.0.0", 4001)], ["80/tcp"], "/x/netns/c")
    assert doc["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "4001"}]}
    assert (doc["IPAddress"], doc["Gateway"], doc["IPPrefixLen"], doc["MacAddress"]) == (
        "10.77.0.2", "10.77.0.1", 16, "02:42:0a:4d:00:02",
    )  # fmt: skip
    assert list(doc["Networks"]) == ["bridge"]  # type: ignore[call-overload]
