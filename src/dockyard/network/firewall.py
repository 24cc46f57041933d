"""NAT, port publishing and forwarding rules: dockyard's own nftables table, one atomic batch per change.

Each state root owns one ``inet`` table (``dockyard`` for /var/lib/dockyard, ``dockyard_<hash>`` for others)::

    table inet dockyard {
        map hostports { type inet_proto . inet_service : verdict; }   # tcp . 4000 : jump hp_tcp_4000
        set masq_src { type ipv4_addr; flags interval; }               # subnets of non-internal networks
        set bridges  { type ifname; }                                  # every bridge of this root
        set internal { type ifname; }                                  # bridges of --internal networks
        chain prerouting  { nat dstnat:  fib daddr type local, l4proto . dport vmap @hostports }
        chain output      { nat -100:    the same, for connections from the host itself (127.0.0.1 too) }
        chain postrouting { nat srcnat:  masquerade outbound, DNATed loopback, and hairpin traffic }
        chain forward     { filter:      internal networks stay internal }
        chain hp_tcp_4000 { [ip daddr 127.0.0.1] meta l4proto tcp dnat ip to 10.77.0.2:80 }
    }

The skeleton is created once; after that every change only adds or removes set/map elements and rewrites whole
per-port chains, written so that each batch is idempotent (``add`` before ``delete``, ``flush`` before re-adding).
Loopback access uses ``route_localnet`` on the bridge plus output-chain DNAT and masquerade, as netavark does.

Docker sets the ``FORWARD`` policy to DROP; when its ``DOCKER-USER`` chain exists (``ip filter``, from
iptables-nft) we insert ``iifname/oifname <bridge> counter accept`` there, in the exact form iptables-nft writes,
so ``iptables -L`` and dockerd keep reading that table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dockyard.network.nft import Nft, NftError
from dockyard.network.types import Protocol

__all__ = ["BridgeRule", "Firewall", "PortRule"]

log = logging.getLogger(__name__)

MASQ_LOOPBACK = "127.0.0.0/8"
TRUST_SECONDS = 30.0


@dataclass(frozen=True)
class BridgeRule:
    """What nftables must know of a bridge network: its subnet, and whether it is internal or masqueraded."""

    bridge: str
    subnet: str
    internal: bool = False
    masquerade: bool = True


@dataclass(frozen=True)
class PortRule:
    """One published port: host address and port to container address and port."""

    protocol: Protocol
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int

    @property
    def key(self) -> tuple[Protocol, int]:
        return (self.protocol, self.host_port)


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _chain_name(protocol: Protocol, port: int) -> str:
    return f"hp_{protocol}_{port}"


class Firewall:
    """Generates and applies the batches for one state root's table."""

    def __init__(self, table: str, nft: Nft) -> None:
        self.table = table
        self.nft = nft
        self._confirmed = 0.0

    # -- pure script builders ----------------------------------------------------------------------------

    def skeleton(self) -> list[str]:
        t = f"inet {self.table}"
        return [
            f"add table {t}",
            f"delete table {t}",
            f"add table {t}",
            f"add map {t} hostports {{ type inet_proto . inet_service : verdict; }}",
            f"add set {t} masq_src {{ type ipv4_addr; flags interval; }}",
            f"add set {t} bridges {{ type ifname; }}",
            f"add set {t} internal {{ type ifname; }}",
            f"add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
            f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",
            f"add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}",
            f"add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}",
            f"add rule {t} prerouting meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @hostports",
            f"add rule {t} output meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @hostports",
            f"add rule {t} postrouting oifname @bridges ct status dnat ip saddr {MASQ_LOOPBACK} masquerade",
            f"add rule {t} postrouting iifname @bridges oifname @bridges ct status dnat masquerade",
            f"add rule {t} postrouting ip saddr @masq_src oifname != @bridges masquerade",
            f"add rule {t} forward iifname @internal oifname != @internal drop",
            f"add rule {t} forward oifname @internal iifname != @internal drop",
        ]

    def network_lines(self, rule: BridgeRule, present: bool) -> list[str]:
        """Add (``present``) or remove one network's elements, idempotently."""
        t = f"inet {self.table}"
        elements = [("bridges", _q(rule.bridge))]
        if rule.internal:
            elements.append(("internal", _q(rule.bridge)))
        elif rule.masquerade:
            elements.append(("masq_src", rule.subnet))
        lines = []
        for set_name, value in elements:
            lines.append(f"add element {t} {set_name} {{ {value} }}")
            if not present:
                lines.append(f"delete element {t} {set_name} {{ {value} }}")
        return lines

    def port_lines(self, keys: Iterable[tuple[Protocol, int]], rules: Sequence[PortRule]) -> list[str]:
        """Rewrite the per-port chains of ``keys`` from ``rules`` (all current bindings of those ports)."""
        t = f"inet {self.table}"
        lines: list[str] = []
        for protocol, port in sorted(set(keys)):
            chain = _chain_name(protocol, port)
            mine = [r for r in rules if r.key == (protocol, port)]
            lines += [
                f"add chain {t} {chain}",
                f"flush chain {t} {chain}",
                f"add element {t} hostports {{ {protocol} . {port} : jump {chain} }}",
            ]
            if not mine:
                lines += [f"delete element {t} hostports {{ {protocol} . {port} }}", f"delete chain {t} {chain}"]
                continue
            # Specific host addresses first, the wildcard last.
            for r in sorted(mine, key=lambda r: r.host_ip in ("", "0.0.0.0")):
                match = "meta nfproto ipv4" if r.host_ip in ("", "0.0.0.0") else f"ip daddr {r.host_ip}"
                lines.append(
                    f"add rule {t} {chain} {match} meta l4proto {protocol} "
                    f"dnat ip to {r.container_ip}:{r.container_port}"
                )
        return lines

    def full_lines(self, networks: Sequence[BridgeRule], ports: Sequence[PortRule]) -> list[str]:
        """The whole table from scratch (first use, or after someone flushed the ruleset)."""
        lines = self.skeleton()
        for n in networks:
            lines += self.network_lines(n, True)
        lines += self.port_lines((r.key for r in ports), ports)
        return lines

    @staticmethod
    def docker_user_lines(bridge: str, present: bool, handles: Sequence[int] = ()) -> list[str]:
        if present:
            return [
                f"insert rule ip filter DOCKER-USER oifname {_q(bridge)} counter accept",
                f"insert rule ip filter DOCKER-USER iifname {_q(bridge)} counter accept",
            ]
        return [f"delete rule ip filter DOCKER-USER handle {h}" for h in handles]

    # -- applying ------------------------------------------------------------------------------------------

    def table_exists(self) -> bool:
        present = self.nft.query(f"list table inet {self.table}") is not None
        self._confirmed = time.monotonic() if present else 0.0
        return present

    def apply(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        script = "\n".join(lines) + "\n"
        log.debug("nft batch:\n%s", script)
        self.nft.run(script)

    def ensure(self, networks: Sequence[BridgeRule], ports: Sequence[PortRule]) -> bool:
        """Create the table (and its content from the given state) when it is missing; True if it was.

        A table seen in the last ``TRUST_SECONDS`` is assumed present (saves a query per container); should it
        have vanished meanwhile, :meth:`apply_or_resync` notices and rebuilds."""
        if self._confirmed and time.monotonic() - self._confirmed < TRUST_SECONDS:
            return False
        if self.table_exists():
            return False
        self.apply(self.full_lines(networks, ports))
        self._confirmed = time.monotonic()
        return True

    def apply_or_resync(
        self, lines: Sequence[str], state: Callable[[], tuple[Sequence[BridgeRule], Sequence[PortRule]]]
    ) -> None:
        """Apply ``lines``; if nft refuses because the table is gone (``nft flush ruleset``), rebuild and retry."""
        try:
            self.apply(lines)
        except NftError:
            if self.table_exists():
                raise
            log.warning("nftables table inet %s vanished; rebuilding it", self.table)
            self.apply(self.full_lines(*state()))
            self._confirmed = time.monotonic()
            self.apply(lines)

    def delete_table(self) -> None:
        t = f"inet {self.table}"
        self.apply([f"add table {t}", f"delete table {t}"])
        self._confirmed = 0.0

    def docker_user_handles(self) -> dict[str, list[int]] | None:
        """Our accept rules in Docker's ``DOCKER-USER`` chain, by bridge; ``None`` when the chain does not exist."""
        data = self.nft.query("list chain ip filter DOCKER-USER")
        if data is None:
            return None
        found: dict[str, list[int]] = {}
        items = data.get("nftables", []) if isinstance(data, dict) else []
        for item in items:
            rule = item.get("rule") if isinstance(item, dict) else None
            if not isinstance(rule, dict):
                continue
            exprs = rule.get("expr", [])
            verdict = any(isinstance(e, dict) and "accept" in e for e in exprs)
            for e in exprs:
                match = e.get("match") if isinstance(e, dict) else None
                if not isinstance(match, dict) or not verdict:
                    continue
                left = match.get("left")
                if isinstance(left, dict) and left.get("meta", {}).get("key") in ("iifname", "oifname"):
                    right = match.get("right")
                    if isinstance(right, str):
                        found.setdefault(right, []).append(int(rule["handle"]))
        return found
