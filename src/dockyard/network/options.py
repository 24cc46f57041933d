"""The run-time network options of ``run``/``create`` as one typed value the container service passes through.

``NetworkOptions.from_cli(...)`` takes the raw flag values (``--network``, ``--network-alias``, ``--ip``,
``--mac-address``, ``-p``, ``-P`` with the image's exposed ports, ``--add-host``, ``--dns``, ``--dns-search``,
``--dns-option``, ``--hostname``, ``--domainname``) and validates them with Docker's wording, before anything
is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument
from dockyard.network.ports import exposed_port_specs, parse_port_specs
from dockyard.network.resolv import DnsOptions, ExtraHost, parse_extra_host
from dockyard.network.types import AttachRequest, NetworkMode, NetworkModeKind, PortSpec

__all__ = ["NetworkOptions"]


@dataclass(frozen=True)
class NetworkOptions:
    """A container's network as ``run`` asks for it: mode, names, addresses, ports, DNS and hosts."""

    mode: NetworkMode = field(default_factory=lambda: NetworkMode.parse(None))
    aliases: tuple[str, ...] = ()
    ip: str | None = None
    mac: str | None = None
    ports: tuple[PortSpec, ...] = ()
    hostname: str = ""
    domainname: str = ""
    dns: DnsOptions = field(default_factory=DnsOptions)
    extra_hosts: tuple[ExtraHost, ...] = ()
    extra_networks: tuple[AttachRequest, ...] = ()

    @classmethod
    def from_cli(
        cls,
        *,
        network: str | None = None,
        aliases: Sequence[str] = (),
        ip: str | None = None,
        mac: str | None = None,
        publish: Sequence[str] = (),
        publish_all: bool = False,
        exposed: Iterable[str] = (),
        add_hosts: Sequence[str] = (),
        dns: Sequence[str] = (),
        dns_search: Sequence[str] = (),
        dns_options: Sequence[str] = (),
        hostname: str = "",
        domainname: str = "",
    ) -> NetworkOptions:
        mode = NetworkMode.parse(network)
        ports = parse_port_specs(publish)
        if publish_all:
            ports = exposed_port_specs(exposed, ports)
        if mode.kind in (NetworkModeKind.HOST, NetworkModeKind.NONE, NetworkModeKind.CONTAINER):
            if aliases:
                raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
            if ip:
                raise InvalidArgument("user specified IP address is supported on user defined networks only")
            if mode.kind is NetworkModeKind.CONTAINER:
                if ports:
                    raise InvalidArgument("conflicting options: port publishing and the container type network mode")
                if hostname:
                    raise InvalidArgument("conflicting options: hostname and the network mode")
                if dns or add_hosts:
                    raise InvalidArgument("conflicting options: dns and the network mode")
            ports = []  # Docker ignores published ports with --network host/none
        if mode.kind is NetworkModeKind.BRIDGE:
            if aliases:
                raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
            if ip:
                raise InvalidArgument("user specified IP address is supported on user defined networks only")
        return cls(
            mode=mode,
            aliases=tuple(aliases),
            ip=ip or None,
            mac=mac or None,
            ports=tuple(ports),
            hostname=hostname,
            domainname=domainname,
            dns=DnsOptions(tuple(dns), tuple(dns_search), tuple(dns_options)),
            extra_hosts=tuple(parse_extra_host(h) for h in add_hosts),
        )

    def requests(self) -> list[AttachRequest]:
        """The networks to attach to for bridge/user modes (the primary first)."""
        if self.mode.kind not in (NetworkModeKind.BRIDGE, NetworkModeKind.USER):
            return list(self.extra_networks)
        return [AttachRequest(self.mode.name, self.aliases, self.ip, self.mac), *self.extra_networks]
