"""NetworkService: ``network create/ls/inspect/rm/prune/connect/disconnect``, and the container service's seam.

The container service calls :meth:`NetworkService.setup` when it creates a container's sandbox (before
``runc create``; put ``Attachment.netns`` in the OCI spec's network namespace path, write
``Attachment.resolv_conf`` and ``Attachment.hosts`` into the container) and :meth:`NetworkService.release` when
the container stops or is removed. ``network connect/disconnect`` need the container's namespace: they ask the
container service through :class:`ContainerNetworkSeam` (``engine.containers.network_target``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument
from dockyard.network.options import NetworkOptions
from dockyard.network.types import (
    Attachment,
    AttachRequest,
    Driver,
    Endpoint,
    Network,
    NetworkCreate,
    PortMapping,
)

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.network import PendingSetup
    from dockyard.network.manager import NetworkManager

__all__ = [
    "ConnectOptions",
    "ContainerNetworkSeam",
    "ContainerTarget",
    "DeleteReport",
    "NetworkFilters",
    "NetworkService",
    "PruneReport",
    "network_json",
    "network_settings_json",
]

_FILTER_KEYS = ("dangling", "driver", "id", "label", "name", "scope", "type")


@dataclass(frozen=True)
class NetworkFilters:
    """``--filter`` of ``network ls``/``prune``: ``name=``, ``id=``, ``driver=``, ``label=k[=v]``,
    ``scope=``, ``type=custom|builtin``, ``dangling=true|false``."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Sequence[str]) -> NetworkFilters:
        out: dict[str, tuple[str, ...]] = {}
        for item in raw:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            key = key.strip().lower()
            if key not in _FILTER_KEYS:
                raise InvalidArgument(f"invalid filter '{key}'")
            out[key] = (*out.get(key, ()), value)
        return cls(out)

    def match(self, net: Network, in_use: bool) -> bool:
        v = self.values
        if "name" in v and not any(n in net.name for n in v["name"]):
            return False
        if "id" in v and not any(net.id.startswith(i) for i in v["id"]):
            return False
        if "driver" in v and str(net.driver) not in v["driver"]:
            return False
        if "scope" in v and net.scope not in v["scope"]:
            return False
        if "type" in v:
            builtin = net.name in ("bridge", "host", "none")
            for t in v["type"]:
                if t not in ("custom", "builtin"):
                    raise InvalidArgument(f"invalid filter: 'type'='{t}'")
            if not any((t == "builtin") == builtin for t in v["type"]):
                return False
        if "label" in v:
            for label in v["label"]:
                key, sep, value = label.partition("=")
                if key not in net.labels or (sep and net.labels[key] != value):
                    return False
        if "dangling" in v:
            want = v["dangling"][-1].lower() in ("true", "1")
            dangling = not in_use and net.name not in ("bridge", "host", "none")
            if want != dangling:
                return False
        return True


@dataclass(frozen=True)
class DeleteReport:
    """``network rm``: one network and why it could not be removed (empty if it was)."""

    name: str
    error: str = ""


@dataclass(frozen=True)
class PruneReport:
    """``network prune``: the networks removed."""

    deleted: tuple[str, ...]


@dataclass(frozen=True)
class ConnectOptions:
    """``network connect``: aliases and a fixed address."""

    aliases: tuple[str, ...] = ()
    ip: str | None = None


@dataclass(frozen=True)
class ContainerTarget:
    """What ``network connect`` needs from the container service: identity and, when running, the namespace."""

    id: str
    name: str
    netns: Path | None


class ContainerNetworkSeam(Protocol):
    def network_target(self, name_or_id: str) -> ContainerTarget:
        """Resolve a container for connect/disconnect (raise NotFound ``No such container: x``)."""


