"""A small rtnetlink client: just the link, address and route requests dockyard needs.

``import pyroute2`` costs about 0.14 s here, more than our whole per-container budget, so this module speaks
NETLINK_ROUTE directly: one request, one ACK, a few microseconds each. A socket opened inside a network
namespace stays bound to that namespace (see :func:`dockyard.network.netns.netlink_socket_in`), which is how the
container side (address, route, ``lo`` up) is configured without entering the namespace for longer than the
``socket()`` call.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterator

__all__ = ["IFF_RUNNING", "IFF_UP", "LinkInfo", "RtNetlink"]

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
NLA_F_NESTED = 0x8000

IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4

RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5

IFF_UP = 0x1
IFF_RUNNING = 0x40
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (_align(length) - length)


def _nested(kind: int, *attrs: bytes) -> bytes:
    return _attr(kind | NLA_F_NESTED, b"".join(attrs))


def _str(kind: int, value: str) -> bytes:
    return _attr(kind, value.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("=I", value))


def _mac(value: str) -> bytes:
    return bytes(int(x, 16) for x in value.split(":"))


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)


def _parse_attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, pos)
        if length < _RTATTR.size:
            break
        yield kind & ~NLA_F_NESTED, data[pos + _RTATTR.size : pos + length]
        pos += _align(length)


class LinkInfo:
    """One link from a dump: index, name, flags and master index (0 when none)."""

    __slots__ = ("flags", "index", "master", "name")

    def __init__(self, index: int, name: str, flags: int, master: int) -> None:
        self.index, self.name, self.flags, self.master = index, name, flags, master

    def __repr__(self) -> str:
        return f"LinkInfo({self.index}, {self.name!r}, flags={self.flags:#x}, master={self.master})"


class RtNetlink:
    """A NETLINK_ROUTE socket. Every request waits for its ACK and raises ``OSError`` with the kernel's errno."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RtNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------------------

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self._seq += 1
        msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags | NLM_F_REQUEST, self._seq, 0) + body
        self.sock.send(msg)
        return self._seq

    def _messages(self, seq: int) -> Iterator[tuple[int, bytes]]:
        while True:
            data = self.sock.recv(65536)
            pos = 0
            while pos + _NLMSGHDR.size <= len(data):
                length, kind, flags, mseq, _pid = _NLMSGHDR.unpack_from(data, pos)
                body = data[pos + _NLMSGHDR.size : pos + length]
                pos += _align(length)
                if mseq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", body)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                if kind == NLMSG_DONE:
                    return
                yield kind, body
                if not flags & NLM_F_MULTI:
                    return

    def request(self, kind: int, body: bytes, flags: int = 0, what: str = "") -> None:
        seq = self._send(kind, flags | NLM_F_ACK, body)
        try:
            for _ in self._messages(seq):
                pass
        except OSError as exc:
            raise OSError(exc.errno, f"{what}: {exc.strerror}" if what else exc.strerror) from None

    # -- links -----------------------------------------------------------------------------------------------

    def links(self) -> list[LinkInfo]:
        seq = self._send(RTM_GETLINK, NLM_F_DUMP, _ifinfo())
        out = []
        for kind, body in self._messages(seq):
            if kind != RTM_NEWLINK:
                continue
            _fam, _type, index, flags, _change = _IFINFOMSG.unpack_from(body)
            name, master = "", 0
            for akind, payload in _parse_attrs(body[_IFINFOMSG.size :]):
                if akind == IFLA_IFNAME:
                    name = payload.rstrip(b"\0").decode()
                elif akind == IFLA_MASTER:
                    (master,) = struct.unpack_from("=I", payload)
            out.append(LinkInfo(index, name, flags, master))
        return out

    def link(self, name: str) -> LinkInfo | None:
        """The link called ``name``, or ``None``."""
        seq = self._send(RTM_GETLINK, 0, _ifinfo() + _str(IFLA_IFNAME, name))
        try:
            for kind, body in self._messages(seq):
                if kind == RTM_NEWLINK:
                    _fam, _type, index, flags, _change = _IFINFOMSG.unpack_from(body)
                    master = 0
                    for akind, payload in _parse_attrs(body[_IFINFOMSG.size :]):
                        if akind == IFLA_MASTER:
                            (master,) = struct.unpack_from("=I", payload)
                    return LinkInfo(index, name, flags, master)
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return None

    def create_bridge(self, name: str, mtu: int | None = None, mac: str | None = None) -> None:
        attrs = [_str(IFLA_IFNAME, name), _nested(IFLA_LINKINFO, _str(IFLA_INFO_KIND, "bridge"))]
        if mtu:
            attrs.append(_u32(IFLA_MTU, mtu))
        if mac:
            attrs.append(_attr(IFLA_ADDRESS, _mac(mac)))
        self.request(
            RTM_NEWLINK,
            _ifinfo(flags=IFF_UP, change=IFF_UP) + b"".join(attrs),
            NLM_F_CREATE | NLM_F_EXCL,
            f"create bridge {name}",
        )

    def create_veth(
        self,
        name: str,
        peer: str,
        *,
        peer_netns_fd: int | None = None,
        master: int = 0,
        peer_mac: str | None = None,
        mtu: int | None = None,
    ) -> None:
        """A veth pair ``name`` (here, up, enslaved to ``master``) / ``peer`` (in the namespace, still down)."""
        peer_attrs = [_str(IFLA_IFNAME, peer)]
        if peer_netns_fd is not None:
            peer_attrs.append(_u32(IFLA_NET_NS_FD, peer_netns_fd))
        if peer_mac:
            peer_attrs.append(_attr(IFLA_ADDRESS, _mac(peer_mac)))
        if mtu:
            peer_attrs.append(_u32(IFLA_MTU, mtu))
        peer_body = _ifinfo() + b"".join(peer_attrs)
        info = _nested(
            IFLA_LINKINFO,
            _str(IFLA_INFO_KIND, "veth"),
            _nested(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_body)),
        )
        attrs = [_str(IFLA_IFNAME, name), info]
        if master:
            attrs.append(_u32(IFLA_MASTER, master))
        if mtu:
            attrs.append(_u32(IFLA_MTU, mtu))
        self.request(
            RTM_NEWLINK,
            _ifinfo(flags=IFF_UP, change=IFF_UP) + b"".join(attrs),
            NLM_F_CREATE | NLM_F_EXCL,
            f"create veth {name}",
        )

    def delete_link(self, name: str) -> bool:
        """Delete the link called ``name``; ``False`` when there is none."""
        try:
            self.request(RTM_DELLINK, _ifinfo() + _str(IFLA_IFNAME, name), 0, f"delete link {name}")
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return False
            raise
        return True

    def set_up(self, index: int, up: bool = True) -> None:
        self.request(RTM_NEWLINK, _ifinfo(index, IFF_UP if up else 0, IFF_UP), 0, f"set link {index} up")

    # -- addresses and routes ------------------------------------------------------------------------------

    def add_address(self, index: int, cidr: str) -> None:
        iface = ipaddress.IPv4Interface(cidr)
        packed = iface.ip.packed
        body = _IFADDRMSG.pack(socket.AF_INET, iface.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        attrs = _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed)
        if iface.network.prefixlen < 31:
            attrs += _attr(IFA_BROADCAST, iface.network.broadcast_address.packed)
        try:
            self.request(RTM_NEWADDR, body + attrs, NLM_F_CREATE | NLM_F_EXCL, f"add address {cidr}")
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise

    def add_default_route(self, gateway: str, index: int) -> None:
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        attrs = _attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed) + _u32(RTA_OIF, index)
        self.request(RTM_NEWROUTE, body + attrs, NLM_F_CREATE | NLM_F_REPLACE, f"add default route via {gateway}")
