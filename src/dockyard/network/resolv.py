"""What goes into a container's ``/etc/resolv.conf`` and ``/etc/hosts`` (pure, given the host's resolv.conf text).

* default bridge, ``none``: the host's nameservers minus loopback ones (unreachable from the container; Docker
  falls back to 8.8.8.8/8.8.4.4 when none remain), the host's search domains and options;
* user-defined networks: the network's gateway, where aardvark-dns answers container names and aliases and
  forwards every other name to the host's resolvers;
* ``host``: the host's file unchanged;
* ``--dns``/``--dns-search``/``--dns-option`` replace the corresponding host values (on user networks the given
  servers follow the gateway).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_NAMESERVERS",
    "DnsOptions",
    "ExtraHost",
    "HostResolvConf",
    "parse_extra_host",
    "read_host_resolv_conf",
    "render_hosts",
    "render_resolv_conf",
]

DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


@dataclass(frozen=True)
class DnsOptions:
    """``--dns``, ``--dns-search``, ``--dns-option`` as given (empty means "use the host's")."""

    servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for server in self.servers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                message = f'invalid argument "{server}" for "--dns" flag: {server} is not an ip address'
                raise InvalidArgument(message) from None


@dataclass(frozen=True)
class HostResolvConf:
    """The host's ``resolv.conf``: its text and what containers take from it."""

    text: str
    nameservers: tuple[str, ...]
    search: tuple[str, ...]
    options: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> HostResolvConf:
        ns: list[str] = []
        search: list[str] = []
        options: list[str] = []
        for line in text.splitlines():
            fields = line.split("#", 1)[0].split(";", 1)[0].split()
            if not fields:
                continue
            if fields[0] == "nameserver" and len(fields) > 1:
                ns.append(fields[1])
            elif fields[0] in ("search", "domain"):
                search = fields[1:]
            elif fields[0] == "options":
                options.extend(fields[1:])
        return cls(text, tuple(ns), tuple(search), tuple(options))


def read_host_resolv_conf(path: Path = Path("/etc/resolv.conf")) -> HostResolvConf:
    try:
        return HostResolvConf.parse(path.read_text())
    except OSError:
        return HostResolvConf("", (), (), ())


def _usable(server: str) -> bool:
    try:
        addr = ipaddress.ip_address(server.split("%")[0])
    except ValueError:
        return False
    return addr.version == 4 and not addr.is_loopback


def render_resolv_conf(
    host: HostResolvConf,
    dns: DnsOptions = DnsOptions(),
    *,
    embedded: str | None = None,
    host_network: bool = False,
) -> str:
    """The container's resolv.conf. ``embedded`` is the network's DNS server (the gateway on user networks)."""
    if host_network and not (dns.servers or dns.search or dns.options):
        return host.text
    if embedded:
        servers: Sequence[str] = (embedded, *dns.servers)
    elif dns.servers:
        servers = dns.servers
    else:
        servers = [s for s in host.nameservers if _usable(s)] or list(DEFAULT_NAMESERVERS)
    search = dns.search or host.search
    options = dns.options or host.options
    lines = []
    if search and search != (".",):
        lines.append("search " + " ".join(search))
    lines += [f"nameserver {s}" for s in servers]
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ExtraHost:
    """One ``--add-host name:ip``."""

    name: str
    ip: str  # an address, or "host-gateway"


def parse_extra_host(spec: str) -> ExtraHost:
    """``--add-host name:ip`` (or ``name=ip``); ``ip`` may be ``host-gateway``. Docker's error wording."""
    sep = "=" if "=" in spec else ":"
    name, found, ip = spec.partition(sep)
    if not found or not name or not ip:
        raise InvalidArgument(f'bad format for add-host: "{spec}"')
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip != "host-gateway":
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidArgument(f'invalid IP address in add-host: "{ip}"') from None
    return ExtraHost(name, ip)


def render_hosts(
    hostname: str,
    addresses: Sequence[str],
    extra: Sequence[ExtraHost] = (),
    *,
    domainname: str = "",
    host_gateway: str = "",
) -> str:
    """Docker's /etc/hosts: localhost lines, ``--add-host`` entries, then the container's own addresses."""
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    for h in extra:
        ip = host_gateway if h.ip == "host-gateway" else h.ip
        if ip:
            lines.append(f"{ip}\t{h.name}")
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    for addr in addresses:
        if hostname:
            lines.append(f"{addr}\t{names}")
    return "\n".join(lines) + "\n"
