"""dockyard.network: bridge networks, published ports, container DNS — what the container service calls
around ``runc create``.

The entry point is :class:`NetworkManager` (one per state root). Light imports only: the manager module pulls in
sqlite3, ctypes and sockets, nothing heavier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.network.options import NetworkOptions
from dockyard.network.ports import (
    exposed_port_specs,
    format_port_lines,
    format_ports_column,
    parse_exposed_port,
    parse_port_spec,
    parse_port_specs,
    port_map,
)
from dockyard.network.resolv import DnsOptions, ExtraHost, parse_extra_host
from dockyard.network.types import (
    Attachment,
    AttachRequest,
    Driver,
    Endpoint,
    IPAMConfig,
    Network,
    NetworkCreate,
    NetworkMode,
    NetworkModeKind,
    PortMapping,
    PortSpec,
    Protocol,
)

if TYPE_CHECKING:
    from dockyard.network.attach import PendingSetup
    from dockyard.network.manager import NetworkManager

__all__ = [
    "AttachRequest",
    "Attachment",
    "DnsOptions",
    "Driver",
    "Endpoint",
    "ExtraHost",
    "IPAMConfig",
    "Network",
    "NetworkCreate",
    "NetworkManager",
    "NetworkMode",
    "NetworkModeKind",
    "NetworkOptions",
    "PendingSetup",
    "PortMapping",
    "PortSpec",
    "Protocol",
    "exposed_port_specs",
    "format_port_lines",
    "format_ports_column",
    "parse_exposed_port",
    "parse_extra_host",
    "parse_port_spec",
    "parse_port_specs",
    "port_map",
]


def __getattr__(name: str) -> Any:
    if name == "NetworkManager":
        from dockyard.network.manager import NetworkManager

        return NetworkManager
    if name == "PendingSetup":
        from dockyard.network.attach import PendingSetup

        return PendingSetup
    raise AttributeError(name)
