"""Value types of the network package: what callers pass in and what they get back.

Nothing here does I/O. The container service builds :class:`AttachRequest` and :class:`PortSpec` values from
``--network``/``--network-alias``/``--ip``/``-p``/``-P`` and gets :class:`Attachment` back (endpoints, published
ports, and the ``resolv.conf``/``hosts`` contents to write into the container).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "AttachRequest",
    "Attachment",
    "Driver",
    "Endpoint",
    "IPAMConfig",
    "Network",
    "NetworkCreate",
    "NetworkMode",
    "NetworkModeKind",
    "PortMapping",
    "PortSpec",
    "Protocol",
]


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class Driver(StrEnum):
    BRIDGE = "bridge"
    HOST = "host"
    NULL = "null"


class NetworkModeKind(StrEnum):
    """``--network`` value kinds: ``bridge`` (default), a user network name, ``host``, ``none``, ``container:<id>``."""

    BRIDGE = "bridge"
    HOST = "host"
    NONE = "none"
    CONTAINER = "container"
    USER = "user"


@dataclass(frozen=True)
class NetworkMode:
    """``--network``: its kind and, for a network or ``container:``, the name."""

    kind: NetworkModeKind
    name: str = "bridge"  # network name for BRIDGE/USER, container name or ID for CONTAINER

    @classmethod
    def parse(cls, value: str | None) -> NetworkMode:
        """``None``/``""``/``default``/``bridge``: default bridge; ``host``; ``none``; ``container:<x>``; a name."""
        if value in (None, "", "default", "bridge"):
            return cls(NetworkModeKind.BRIDGE, "bridge")
        assert value is not None
        if value == "host":
            return cls(NetworkModeKind.HOST, "host")
        if value == "none":
            return cls(NetworkModeKind.NONE, "none")
        if value.startswith("container:"):
            target = value.partition(":")[2]
            if not target:
                from dockyard.errors import InvalidArgument

                raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
            return cls(NetworkModeKind.CONTAINER, target)
        return cls(NetworkModeKind.USER, value)

    @property
    def needs_namespace(self) -> bool:
        """True when dockyard creates a new network namespace for the container (bridge, user network, none)."""
        return self.kind in (NetworkModeKind.BRIDGE, NetworkModeKind.USER, NetworkModeKind.NONE)

    def __str__(self) -> str:
        if self.kind is NetworkModeKind.CONTAINER:
            return f"container:{self.name}"
        return self.name


@dataclass(frozen=True)
class PortSpec:
    """One parsed ``-p`` entry for one container port, before a host port is chosen.

    ``host_port_start == host_port_end == 0`` means "any free port"; a range ``start < end`` for a single
    container port means "a free port in that range" (Docker's dynamic range).
    """

    container_port: int
    protocol: Protocol = Protocol.TCP
    host_ip: str = ""
    host_port_start: int = 0
    host_port_end: int = 0

    @property
    def key(self) -> str:
        """Docker's port key, ``80/tcp``."""
        return f"{self.container_port}/{self.protocol}"

    @property
    def dynamic(self) -> bool:
        return self.host_port_start == 0 or self.host_port_start != self.host_port_end


@dataclass(frozen=True)
class PortMapping:
    """A published port: ``host_ip:host_port`` on the host forwards to ``container_port/protocol``."""

    container_port: int
    protocol: Protocol
    host_ip: str
    host_port: int
    container_ip: str = ""

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"

    def __str__(self) -> str:
        """The PORTS column entry, ``0.0.0.0:4000->80/tcp``."""
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{host}:{self.host_port}->{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class IPAMConfig:
    """One subnet of a network, with its gateway and the range containers get addresses from."""

    subnet: str
    gateway: str
    ip_range: str = ""

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def prefix_len(self) -> int:
        return self.network.prefixlen


@dataclass(frozen=True)
class NetworkCreate:
    """Options of ``network create`` (Docker's names)."""

    name: str
    driver: str = "bridge"
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    internal: bool = False
    attachable: bool = False
    ipv6: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    ipam_options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    """A network as recorded in the database. ``host`` and ``none`` are synthesized, never stored."""

    id: str
    name: str
    driver: Driver
    created: str
    bridge: str = ""
    ipam: tuple[IPAMConfig, ...] = ()
    internal: bool = False
    attachable: bool = False
    ipv6: bool = False
    dns_enabled: bool = False
    default: bool = False
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    options: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    ipam_options: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    scope: str = "local"

    @property
    def subnet(self) -> IPAMConfig | None:
        return self.ipam[0] if self.ipam else None


@dataclass(frozen=True)
class AttachRequest:
    """Attach the container to ``network`` (name, ID or unique ID prefix)."""

    network: str = "bridge"
    aliases: tuple[str, ...] = ()
    ip: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A container's interface on one network."""

    id: str
    network_id: str
    network_name: str
    container_id: str
    interface: str
    host_interface: str
    ip: str
    prefix_len: int
    gateway: str
    mac: str
    aliases: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefix_len}"


@dataclass(frozen=True)
class Attachment:
    """What :meth:`NetworkManager.attach` set up, and what the container service writes into the container."""

    container_id: str
    endpoints: tuple[Endpoint, ...]
    ports: tuple[PortMapping, ...]
    resolv_conf: str
    hosts: str
    netns: str = ""

    @property
    def primary(self) -> Endpoint | None:
        return self.endpoints[0] if self.endpoints else None