class NetworkService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @cached_property
    def manager(self) -> NetworkManager:
        from dockyard.network.manager import NetworkManager

        return NetworkManager(self._engine.settings)

    # -- synthesized networks ------------------------------------------------------------------------------

    def _builtin(self, name: str) -> Network:
        import hashlib  # here: OpenSSL's module costs ~2 ms at import, a container start does not need it

        root = str(self._engine.settings.layout.root)
        ident = hashlib.sha256(f"{root}\0{name}".encode()).hexdigest()
        created = self.manager.default_network().created
        return Network(ident, name, Driver.HOST if name == "host" else Driver.NULL, created)

    # -- verbs ---------------------------------------------------------------------------------------------

    def create(self, request: NetworkCreate) -> Network:
        net = self.manager.create_network(request)
        self._event("create", net)
        return net

    def _event(self, action: str, net: Network, container_id: str = "") -> None:
        """A network event as Docker records it: the network's ID, its name and driver (and the container)."""
        from dockyard.engine.events import record as record_event

        attrs = {"name": net.name, "type": str(net.driver.value)}
        if container_id:
            attrs["container"] = container_id
        record_event(self._engine.database, "network", action, net.id, attrs)

    def list(self, filters: NetworkFilters | None = None) -> list[Network]:
        nets = [*self.manager.networks(), self._builtin("host"), self._builtin("none")]
        filters = filters or NetworkFilters()
        used = {r[0] for r in self.manager.db.query("SELECT DISTINCT network_id FROM endpoints")}
        return sorted((n for n in nets if filters.match(n, n.id in used)), key=lambda n: n.name)

    def get(self, name_or_id: str) -> Network:
        for builtin in ("host", "none"):
            net = self._builtin(builtin)
            if name_or_id in (builtin, net.id) or (len(name_or_id) >= 3 and net.id.startswith(name_or_id)):
                return net
        return self.manager.get(name_or_id)

    def endpoints(self, network: Network) -> builtins.list[Endpoint]:
        if network.driver is not Driver.BRIDGE:
            return []
        return self.manager.state.endpoints(network_id=network.id)

    def inspect(self, name_or_id: str) -> dict[str, object]:
        """Docker's network JSON (``GET /networks/{id}``, ``network inspect``)."""
        net = self.get(name_or_id)
        return network_json(net, self.endpoints(net), self._names(net))

    def _names(self, net: Network) -> dict[str, str]:
        if net.driver is not Driver.BRIDGE:
            return {}
        rows = self.manager.db.query(
            "SELECT container_id, container_name FROM endpoints WHERE network_id = ?", (net.id,)
        )
        return {r[0]: r[1] for r in rows}

    def delete(self, names_or_ids: Sequence[str]) -> builtins.list[DeleteReport]:
        reports = []
        for name in names_or_ids:
            try:
                net = self.get(name)
                if name in ("host", "none") or net.driver is not Driver.BRIDGE:
                    raise FailedPrecondition(f"{net.name} is a pre-defined network and cannot be removed")
                self.manager.delete_network(name)
                self._event("destroy", net)
                reports.append(DeleteReport(name))
            except DockyardError as exc:
                reports.append(DeleteReport(name, exc.message))
        return reports

    def prune(self, filters: NetworkFilters | None = None) -> PruneReport:
        filters = filters or NetworkFilters()
        deleted = []
        used = {r[0] for r in self.manager.db.query("SELECT DISTINCT network_id FROM endpoints")}
        for net in self.manager.networks():
            if net.default or net.id in used or not filters.match(net, False):
                continue
            try:
                self.manager.delete_network(net.id)
                deleted.append(net.name)
            except DockyardError:
                continue
            self._event("destroy", net)
        self.manager.sweep()
        from dockyard.engine.events import record as record_event

        record_event(self._engine.database, "network", "prune", "", {"reclaimed": "0"})
        return PruneReport(tuple(sorted(deleted)))

    # -- connect / disconnect (need the container service) -------------------------------------------------

    def _target(self, container: str) -> ContainerTarget:
        seam = getattr(self._engine.containers, "network_target", None)
        if seam is None:
            raise FailedPrecondition("network connect: the container service does not offer network_target yet")
        target: ContainerTarget = seam(container)
        return target

    def connect(self, network: str, container: str, options: ConnectOptions = ConnectOptions()) -> Endpoint | None:
        """Attach a running container now (returns its new endpoint); for a stopped one only validate
        (``None``): the container service records the network and attaches it at the next start."""
        net = self.get(network)
        if net.driver is not Driver.BRIDGE:
            raise InvalidArgument(f"container cannot be disconnected from host network or connected to {net.name}")
        target = self._target(container)
        endpoint = None
        if target.netns is not None:
            att = self.manager.attach(
                target.id, target.netns, [AttachRequest(net.id, options.aliases, options.ip)], name=target.name
            )
            endpoint = next(e for e in att.endpoints if e.network_id == net.id)
        # remembered by the container: every later start attaches it to this network too
        self._engine.containers.record_network(target.id, net.name, options.aliases, options.ip or "")
        self._event("connect", net, target.id)
        return endpoint

    def disconnect(self, network: str, container: str, force: bool = False) -> None:
        net = self.get(network)
        target = self._target(container)
        removed = self.manager.detach(target.id, net.id)
        if not removed and not force and target.netns is not None:
            raise FailedPrecondition(f"container {target.id} is not connected to network {net.name}")
        self._engine.containers.forget_network(target.id, net.name)
        self._event("disconnect", net, target.id)

    # -- the container service's calls ---------------------------------------------------------------------

    def setup(self, container_id: str, name: str, options: NetworkOptions) -> Attachment:
        return self.manager.setup(container_id, name, options)

    def begin_setup(self, container_id: str, name: str, options: NetworkOptions) -> PendingSetup:
        """:meth:`setup` in two steps (the namespace first, then ``finish()``), for a start that attaches the
        network while runc creates the container."""
        return self.manager.begin_setup(container_id, name, options)

    def release(self, container_id: str) -> None:
        self.manager.release(container_id)

    def ports(self, container_id: str) -> builtins.list[PortMapping]:
        return self.manager.ports(container_id)

    def container_endpoints(self, container_id: str) -> builtins.list[Endpoint]:
        return self.manager.endpoints(container_id)


