"""A container's interfaces as inspect and the API's container list show them: one :class:`EndpointView` per
network, from the live endpoints while it is attached, else from the names it is configured for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.engine.containers.listing import network_names
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.engine.containers.records import ContainerRecord
    from dockyard.engine.containers.service import ContainerService

__all__ = ["EndpointView", "endpoint_views"]


@dataclass(frozen=True)
class EndpointView:
    """A container's interface on one network, as inspect shows it."""

    network: str
    network_id: str
    endpoint_id: str = ""
    gateway: str = ""
    ip: str = ""
    prefix_len: int = 0
    mac: str = ""
    aliases: tuple[str, ...] | None = None
    dns_names: tuple[str, ...] | None = None


def endpoint_views(svc: ContainerService, record: ContainerRecord) -> list[EndpointView]:
    """The container's networks as inspect and the API's list show them: live endpoints (address, gateway, MAC)
    while it is attached, else the names it is configured for."""
    endpoints: list[EndpointView] = []
    try:
        live = {e.network_name: e for e in svc.engine.networks.container_endpoints(record.id)}
    except DockyardError:
        live = {}
    for name in network_names(record) or ([] if not live else list(live)):
        e = live.get(name)
        if e is not None:
            endpoints.append(EndpointView(name, e.network_id, e.id, e.gateway, e.ip, e.prefix_len, e.mac,
                                          e.aliases or None, e.dns_names or None))  # fmt: skip
            continue
        try:
            network_id = svc.engine.networks.get(name).id
        except DockyardError:
            network_id = ""
        endpoints.append(EndpointView(name, network_id))
    endpoints += [
        EndpointView(n, e.network_id, e.id, e.gateway, e.ip, e.prefix_len, e.mac, e.aliases or None)
        for n, e in live.items()
        if n not in network_names(record)
    ]
    return endpoints
