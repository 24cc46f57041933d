"""-p parsing (Docker's wording), -P, and the display forms of published ports."""

from __future__ import annotations

import socket

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network import (
    PortMapping,
    PortSpec,
    Protocol,
    exposed_port_specs,
    format_port_lines,
    format_ports_column,
    parse_port_spec,
    port_map,
)
from dockyard.network.ports import host_port_free


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4000:80", [PortSpec(80, Protocol.TCP, "", 4000, 4000)]),
        ("127.0.0.1:4000:80", [PortSpec(80, Protocol.TCP, "127.0.0.1", 4000, 4000)]),
        ("4000:80/udp", [PortSpec(80, Protocol.UDP, "", 4000, 4000)]),
        ("4000:80/UDP", [PortSpec(80, Protocol.UDP, "", 4000, 4000)]),
        ("80", [PortSpec(80, Protocol.TCP)]),
        ("127.0.0.1::80", [PortSpec(80, Protocol.TCP, "127.0.0.1")]),
        ("8000-8001:80-81", [PortSpec(80, Protocol.TCP, "", 8000, 8000), PortSpec(81, Protocol.TCP, "", 8001, 8001)]),
        ("8000-8010:80", [PortSpec(80, Protocol.TCP, "", 8000, 8010)]),
        ("80-81", [PortSpec(80), PortSpec(81)]),
        ("[::1]:4000:80", [PortSpec(80, Protocol.TCP, "::1", 4000, 4000)]),
        ("4000:80/sctp", [PortSpec(80, Protocol.SCTP, "", 4000, 4000)]),
    ],
)
def test_parse_port_spec(raw: str, expected: list[PortSpec]) -> None:
    assert parse_port_spec(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "invalid containerPort: abc"),
        ("4000:abc", "invalid containerPort: abc"),
        ("99999:80", "invalid hostPort: 99999"),
        ("x:80", "invalid hostPort: x"),
        ("4000:99999", "invalid containerPort: 99999"),
        ("4000:80/icmp", "invalid proto: icmp"),
        ("1.2.3.999:4000:80", "invalid IP address: 1.2.3.999"),
        ("4000:", "no port specified: 4000:<empty>"),
        ("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
        ("81-80", "invalid containerPort: 81-80"),
        ("0", "invalid containerPort: 0"),
    ],
)
def test_parse_port_spec_errors(raw: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_port_spec(raw)
    assert info.value.message == message


def test_publish_all_adds_exposed_ports_not_published() -> None:
    explicit = parse_port_spec("4000:80")
    specs = exposed_port_specs(["80/tcp", "53/udp", "9000-9001/tcp"], explicit)
    assert specs == [
        PortSpec(80, Protocol.TCP, "", 4000, 4000),
        PortSpec(53, Protocol.UDP),
        PortSpec(9000, Protocol.TCP),
        PortSpec(9001, Protocol.TCP),
    ]


def test_display_forms() -> None:
    maps = [
        PortMapping(80, Protocol.TCP, "0.0.0.0", 4000),
        PortMapping(81, Protocol.TCP, "0.0.0.0", 4001),
        PortMapping(53, Protocol.UDP, "127.0.0.1", 5353),
    ]
    assert str(maps[0]) == "0.0.0.0:4000->80/tcp"
    assert format_ports_column(maps[:1]) == "0.0.0.0:4000->80/tcp"
    assert format_ports_column(maps, exposed=["443/tcp", "80/tcp"]) == (
        "0.0.0.0:4000-4001->80-81/tcp, 127.0.0.1:5353->53/udp, 443/tcp"
    )
    assert format_port_lines(maps) == [
        "53/udp -> 127.0.0.1:5353",
        "80/tcp -> 0.0.0.0:4000",
        "81/tcp -> 0.0.0.0:4001",
    ]
    assert format_port_lines(maps, "80") == ["0.0.0.0:4000"]
    assert format_port_lines(maps, "53/udp") == ["127.0.0.1:5353"]
    assert port_map(maps[:1], exposed=["80/tcp", "443/tcp"]) == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "4000"}],
        "443/tcp": None,
    }


def test_host_port_free_sees_listeners() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not host_port_free("127.0.0.1", port, Protocol.TCP)
        assert not host_port_free("0.0.0.0", port, Protocol.TCP)
    assert host_port_free("127.0.0.1", port, Protocol.TCP)
