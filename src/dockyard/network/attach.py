"""Attaching a container's namespace to networks: addresses, veths, published ports, DNS names, in that order.

Intent first: endpoint and port rows are written (state ``creating``) before any kernel object exists; if
anything fails the partial work is torn down before the error propagates, and if the process is killed the next
lock holder's reconcile finds the ``creating`` rows and removes what they describe.
"""

from __future__ import annotations

import contextlib
import logging
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import Conflict, InvalidArgument, Unavailable
from dockyard.network import ipam
from dockyard.network.firewall import PortRule
from dockyard.network.options import NetworkOptions
from dockyard.network.ports import host_port_free
from dockyard.network.resolv import DnsOptions, ExtraHost
from dockyard.network.state import NetworkState
from dockyard.network.types import (
    Attachment,
    AttachRequest,
    Driver,
    Endpoint,
    Network,
    NetworkModeKind,
    PortMapping,
    PortSpec,
)

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager

__all__ = ["PendingSetup", "allocate_ports", "attach", "begin_setup", "prepare_attach", "setup"]

log = logging.getLogger(__name__)


def _taken_message(host_ip: str, port: int | str) -> str:
    return f"Bind for {host_ip}:{port} failed: port is already allocated"


def _ephemeral(host_ip: str, kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host_ip, 0))
        return int(sock.getsockname()[1])


def allocate_ports(state: NetworkState, specs: Sequence[PortSpec]) -> list[PortMapping]:
    """Choose host ports for ``specs``: fixed ones must be free (in dockyard and on the host), dynamic ones are."""
    chosen: list[PortMapping] = []
    mine: set[tuple[str, str, int]] = set()

    def owned(proto: str, host_ip: str, port: int) -> bool:
        for p, ip, n in mine:
            if p == proto and n == port and (ip == host_ip or "0.0.0.0" in (ip, host_ip)):
                return True
        return state.port_owner(proto, host_ip, port) is not None

    for spec in specs:
        host_ip = spec.host_ip or "0.0.0.0"
        if ":" in host_ip:
            raise InvalidArgument(f"publish {spec.key} on {host_ip}: IPv6 host addresses are not supported")
        proto = str(spec.protocol)
        port = 0
        if not spec.dynamic:
            port = spec.host_port_start
            if owned(proto, host_ip, port):
                raise Conflict(_taken_message(host_ip, port))
            if not host_port_free(host_ip, port, spec.protocol):
                raise Conflict(
                    f"Bind for {host_ip}:{port} failed: address already in use by another process on the host"
                )
        elif spec.host_port_start:
            for candidate in range(spec.host_port_start, spec.host_port_end + 1):
                if not owned(proto, host_ip, candidate) and host_port_free(host_ip, candidate, spec.protocol):
                    port = candidate
                    break
            else:
                raise Conflict(_taken_message(host_ip, f"{spec.host_port_start}-{spec.host_port_end}"))
        else:
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            for _ in range(64):
                candidate = _ephemeral(host_ip, kind)
                if not owned(proto, host_ip, candidate):
                    port = candidate
                    break
            else:
                raise Unavailable(f"Bind for {host_ip}:0 failed: no free host port")
        mine.add((proto, host_ip, port))
        chosen.append(PortMapping(spec.container_port, spec.protocol, host_ip, port))
    return chosen


def _check_requests(
    m: NetworkManager, container_id: str, name: str, requests: Sequence[AttachRequest]
) -> list[Network]:
    nets: list[Network] = []
    existing = {e.network_id for e in m.state.endpoints(container_id=container_id)}
    for req in requests:
        net = m.get(req.network)
        if net.driver is not Driver.BRIDGE:
            raise InvalidArgument(f"network {net.name}: container cannot be attached to a {net.driver} network")
        if net.default and req.aliases:
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        if net.default and req.ip:
            raise InvalidArgument("user specified IP address is supported on user defined networks only")
        if net.id in existing or any(n.id == net.id for n in nets):
            raise Conflict(f"endpoint with name {name or container_id[:12]} already exists in network {net.name}")
        nets.append(net)
    return nets


