"""Subnet choice and validation, address allocation, Docker-style MACs."""

from __future__ import annotations

import ipaddress

import pytest

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network import IPAMConfig
from dockyard.network.ipam import Pool, allocate_address, choose_subnet, host_routes, ipam_config, mac_for

N = ipaddress.IPv4Network


def test_choose_subnet_skips_used_and_host_routes() -> None:
    used = [N("10.78.0.0/24"), N("10.78.1.0/25")]
    assert choose_subnet(Pool("10.78.0.0/15", 24).subnets(), used) == N("10.78.2.0/24")


def test_overlapping_subnet_is_docker_error() -> None:
    with pytest.raises(Conflict, match=r"^Pool overlaps with other one on this address space$"):
        ipam_config("10.78.0.0/16", None, None, used=[N("10.78.5.0/24")])


def test_ipam_config_defaults_and_validation() -> None:
    cfg = ipam_config("10.200.0.0/24", None, None, used=[])
    assert cfg == IPAMConfig("10.200.0.0/24", "10.200.0.1")
    cfg = ipam_config("10.200.0.0/24", "10.200.0.254", "10.200.0.128/25", used=[])
    assert (cfg.gateway, cfg.ip_range) == ("10.200.0.254", "10.200.0.128/25")
    with pytest.raises(InvalidArgument, match="invalid CIDR address: nope"):
        ipam_config("nope", None, None, used=[])
    with pytest.raises(InvalidArgument, match=r"no matching subnet for gateway 10\.9\.9\.9"):
        ipam_config("10.200.0.0/24", "10.9.9.9", None, used=[])
    with pytest.raises(InvalidArgument, match="no matching subnet for range"):
        ipam_config("10.200.0.0/24", None, "10.201.0.0/25", used=[])


def test_allocate_address() -> None:
    cfg = IPAMConfig("10.200.0.0/29", "10.200.0.1")
    assert allocate_address(cfg, []) == "10.200.0.2"
    assert allocate_address(cfg, ["10.200.0.2", "10.200.0.3"]) == "10.200.0.4"
    assert allocate_address(cfg, [], "10.200.0.6") == "10.200.0.6"
    with pytest.raises(Conflict, match="Address already in use"):
        allocate_address(cfg, ["10.200.0.6"], "10.200.0.6")
    with pytest.raises(InvalidArgument):
        allocate_address(cfg, [], "10.9.0.1")
    with pytest.raises(Exception, match="no available IPv4 addresses"):
        allocate_address(cfg, [f"10.200.0.{i}" for i in range(2, 7)])
    ranged = IPAMConfig("10.200.0.0/24", "10.200.0.1", "10.200.0.128/25")
    assert allocate_address(ranged, []) == "10.200.0.129"


def test_mac_like_docker() -> None:
    assert mac_for("172.17.0.2") == "02:42:ac:11:00:02"


def test_host_routes_parses_proc(tmp_path) -> None:  # type: ignore[no-untyped-def]
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    )
    assert host_routes(route) == [("eth0", N("192.0.2.0/24"))]
