"""Whole-root cleanup: orphans no row accounts for (``sweep``), every kernel object of a root (``destroy_all``, for
test fixtures and uninstalling), and what of a root is still on the host (``remaining``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from dockyard.errors import Unavailable
from dockyard.network import netns

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager
    from dockyard.network.types import Network

__all__ = ["destroy_all", "remaining", "sweep"]

log = logging.getLogger(__name__)


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
    """Remove every kernel object of this root: namespaces, veths, bridges, nft table, DNS server.

    Every step is tried even when an earlier one failed (a container that cannot be detached must not keep the
    bridge and the nft table on the host); the failures are raised together at the end, as ``Unavailable``."""
    errors: list[str] = []
    try:
        with m.locked():
            _destroy(m, errors)
    except Exception as exc:  # taking the lock (its reconcile) failed: remove what has a name all the same
        errors.append(f"lock: {exc}")
        _destroy(m, errors)
    if errors:
        raise Unavailable(f"network destroy: {'; '.join(errors)}")


def _destroy(m: NetworkManager, errors: list[str]) -> None:
    def step(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:
            log.warning("network destroy: %s: %s", what, exc)
            errors.append(f"{what}: {exc}")

    def rows(sql: str) -> list[str]:
        found: list[str] = []
        step("read the database", lambda: found.extend(str(r[0]) for r in m.db.query(sql)))
        return found

    for cid in rows("SELECT DISTINCT container_id FROM endpoints"):
        step(f"detach {cid[:12]}", partial(m.detach, cid))
    for cid in rows("SELECT container_id FROM sandboxes"):
        step(f"namespace of {cid[:12]}", partial(m.delete_namespace, cid))
    step("sweep", m.sweep)  # while the bridges still exist: it finds stray veths by the bridge they are on
    handles: dict[str, list[int]] = {}
    step("DOCKER-USER", lambda: handles.update(m.firewall.docker_user_handles() or {}))
    nets: list[Network] = []
    step("read the database", lambda: nets.extend(m.state.networks(include_inactive=True)))

    def unrule(bridge: str) -> None:  # our accept rules in Docker's DOCKER-USER chain
        m.firewall.apply(m.firewall.docker_user_lines(bridge, False, handles.get(bridge, [])))

    for net in nets:
        step(f"DOCKER-USER rules of {net.bridge}", partial(unrule, net.bridge))
        step(f"bridge {net.bridge}", partial(m.driver.delete_bridge, net.bridge))
        step(f"DNS of {net.name}", partial(m.dns.remove_network, net.name))
    if "bridge" not in m.settings.extra and m.default_bridge not in {n.bridge for n in nets}:
        # ours by its name even without a row (a database replaced or lost); a configured one may be the user's
        step(f"bridge {m.default_bridge}", partial(m.driver.delete_bridge, m.default_bridge))
    step(f"nft table {m.table}", m.firewall.delete_table)
    step("DNS server", m.dns.stop)


def remaining(m: NetworkManager) -> list[str]:
    """This root's links (bridges, veths of recorded endpoints) and nft table still on the host."""
    names = {n.bridge for n in m.state.networks(include_inactive=True)} | {m.default_bridge}
    names |= {str(r[0]) for r in m.db.query("SELECT host_interface FROM endpoints")}
    found = [f"link {name}" for name in sorted(names) if m.driver.bridge_exists(name)]
    if m.firewall.table_exists():
        found.append(f"nft table inet {m.table}")
    return found