def _plan_endpoints(
    m: NetworkManager, container_id: str, name: str, requests: Sequence[AttachRequest], nets: Sequence[Network]
) -> list[Endpoint]:
    interfaces = set(m.state.interfaces(container_id))
    eps: list[Endpoint] = []
    for req, net in zip(requests, nets, strict=True):
        n = 0
        while f"eth{n}" in interfaces:
            n += 1
        interfaces.add(f"eth{n}")
        cfg = net.ipam[0]
        ip = ipam.allocate_address(cfg, m.state.used_addresses(net.id), req.ip)
        ep_id = os.urandom(32).hex()
        names = (name, *req.aliases, container_id[:12]) if name else req.aliases
        eps.append(
            Endpoint(
                id=ep_id,
                network_id=net.id,
                network_name=net.name,
                container_id=container_id,
                interface=f"eth{n}",
                host_interface=f"veth{ep_id[:11]}",
                ip=ip,
                prefix_len=cfg.prefix_len,
                gateway=cfg.gateway,
                mac=req.mac or ipam.mac_for(ip),
                aliases=tuple(req.aliases),
                dns_names=tuple(dict.fromkeys(x for x in names if x)) if net.dns_enabled else (),
            )
        )
    return eps


def attach(
    m: NetworkManager,
    container_id: str,
    namespace: Path,
    requests: Sequence[AttachRequest],
    name: str,
    ports: Sequence[PortSpec],
    hostname: str,
    domainname: str,
    dns: DnsOptions,
    extra_hosts: Sequence[ExtraHost],
) -> Attachment:
    with m.locked():
        return prepare_attach(m, container_id, namespace, requests, name, ports, hostname, domainname, dns,
                              extra_hosts)()  # fmt: skip


def prepare_attach(
    m: NetworkManager,
    container_id: str,
    namespace: Path,
    requests: Sequence[AttachRequest],
    name: str,
    ports: Sequence[PortSpec],
    hostname: str,
    domainname: str,
    dns: DnsOptions,
    extra_hosts: Sequence[ExtraHost],
) -> Callable[[], Attachment]:
    """:func:`attach` in two steps, under the network lock the caller holds throughout: the checks and the plan
    now (every error a user can cause — unknown network, taken port, bad address — is raised here, with the
    endpoints and ports recorded as ``creating``), the kernel work when the returned function is called."""
    from dockyard.network.objects import ensure_bridge_for

    nets = _check_requests(m, container_id, name, requests)
    first_attach = not m.state.endpoints(container_id=container_id)
    eps = _plan_endpoints(m, container_id, name, requests, nets)
    mappings = allocate_ports(m.state, ports) if eps and ports else []
    with m.db.transaction() as conn:
        for ep in eps:
            m.state.insert_endpoint(conn, ep, name)
        for pm in mappings:
            conn.execute(
                "INSERT INTO ports (protocol, host_ip, host_port, container_id, endpoint_id, container_port)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (str(pm.protocol), pm.host_ip, pm.host_port, container_id, eps[0].id, pm.container_port),
            )

    def apply() -> Attachment:
        if not eps:
            m.driver.loopback_up(namespace)
        try:
            lines: list[str] = []
            if eps and m.firewall.ensure(*m._firewall_state()):
                log.info("created nftables table inet %s", m.table)
            for net in nets:
                lines += ensure_bridge_for(m, net)
            for k, (ep, net) in enumerate(zip(eps, nets, strict=True)):
                mtu = int(net.options.get("com.docker.network.driver.mtu", "0") or 0) or None
                route = first_attach and k == 0 and not net.internal
                m.driver.create_endpoint(ep, net.bridge, namespace, default_route=route, mtu=mtu)
            if mappings:
                keys = [(pm.protocol, pm.host_port) for pm in mappings]
                rules = [
                    PortRule(p.protocol, p.host_ip, p.host_port, p.container_ip, p.container_port)
                    for p in m.state.ports(keys=[(str(p), n) for p, n in keys])
                ]
                lines += m.firewall.port_lines(keys, rules)
            if eps:
                lines += m._docker_user_lines(nets)
            m.firewall.apply_or_resync(lines, m._firewall_state)
            ids = [e.id for e in eps]
            with m.db.transaction() as conn:
                if ids:
                    marks = ",".join("?" * len(ids))
                    conn.execute(f"UPDATE endpoints SET state = 'active' WHERE id IN ({marks})", ids)
                conn.execute("UPDATE sandboxes SET state = 'active' WHERE container_id = ?", (container_id,))
            m.update_dns({n.id for n in nets if n.dns_enabled})
        except BaseException:
            log.debug("attach %s failed; undoing", container_id[:12], exc_info=True)
            with contextlib.suppress(Exception):
                m._teardown(eps, delete_links=True)
            raise
        resolv, hosts = m.files(
            container_id, hostname=hostname, domainname=domainname, dns=dns, extra_hosts=extra_hosts
        )
        published = tuple(
            PortMapping(pm.container_port, pm.protocol, pm.host_ip, pm.host_port, eps[0].ip) for pm in mappings
        )
        return Attachment(
            container_id=container_id,
            endpoints=tuple(m.state.endpoints(container_id=container_id)),
            ports=published,
            resolv_conf=resolv,
            hosts=hosts,
            netns=str(namespace),
        )

    return apply