def network_json(net: Network, endpoints: Sequence[Endpoint], names: Mapping[str, str]) -> dict[str, object]:
    """One network in the Docker Engine API's shape (API 1.41)."""
    containers = {
        e.container_id: {
            "Name": names.get(e.container_id, ""),
            "EndpointID": e.id,
            "MacAddress": e.mac,
            "IPv4Address": e.cidr,
            "IPv6Address": "",
        }
        for e in endpoints
    }
    config: list[dict[str, str]] = []
    for c in net.ipam:
        entry = {"Subnet": c.subnet, "Gateway": c.gateway}
        if c.ip_range:
            entry["IPRange"] = c.ip_range
        config.append(entry)
    return {
        "Name": net.name,
        "Id": net.id,
        "Created": net.created,
        "Scope": net.scope,
        "Driver": str(net.driver),
        "EnableIPv6": net.ipv6,
        "IPAM": {
            "Driver": "default",
            "Options": None if net.default or net.driver is not Driver.BRIDGE else dict(net.ipam_options),
            "Config": config,
        },
        "Internal": net.internal,
        "Attachable": net.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": containers,
        "Options": dict(net.options),
        "Labels": dict(net.labels),
    }


def network_settings_json(
    endpoints: Sequence[Endpoint],
    ports: Sequence[PortMapping],
    exposed: Sequence[str] = (),
    sandbox_key: str = "",
    mode: str = "default",
) -> dict[str, object]:
    """A container's ``NetworkSettings`` in inspect (API 1.41): the primary endpoint's fields at the top
    level (default bridge only, as Docker does), ``Ports``, and one ``Networks`` entry per endpoint."""
    from dockyard.network.ports import port_map

    primary = next((e for e in endpoints if e.network_name == "bridge"), None)
    networks: dict[str, object] = {}
    for e in endpoints:
        networks[e.network_name] = {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": list(e.aliases) or None,
            "NetworkID": e.network_id,
            "EndpointID": e.id,
            "Gateway": e.gateway,
            "IPAddress": e.ip,
            "IPPrefixLen": e.prefix_len,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "MacAddress": e.mac,
            "DriverOpts": None,
        }
    if mode in ("host", "none") and not endpoints:
        networks[mode] = {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": None,
            "NetworkID": "",
            "EndpointID": "",
            "Gateway": "",
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "MacAddress": "",
            "DriverOpts": None,
        }
    import hashlib

    return {
        "Bridge": "",
        "SandboxID": hashlib.sha256(sandbox_key.encode()).hexdigest() if sandbox_key else "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": port_map(ports, exposed),
        "SandboxKey": sandbox_key,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": primary.id if primary else "",
        "Gateway": primary.gateway if primary else "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": primary.ip if primary else "",
        "IPPrefixLen": primary.prefix_len if primary else 0,
        "IPv6Gateway": "",
        "MacAddress": primary.mac if primary else "",
        "Networks": networks,
    }
