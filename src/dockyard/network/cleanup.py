"""Whole-root cleanup: orphans no row accounts for (``sweep``), and every kernel object of a root
(``destroy_all``, for test fixtures and uninstalling)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.network import netns

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager

__all__ = ["destroy_all", "sweep"]


def sweep(m: NetworkManager) -> list[str]:
    """Deep clean: links on our bridges and namespace files no row accounts for. Returns what it removed."""
    removed: list[str] = []
    with m.locked():
        bridges = {n.bridge for n in m.state.networks()}
        known = {r[0] for r in m.db.query("SELECT host_interface FROM endpoints")}
        for name in m.driver.orphans(bridges, known):
            if m.driver.delete_endpoint(name):
                removed.append(name)
        pinned = {r[0] for r in m.db.query("SELECT path FROM sandboxes")}
        if m.netns_dir.is_dir():
            for path in m.netns_dir.iterdir():
                if str(path) not in pinned:
                    netns.remove(path)
                    removed.append(str(path))
    return removed


def destroy_all(m: NetworkManager) -> None:
    """Remove every kernel object of this root: namespaces, veths, bridges, nft table, DNS server."""
    with m.locked():
        for cid in [r[0] for r in m.db.query("SELECT DISTINCT container_id FROM endpoints")]:
            m.detach(cid)
        for cid in [r[0] for r in m.db.query("SELECT container_id FROM sandboxes")]:
            m.delete_namespace(cid)
        handles = m.firewall.docker_user_handles() or {}
        for net in m.state.networks(include_inactive=True):
            m.firewall.apply(m.firewall.docker_user_lines(net.bridge, False, handles.get(net.bridge, [])))
            m.driver.delete_bridge(net.bridge)
            m.dns.remove_network(net.name)
        m.firewall.delete_table()
        m.dns.stop()
        m.sweep()
