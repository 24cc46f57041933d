"""resolv.conf and hosts contents for containers."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network import DnsOptions, ExtraHost, NetworkMode, NetworkModeKind, parse_extra_host
from dockyard.network.resolv import HostResolvConf, render_hosts, render_resolv_conf

HOST = HostResolvConf.parse(
    "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver fd00::1\nsearch example.org\n"
    "options edns0 trust-ad\n"
)


def test_default_bridge_drops_loopback_and_ipv6_nameservers() -> None:
    assert render_resolv_conf(HOST) == "search example.org\nnameserver 10.255.255.53\noptions edns0 trust-ad\n"


def test_falls_back_to_docker_defaults() -> None:
    only_local = HostResolvConf.parse("nameserver 127.0.0.53\n")
    assert render_resolv_conf(only_local) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_user_network_uses_gateway_then_given_servers() -> None:
    text = render_resolv_conf(
        HOST, DnsOptions(servers=("1.1.1.1",), search=("a.b",), options=("ndots:2",)), embedded="10.78.0.1"
    )
    assert text == "search a.b\nnameserver 10.78.0.1\nnameserver 1.1.1.1\noptions ndots:2\n"


def test_host_network_keeps_host_file() -> None:
    assert render_resolv_conf(HOST, host_network=True) == HOST.text


def test_bad_dns_server() -> None:
    with pytest.raises(InvalidArgument, match='invalid argument "x" for "--dns" flag'):
        DnsOptions(servers=("x",))


def test_hosts() -> None:
    text = render_hosts(
        "web", ["10.77.0.2"], [ExtraHost("db", "10.0.0.5"), ExtraHost("gw", "host-gateway")], host_gateway="10.77.0.1"
    )
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert lines[-3:] == ["10.0.0.5\tdb", "10.77.0.1\tgw", "10.77.0.2\tweb"]


def test_parse_extra_host() -> None:
    assert parse_extra_host("db:10.0.0.5") == ExtraHost("db", "10.0.0.5")
    assert parse_extra_host("db=10.0.0.5") == ExtraHost("db", "10.0.0.5")
    assert parse_extra_host("gw:host-gateway") == ExtraHost("gw", "host-gateway")
    assert parse_extra_host("v6:::1") == ExtraHost("v6", "::1")
    with pytest.raises(InvalidArgument, match='bad format for add-host: "nohost"'):
        parse_extra_host("nohost")
    with pytest.raises(InvalidArgument, match=r'invalid IP address in add-host: "1\.2\.3"'):
        parse_extra_host("x:1.2.3")


@pytest.mark.parametrize(
    ("value", "kind", "name"),
    [
        (None, NetworkModeKind.BRIDGE, "bridge"),
        ("default", NetworkModeKind.BRIDGE, "bridge"),
        ("host", NetworkModeKind.HOST, "host"),
        ("none", NetworkModeKind.NONE, "none"),
        ("container:abc", NetworkModeKind.CONTAINER, "abc"),
        ("n1", NetworkModeKind.USER, "n1"),
    ],
)
def test_network_mode(value: str | None, kind: NetworkModeKind, name: str) -> None:
    mode = NetworkMode.parse(value)
    assert (mode.kind, mode.name) == (kind, name)
