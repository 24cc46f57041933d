"""A network's kernel objects besides its endpoints: the bridge link, the network's elements in the nftables
table, and its accept rules in Docker's ``DOCKER-USER`` chain (when a dockerd runs beside dockyard).

Each function returns nft lines or applies them, idempotently, from what the database says; the manager calls
them under its network lock. The firewall module is imported on first use (a container start reaches these only
while runc runs).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.network.firewall import BridgeRule, PortRule
    from dockyard.network.manager import NetworkManager
    from dockyard.network.types import Network

__all__ = [
    "bridge_rule",
    "docker_user_lines",
    "ensure_bridge_for",
    "ensure_network_objects",
    "firewall_state",
    "remove_network_objects",
]


def bridge_rule(net: Network) -> BridgeRule:
    from dockyard.network.firewall import BridgeRule

    masq = net.options.get("com.docker.network.bridge.enable_ip_masquerade", "true") != "false"
    return BridgeRule(net.bridge, net.ipam[0].subnet, net.internal, masq)


def firewall_state(m: NetworkManager) -> tuple[list[BridgeRule], list[PortRule]]:
    """Every active network's bridge rule and every published port, as the whole table is built from."""
    from dockyard.network.firewall import PortRule

    nets = [bridge_rule(n) for n in m.state.networks()]
    rules = [PortRule(p.protocol, p.host_ip, p.host_port, p.container_ip, p.container_port) for p in m.state.ports()]
    return nets, rules


def ensure_network_objects(m: NetworkManager, net: Network) -> None:
    """Bridge, firewall elements and DOCKER-USER accept rules of ``net`` (all idempotent)."""
    m.driver.ensure_bridge(net)
    m.firewall.ensure(*firewall_state(m))
    lines = m.firewall.network_lines(bridge_rule(net), True)
    lines += docker_user_lines(m, [net])
    m.firewall.apply(lines)


def docker_user_lines(m: NetworkManager, nets: Sequence[Network]) -> list[str]:
    """Accept rules for ``nets`` in Docker's DOCKER-USER chain when it exists and lacks them.

    Checked at most every ``TRUST_SECONDS`` per bridge by one process (a dockerd started later is noticed by
    the next container set up after that)."""
    now = time.monotonic()
    from dockyard.network.firewall import TRUST_SECONDS

    checked = m._docker_checked
    due = [n for n in nets if now - checked.get(n.bridge, -TRUST_SECONDS) >= TRUST_SECONDS]
    if not due:
        return []
    handles = m.firewall.docker_user_handles()
    for net in due:
        checked[net.bridge] = now
    if handles is None:
        return []
    lines: list[str] = []
    for net in due:
        if len(handles.get(net.bridge, [])) < 2:
            lines += m.firewall.docker_user_lines(net.bridge, False, handles.get(net.bridge, []))
            lines += m.firewall.docker_user_lines(net.bridge, True)
    return lines


def remove_network_objects(m: NetworkManager, net: Network) -> None:
    """Undo :func:`ensure_network_objects` (and drop ``net`` from the DNS server)."""
    m._docker_checked.pop(net.bridge, None)
    lines = []
    if m.firewall.table_exists():
        lines += m.firewall.network_lines(bridge_rule(net), False)
    handles = m.firewall.docker_user_handles() or {}
    lines += m.firewall.docker_user_lines(net.bridge, False, handles.get(net.bridge, []))
    m.firewall.apply(lines)
    m.driver.delete_bridge(net.bridge)
    m.dns.remove_network(net.name)
    m.dns.reload()


def ensure_bridge_for(m: NetworkManager, net: Network) -> list[str]:
    """Bridge of ``net`` present (after a reboot, or first container on the default bridge); nft lines to add."""
    if m.driver.bridge_exists(net.bridge):
        return []
    m.driver.ensure_bridge(net)
    return m.firewall.network_lines(bridge_rule(net), True)
