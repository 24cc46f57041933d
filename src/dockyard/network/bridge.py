"""Kernel objects of a bridge network: the bridge device, the container's veth pair, the sysctls they need."""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path

from dockyard.errors import Conflict, FailedPrecondition
from dockyard.network import netns
from dockyard.network.netlink import IFF_RUNNING, IFF_UP, RtNetlink
from dockyard.network.types import Endpoint, Network

__all__ = ["BridgeDriver"]

log = logging.getLogger(__name__)

PROC_SYS = Path("/proc/sys/net/ipv4")


def _sysctl(path: Path, value: str) -> None:
    try:
        if path.read_text().strip() == value:
            return
        path.write_text(value)
    except OSError as exc:
        raise FailedPrecondition(f"network: cannot set {path} to {value}: {exc.strerror}") from exc


class BridgeDriver:
    """Creates and removes bridges and veth pairs through one rtnetlink socket of the host namespace."""

    def __init__(self) -> None:
        self._nl: RtNetlink | None = None

    @property
    def nl(self) -> RtNetlink:
        if self._nl is None:
            self._nl = RtNetlink()
        return self._nl

    def close(self) -> None:
        if self._nl is not None:
            self._nl.close()
            self._nl = None

    # -- bridges -------------------------------------------------------------------------------------------

    def bridge_exists(self, name: str) -> bool:
        return self.nl.link(name) is not None

    def ensure_bridge(self, net: Network) -> bool:
        """Create ``net``'s bridge with its gateway address when missing; True when it was created."""
        cfg = net.ipam[0]
        link = self.nl.link(net.bridge)
        created = False
        if link is None:
            mtu = int(net.options.get("com.docker.network.driver.mtu", "0") or 0) or None
            try:
                self.nl.create_bridge(net.bridge, mtu=mtu)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise FailedPrecondition(f"network {net.name}: {exc.strerror}") from exc
            link = self.nl.link(net.bridge)
            created = True
            if link is None:
                raise FailedPrecondition(f"network {net.name}: bridge {net.bridge} vanished after creation")
        elif not link.flags & IFF_UP:
            self.nl.set_up(link.index)
        try:
            self.nl.add_address(link.index, f"{cfg.gateway}/{cfg.prefix_len}")
        except OSError as exc:
            raise FailedPrecondition(f"network {net.name}: add {cfg.gateway} to {net.bridge}: {exc.strerror}") from exc
        if created:
            # Loopback clients of published ports: DNATed packets keep 127.0.0.1 as source until masqueraded.
            _sysctl(PROC_SYS / "conf" / net.bridge / "route_localnet", "1")
        _sysctl(PROC_SYS / "ip_forward", "1")
        return created

    def delete_bridge(self, name: str) -> bool:
        return self.nl.delete_link(name)

    def bridge_index(self, name: str) -> int:
        link = self.nl.link(name)
        if link is None:
            raise FailedPrecondition(f"network: bridge {name} does not exist")
        return link.index

    # -- endpoints -----------------------------------------------------------------------------------------

    def create_endpoint(
        self, ep: Endpoint, bridge: str, namespace: Path, *, default_route: bool, mtu: int | None
    ) -> None:
        """The veth pair of ``ep``: host side on the bridge, container side named ``ep.interface`` and configured."""
        master = self.bridge_index(bridge)
        fd = os.open(namespace, os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                self.nl.create_veth(
                    ep.host_interface, ep.interface, peer_netns_fd=fd, master=master, peer_mac=ep.mac, mtu=mtu
                )
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise Conflict(f"endpoint with name {ep.interface} already exists in the container") from exc
                raise FailedPrecondition(f"network {ep.network_name}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        with RtNetlink(netns.netlink_socket_in(namespace)) as inside:
            link = inside.link(ep.interface)
            if link is None:
                raise FailedPrecondition(f"network {ep.network_name}: {ep.interface} missing in the container")
            inside.add_address(link.index, ep.cidr)
            inside.set_up(link.index)
            lo = inside.link("lo")
            if lo is not None and not lo.flags & IFF_UP:
                inside.set_up(lo.index)
            if default_route:
                inside.add_default_route(ep.gateway, link.index)
            # Until the kernel's linkwatch has seen the carrier (IFF_RUNNING), a veth still drops what it sends:
            # a first ARP lost that way costs the container's first client a 1 s retransmit. Usually ~0.1 ms.
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline:
                inner = inside.link(ep.interface)
                outer = self.nl.link(ep.host_interface)
                if inner and outer and inner.flags & outer.flags & IFF_RUNNING:
                    break
                time.sleep(0.0002)

    def delete_endpoint(self, host_interface: str) -> bool:
        return self.nl.delete_link(host_interface)

    def loopback_up(self, namespace: Path) -> None:
        with RtNetlink(netns.netlink_socket_in(namespace)) as inside:
            lo = inside.link("lo")
            if lo is not None and not lo.flags & IFF_UP:
                inside.set_up(lo.index)

    def orphans(self, bridges: set[str], known: set[str]) -> list[str]:
        """Links enslaved to ``bridges`` that no endpoint accounts for."""
        links = self.nl.links()
        indexes = {link.index for link in links if link.name in bridges}
        return [link.name for link in links if link.master in indexes and link.name not in known]
