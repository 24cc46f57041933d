"""A container's names: its ``resolv.conf`` and ``hosts`` contents, and its entries in the DNS server."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.errors import FailedPrecondition
from dockyard.network.dns import DnsEntry
from dockyard.network.resolv import DnsOptions, ExtraHost, read_host_resolv_conf, render_hosts, render_resolv_conf

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager

__all__ = ["container_files", "dns_names", "update_dns"]

log = logging.getLogger(__name__)


def _dns_network(m: NetworkManager, network_id: str) -> bool:
    row = m.db.query_one("SELECT dns FROM networks WHERE id = ?", (network_id,))
    return bool(row and row[0])


def container_files(
    m: NetworkManager,
    container_id: str,
    hostname: str,
    domainname: str,
    dns: DnsOptions,
    extra_hosts: Sequence[ExtraHost],
    host_network: bool,
) -> tuple[str, str]:
    """``(resolv.conf, hosts)`` for the container's current endpoints (or host/none mode)."""
    eps = m.state.endpoints(container_id=container_id)
    host = read_host_resolv_conf()
    embedded = None
    if m.dns.available:  # without aardvark-dns nobody answers on the gateway: keep the host's servers
        embedded = next((e.gateway for e in eps if _dns_network(m, e.network_id)), None)
    resolv = render_resolv_conf(host, dns, embedded=embedded, host_network=host_network)
    gateway = eps[0].gateway if eps else ""
    if not gateway and any(h.ip == "host-gateway" for h in extra_hosts):
        gateway = m.default_network().ipam[0].gateway
    hosts = render_hosts(hostname, [e.ip for e in eps], extra_hosts, domainname=domainname, host_gateway=gateway)
    return resolv, hosts


def dns_names(container_name: str, aliases_json: str, container_id: str) -> tuple[str, ...]:
    """What a container answers to on a user network: its name, its aliases, its short ID."""
    aliases = json.loads(aliases_json)
    names = [container_name, *aliases, container_id[:12]] if container_name else list(aliases)
    return tuple(dict.fromkeys(n for n in names if n))


def update_dns(m: NetworkManager, network_ids: set[str]) -> None:
    """Rewrite the DNS server's files of ``network_ids`` from the database and make it reload."""
    changed = False
    for net_id in network_ids:
        row = m.db.query_one("SELECT name, gateway, dns FROM networks WHERE id = ?", (net_id,))
        if row is None or not row["dns"]:
            continue
        entries = [
            DnsEntry(r["container_id"], r["ip"], dns_names(r["container_name"], r["aliases"], r["container_id"]))
            for r in m.state.dns_entries_rows(net_id)
        ]
        m.dns.write_network(row["name"], row["gateway"], entries)
        changed = True
    if changed:
        try:
            m.dns.reload()
        except FailedPrecondition as exc:  # no aardvark-dns: containers run, without names
            log.warning("%s", exc.message)
