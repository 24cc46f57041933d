"""Address management: subnets of networks, addresses of endpoints (pure logic plus reading the host's routes).

Pools (chosen not to collide with Docker's 172.17-31/16 and 192.168/16 nor Podman's 10.88/16 and 10.89/16):
the default bridge takes the first free /16 of ``10.77.0.0/16, 10.76.0.0/16, ... 10.70.0.0/16`` unless the
settings say ``"bip"``; user networks take the first free /24 of ``10.78.0.0/15`` unless the settings give
``"default-address-pools"`` (Docker's daemon.json shape ``[{"base": "10.78.0.0/15", "size": 24}]``). A subnet
is free when no dockyard network and no route of the host overlaps it.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import Conflict, InvalidArgument, Unavailable
from dockyard.network.types import IPAMConfig

__all__ = [
    "DEFAULT_BRIDGE_CANDIDATES",
    "DEFAULT_POOLS",
    "Pool",
    "allocate_address",
    "choose_subnet",
    "host_routes",
    "ipam_config",
    "mac_for",
]

IPv4Net = ipaddress.IPv4Network

DEFAULT_BRIDGE_CANDIDATES: tuple[str, ...] = tuple(f"10.{n}.0.0/16" for n in range(77, 69, -1))


@dataclass(frozen=True)
class Pool:
    """A default address pool: the base range and the size of each subnet taken from it."""

    base: str
    size: int

    def subnets(self) -> Iterator[IPv4Net]:
        base = _net(self.base)
        if self.size < base.prefixlen:
            yield base
            return
        yield from base.subnets(new_prefix=self.size)


DEFAULT_POOLS: tuple[Pool, ...] = (Pool("10.78.0.0/15", 24),)


def _net(text: str) -> IPv4Net:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if not isinstance(net, IPv4Net):
        raise InvalidArgument(f"invalid CIDR address: {text}: only IPv4 subnets are supported")
    return net


def _addr(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        addr = ipaddress.ip_address(text.split("/")[0])
    except ValueError:
        raise InvalidArgument(f"invalid {what} address: {text}") from None
    if not isinstance(addr, ipaddress.IPv4Address):
        raise InvalidArgument(f"invalid {what} address: {text}: only IPv4 is supported")
    return addr


def host_routes(path: Path = Path("/proc/net/route")) -> list[tuple[str, IPv4Net]]:
    """The host's IPv4 routes as ``(interface, destination)``, default routes left out."""
    out = []
    try:
        lines = path.read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest = socket.inet_ntoa(struct.pack("<I", int(fields[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<I", int(fields[7], 16)))
        net = IPv4Net(f"{dest}/{mask}", strict=False)
        if net.prefixlen == 0:
            continue
        out.append((fields[0], net))
    return out


def _overlaps(net: IPv4Net, used: Iterable[IPv4Net]) -> bool:
    return any(net.overlaps(u) for u in used)


def choose_subnet(candidates: Iterable[IPv4Net], used: Sequence[IPv4Net]) -> IPv4Net:
    """The first candidate overlapping nothing in ``used`` (dockyard's networks plus the host's routes)."""
    for net in candidates:
        if not _overlaps(net, used):
            return net
    raise Unavailable(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
        hint="remove unused networks (dockyard network prune) or pass --subnet",
    )


def ipam_config(
    subnet: str | None,
    gateway: str | None,
    ip_range: str | None,
    *,
    used: Sequence[IPv4Net],
    pools: Sequence[Pool] = DEFAULT_POOLS,
) -> IPAMConfig:
    """Validate ``network create`` addressing (or choose a subnet) and return the network's IPAM config."""
    if subnet is None:
        if gateway or ip_range:
            raise InvalidArgument("invalid pool request: gateway or ip-range given without a subnet")
        net = choose_subnet((n for p in pools for n in p.subnets()), used)
    else:
        net = _net(subnet)
        if net.prefixlen > 30:
            raise InvalidArgument(f"invalid subnet {subnet}: too small, a /30 at least is needed")
        if _overlaps(net, used):
            raise Conflict("Pool overlaps with other one on this address space")
    if gateway:
        gw = _addr(gateway, "gateway")
        if gw not in net or gw in (net.network_address, net.broadcast_address):
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
    else:
        gw = net.network_address + 1
    rng = ""
    if ip_range:
        r = _net(ip_range)
        if not r.subnet_of(net):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
        rng = str(r)
    return IPAMConfig(subnet=str(net), gateway=str(gw), ip_range=rng)


def allocate_address(config: IPAMConfig, used: Iterable[str], requested: str | None = None) -> str:
    """An address of the network for a new endpoint: ``requested`` if given and free, else the lowest free one."""
    net = config.network
    taken = {ipaddress.IPv4Address(u) for u in used}
    taken.add(ipaddress.IPv4Address(config.gateway))
    if requested:
        addr = _addr(requested, "IPv4")
        if addr not in net or addr in (net.network_address, net.broadcast_address):
            raise InvalidArgument(f"no configured subnet or ip-range contain the IP address {requested}")
        if addr in taken:
            raise Conflict(f"Address already in use: {requested}")
        return str(addr)
    scope = _net(config.ip_range) if config.ip_range else net
    for addr in scope.hosts() if scope.prefixlen < 31 else scope:
        if addr in taken or addr in (net.network_address, net.broadcast_address):
            continue
        return str(addr)
    raise Unavailable(f"no available IPv4 addresses on this network's address pools: {config.subnet}")


def mac_for(ip: str) -> str:
    """Docker's MAC for an address: ``02:42`` and the four address bytes (``02:42:0a:4d:00:02``)."""
    raw = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in raw)
