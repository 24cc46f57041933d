"""Published ports: ``-p`` parsing with Docker's wording, ``-P``, host port probing, and the display forms.

Parsing follows go-connections ``nat.ParsePortSpec``: ``[ip:][hostPort:]containerPort[/proto]`` where either port
may be a range ``a-b``. Display follows the docker CLI: the PORTS column (``0.0.0.0:4000->80/tcp``, consecutive
ports folded into ranges), ``docker port`` lines (``80/tcp -> 0.0.0.0:4000``) and inspect's
``NetworkSettings.Ports`` (``{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "4000"}]}``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from dockyard.errors import InvalidArgument
from dockyard.network.types import PortMapping, PortSpec, Protocol

__all__ = [
    "exposed_port_specs",
    "format_port_lines",
    "format_ports_column",
    "host_port_free",
    "parse_exposed_port",
    "parse_port_spec",
    "parse_port_specs",
    "port_map",
]


def _parse_port_number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 5:
        raise ValueError(raw)
    value = int(raw)
    if value > 65535:
        raise ValueError(raw)
    return value


def _parse_port_range(raw: str) -> tuple[int, int]:
    if "-" not in raw:
        port = _parse_port_number(raw)
        return port, port
    start_s, _, end_s = raw.partition("-")
    start, end = _parse_port_number(start_s), _parse_port_number(end_s)
    if end < start:
        raise ValueError(raw)
    return start, end


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def parse_port_spec(raw: str) -> list[PortSpec]:
    """Parse one ``-p`` value into one :class:`PortSpec` per container port, with Docker's error messages."""
    ip, host_port, container_port = _split_parts(raw)
    port_part, _, proto = container_port.partition("/")
    if not port_part:
        raise InvalidArgument(f"no port specified: {raw}<empty>")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise InvalidArgument(f"invalid IP address {ip}: missing ']' in address {ip}:")
        ip = ip[1:-1]
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise InvalidArgument(f"invalid IP address: {ip}") from None
    try:
        start, end = _parse_port_range(port_part)
        if start == 0:
            raise ValueError(port_part)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {port_part}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = _parse_port_range(host_port)
        except ValueError:
            raise InvalidArgument(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise InvalidArgument(f"invalid ranges specified for container and host Ports: {port_part} and {host_port}")
    count = end - start + 1
    specs = []
    for i in range(count):
        if not host_port:
            hs = he = 0
        elif count == 1:
            hs, he = host_start, host_end
        else:
            hs = he = host_start + i
        specs.append(PortSpec(start + i, Protocol(proto), ip, hs, he))
    return specs


def parse_port_specs(raws: Iterable[str]) -> list[PortSpec]:
    """Parse every ``-p`` value of a command line, in order."""
    out: list[PortSpec] = []
    for raw in raws:
        out.extend(parse_port_spec(raw))
    return out


def parse_exposed_port(raw: str) -> list[tuple[int, Protocol]]:
    """An image's ``ExposedPorts`` key or an ``--expose`` value: ``80``, ``80/udp``, ``8000-8002/tcp``."""
    port_part, _, proto = raw.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    try:
        start, end = _parse_port_range(port_part)
    except ValueError:
        raise InvalidArgument(f"invalid range format for --expose: {raw}, error: invalid port") from None
    return [(p, Protocol(proto)) for p in range(start, end + 1)]


def exposed_port_specs(exposed: Iterable[str], explicit: Sequence[PortSpec] = ()) -> list[PortSpec]:
    """``-P``: publish every exposed port not already published by ``-p``, each on a random host port."""
    taken = {(s.container_port, s.protocol) for s in explicit}
    out = list(explicit)
    for raw in exposed:
        for port, proto in parse_exposed_port(raw):
            if (port, proto) not in taken:
                taken.add((port, proto))
                out.append(PortSpec(port, proto))
    return out


def host_port_free(host_ip: str, port: int, protocol: Protocol) -> bool:
    """True when no process on the host holds ``host_ip:port`` for ``protocol`` (a bind test, closed at once)."""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol is Protocol.UDP else socket.SOCK_STREAM
    proto = 132 if protocol is Protocol.SCTP else 0
    try:
        sock = socket.socket(family, kind, proto)
    except OSError:
        return True  # e.g. no SCTP module: nobody can be listening on it either
    try:
        if kind == socket.SOCK_STREAM:
            # Same as a server would: TIME_WAIT leftovers do not count, listeners do.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host_ip or "0.0.0.0", port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        if exc.errno == errno.EADDRNOTAVAIL:
            raise InvalidArgument(
                f"Bind for {host_ip}:{port} failed: cannot assign requested address (not an address of this host)"
            ) from None
        raise
    finally:
        sock.close()
    return True


def _fold(mappings: Sequence[PortMapping]) -> list[str]:
    """Fold consecutive ports with the same host IP and protocol into ``a-b->c-d/proto`` like the docker CLI."""
    items = sorted(mappings, key=lambda m: (m.protocol, m.host_ip, m.container_port))
    out: list[str] = []
    i = 0
    while i < len(items):
        first = items[i]
        j = i
        while (
            j + 1 < len(items)
            and items[j + 1].protocol == first.protocol
            and items[j + 1].host_ip == first.host_ip
            and items[j + 1].container_port == items[j].container_port + 1
            and items[j + 1].host_port == items[j].host_port + 1
        ):
            j += 1
        last = items[j]
        if j == i:
            out.append(str(first))
        else:
            host = f"[{first.host_ip}]" if ":" in first.host_ip else first.host_ip
            out.append(
                f"{host}:{first.host_port}-{last.host_port}->{first.container_port}-{last.container_port}/{first.protocol}"
            )
        i = j + 1
    return out


def format_ports_column(mappings: Sequence[PortMapping], exposed: Iterable[str] = ()) -> str:
    """The ``docker ps`` PORTS column: published ports, then exposed-but-unpublished ones as ``80/tcp``."""
    published = {(m.container_port, m.protocol) for m in mappings}
    parts = _fold(mappings)
    for raw in exposed:
        for port, proto in parse_exposed_port(raw):
            if (port, proto) not in published:
                parts.append(f"{port}/{proto}")
    return ", ".join(parts)


def format_port_lines(mappings: Sequence[PortMapping], private: str | None = None) -> list[str]:
    """``docker port <c> [PRIVATE_PORT[/PROTO]]`` lines: ``80/tcp -> 0.0.0.0:4000``."""
    lines = []
    want_port, want_proto = None, None
    if private:
        want, _, proto = private.partition("/")
        want_port, want_proto = int(want), Protocol((proto or "tcp").lower())
    for m in sorted(mappings, key=lambda m: (m.container_port, m.protocol, m.host_ip)):
        if want_port is not None and (m.container_port != want_port or m.protocol != want_proto):
            continue
        host = f"[{m.host_ip}]" if ":" in m.host_ip else m.host_ip
        lines.append(f"{host}:{m.host_port}" if private else f"{m.key} -> {host}:{m.host_port}")
    return lines


def port_map(mappings: Sequence[PortMapping], exposed: Iterable[str] = ()) -> dict[str, list[dict[str, str]] | None]:
    """Inspect's ``NetworkSettings.Ports``: every exposed or published port, ``None`` when not published."""
    out: dict[str, list[dict[str, str]] | None] = {}
    for raw in exposed:
        for port, proto in parse_exposed_port(raw):
            out.setdefault(f"{port}/{proto}", None)
    for m in sorted(mappings, key=lambda m: (m.container_port, m.protocol, m.host_ip)):
        bindings = out.get(m.key) or []
        bindings.append({"HostIp": m.host_ip, "HostPort": str(m.host_port)})
        out[m.key] = bindings
    return out
