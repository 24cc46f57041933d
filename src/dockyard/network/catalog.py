"""The networks of a state root: the predefined ``bridge`` network (made in the database on first use, in the
kernel by the first container on it), and user networks created and deleted.

Subnets are chosen under a host-wide lock (:data:`HOST_LOCK`): every root's bridges share the host's routing
table, so two roots must not pick the same free subnet at once. The manager calls these under its own lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.network import ipam
from dockyard.network.objects import ensure_network_objects, remove_network_objects
from dockyard.network.types import Driver, IPAMConfig, Network, NetworkCreate

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager

__all__ = ["HOST_LOCK", "PREDEFINED", "create_network", "default_network", "delete_network", "host_lock"]

PREDEFINED = ("bridge", "host", "none")
HOST_LOCK = Path("/run/lock/dockyard-network.lock")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _used_subnets(m: NetworkManager, exclude_bridges: Iterable[str] = ()) -> list[ipam.IPv4Net]:
    used = [n.ipam[0].network for n in m.state.networks(include_inactive=True) if n.ipam]
    ours = {n.bridge for n in m.state.networks(include_inactive=True)} | set(exclude_bridges)
    used += [net for dev, net in ipam.host_routes() if dev not in ours]
    return used


def _pools(m: NetworkManager) -> list[ipam.Pool]:
    raw = m.settings.extra.get("default-address-pools")
    if not isinstance(raw, list):
        return list(ipam.DEFAULT_POOLS)
    return [ipam.Pool(str(p["base"]), int(p["size"])) for p in raw if isinstance(p, dict)]


@contextlib.contextmanager
def host_lock(m: NetworkManager) -> Iterator[None]:
    """Serialize subnet choice across state roots on this host (their bridges share one routing table)."""
    if m._host_fd is not None:
        yield  # re-entrant: this manager holds it already
        return
    try:
        HOST_LOCK.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(HOST_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        m._host_fd = fd
        yield
    finally:
        m._host_fd = None
        os.close(fd)


def default_network(m: NetworkManager) -> Network:
    """The ``bridge`` network, created in the database (not yet in the kernel) on first use."""
    net = m.state.network("bridge")
    if net is not None:
        return net
    with m.locked(), host_lock(m):
        net = m.state.network("bridge")
        if net is not None:
            return net
        extra = m.settings.extra
        bridge = m.default_bridge
        bip = extra.get("bip")
        if bip:
            iface = ipam.ipaddress.IPv4Interface(str(bip))
            cfg = IPAMConfig(str(iface.network), str(iface.ip))
        else:
            used = _used_subnets(m, {bridge})
            subnet = ipam.choose_subnet((ipam.IPv4Net(c) for c in ipam.DEFAULT_BRIDGE_CANDIDATES), used)
            cfg = IPAMConfig(str(subnet), str(subnet.network_address + 1))
        options = {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.driver.mtu": "1500",
        }
        net = Network(
            id=os.urandom(32).hex(),
            name="bridge",
            driver=Driver.BRIDGE,
            created=_now(),
            bridge=bridge,
            ipam=(cfg,),
            default=True,
            options=options,
        )
        with m.db.transaction() as conn:
            m.state.insert_network(conn, net, "active")
        return net


def create_network(m: NetworkManager, req: NetworkCreate) -> Network:
    """A user network (``docker network create``): recorded, then its bridge and firewall made; undone on failure."""
    if req.driver not in ("bridge", ""):
        if req.driver in ("host", "null"):
            raise Conflict(f'only one instance of "{req.driver}" network is allowed')
        raise NotFound(f'plugin "{req.driver}" not found')
    if not req.name or not req.name[0].isalnum() or not all(c.isalnum() or c in "_.-" for c in req.name):
        raise InvalidArgument(f'invalid name "{req.name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*')
    if req.ipv6:
        raise InvalidArgument("network create: IPv6 networks are not supported yet")
    with m.locked(), host_lock(m):
        if req.name in PREDEFINED or m.state.network(req.name) is not None:
            if req.name in ("host", "none"):
                raise Conflict(f"network with name {req.name} already exists")
            if req.name == "bridge" or m.state.network(req.name) is not None:
                raise Conflict(f"network with name {req.name} already exists")
        default_network(m)
        cfg = ipam.ipam_config(req.subnet, req.gateway, req.ip_range, used=_used_subnets(m), pools=_pools(m))
        net_id = os.urandom(32).hex()
        bridge = req.options.get("com.docker.network.bridge.name") or f"dy-{net_id[:12]}"
        if len(bridge) > 15:
            raise InvalidArgument(f"network create: bridge name {bridge} is longer than 15 characters")
        if m.driver.bridge_exists(bridge):
            raise Conflict(f"network create: a link named {bridge} exists already")
        net = Network(
            id=net_id,
            name=req.name,
            driver=Driver.BRIDGE,
            created=_now(),
            bridge=bridge,
            ipam=(cfg,),
            internal=req.internal,
            attachable=req.attachable,
            dns_enabled=True,
            labels=dict(req.labels),
            options=dict(req.options),
            ipam_options=dict(req.ipam_options),
        )
        with m.db.transaction() as conn:
            m.state.insert_network(conn, net, "creating")
        try:
            ensure_network_objects(m, net)
        except BaseException:
            remove_network_objects(m, net)
            with m.db.transaction() as conn:
                conn.execute("DELETE FROM networks WHERE id = ?", (net.id,))
            raise
        with m.db.transaction() as conn:
            conn.execute("UPDATE networks SET state = 'active' WHERE id = ?", (net.id,))
        return net


def delete_network(m: NetworkManager, name_or_id: str) -> Network:
    """``docker network rm``: refused for predefined networks and networks with endpoints."""
    with m.locked():
        net = m.get(name_or_id)
        if net.name in PREDEFINED:
            raise Conflict(f"{net.name} is a pre-defined network and cannot be removed")
        if m.state.endpoint_count(net.id):
            raise Conflict(f"error while removing network: network {net.name} id {net.id} has active endpoints")
        with m.db.transaction() as conn:
            conn.execute("UPDATE networks SET state = 'removing' WHERE id = ?", (net.id,))
        remove_network_objects(m, net)
        with m.db.transaction() as conn:
            conn.execute("DELETE FROM networks WHERE id = ?", (net.id,))
        return net