class PendingSetup:
    """A container's network set up in two steps, so the second can run while runc creates the container.

    :func:`begin_setup` makes the namespace (its path is all the OCI spec needs), checks and plans the endpoints
    and ports (so a user's mistake is reported before anything else starts) and keeps the network lock;
    :meth:`finish` does the kernel work — veths, addresses, routes, firewall rules, DNS names — releases the lock
    and returns the :class:`Attachment`. The lock is held throughout, as one ``setup`` holds it: no reconcile can
    see the namespace half-made. Modes without endpoints (host, none, ``container:``) are done in the first step.
    :meth:`abort` (idempotent) undoes an unfinished setup; after a failed :meth:`finish` nothing is left.
    """

    def __init__(self, netns: str, attachment: Attachment | None = None,
                 rest: Callable[[], Attachment] | None = None, lock: contextlib.ExitStack | None = None,
                 undo: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.netns = netns
        self.attachment = attachment
        self._rest = rest
        self._lock = lock
        self._undo = undo

    def finish(self) -> Attachment:
        if self.attachment is None:
            assert self._rest is not None, "finish after abort"
            rest, self._rest = self._rest, None
            try:
                self.attachment = rest()
            except BaseException:
                self._close(undo=True)
                raise
            self._close(undo=False)
        return self.attachment

    def abort(self) -> None:
        if self.attachment is None and self._rest is not None:
            self._rest = None
            self._close(undo=True)

    def _close(self, *, undo: bool) -> None:
        try:
            if undo and self._undo is not None:
                with contextlib.suppress(Exception):
                    self._undo()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None


def begin_setup(m: NetworkManager, container_id: str, name: str, opts: NetworkOptions) -> PendingSetup:
    """The first step of :func:`setup` (see :class:`PendingSetup`)."""
    if opts.mode.kind in (NetworkModeKind.HOST, NetworkModeKind.CONTAINER):
        attachment = setup(m, container_id, name, opts)
        return PendingSetup(attachment.netns, attachment)
    lock = contextlib.ExitStack()
    lock.enter_context(m.locked())  # one holder from namespace to endpoints: reconcile must not see this half-made
    try:
        namespace = m.create_namespace(container_id, pending=True)
        rest = prepare_attach(m, container_id, namespace, opts.requests(), name, opts.ports, opts.hostname,
                              opts.domainname, opts.dns, opts.extra_hosts)  # fmt: skip
    except BaseException:
        with contextlib.suppress(Exception):
            m.release(container_id)
        lock.close()
        raise
    return PendingSetup(str(namespace), rest=rest, lock=lock, undo=lambda: m.release(container_id))


def setup(m: NetworkManager, container_id: str, name: str, opts: NetworkOptions) -> Attachment:
    """Everything the container needs for its network mode (see :meth:`NetworkManager.setup`)."""
    kind = opts.mode.kind
    if kind is NetworkModeKind.HOST:
        resolv, hosts = m.files(
            container_id,
            hostname=opts.hostname,
            domainname=opts.domainname,
            dns=opts.dns,
            extra_hosts=opts.extra_hosts,
            host_network=True,
        )
        return Attachment(container_id, (), (), resolv, hosts, "")
    if kind is NetworkModeKind.CONTAINER:
        target = opts.mode.name
        path = m.state.sandbox(target)
        if path is None:
            raise InvalidArgument(f"cannot join network of a non running container: {target}")
        resolv, hosts = m.files(target, hostname=opts.hostname or target[:12])
        eps = tuple(m.state.endpoints(container_id=target))
        return Attachment(container_id, eps, tuple(m.state.ports(container_id=target)), resolv, hosts, path)
    with m.locked():  # one holder from namespace to endpoints: reconcile must not see this half-made
        namespace = m.create_namespace(container_id, pending=True)
        try:
            return attach(
                m,
                container_id,
                namespace,
                opts.requests(),
                name,
                opts.ports,
                opts.hostname,
                opts.domainname,
                opts.dns,
                opts.extra_hosts,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                m.release(container_id)
            raise
