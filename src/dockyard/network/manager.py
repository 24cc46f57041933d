"""NetworkManager: networks, and what the container service calls around ``runc create``.

::

    nm = NetworkManager(settings)
    path = nm.create_namespace(cid)                       # <root>/run/netns/<cid>, for the OCI spec
    att = nm.attach(cid, path, [AttachRequest("bridge")], name="web", ports=parse_port_specs(["4000:80"]),
                    hostname="c0ffee", dns=DnsOptions(), extra_hosts=())
    # write att.resolv_conf / att.hosts into the container; att.endpoints / att.ports for inspect and ps
    nm.release(cid)                                       # on stop/rm: ports, DNS names, addresses, netns gone

Every mutating call holds the root's network lock (a ``flock`` plus a thread lock) and first reconciles what a
killed process left behind. Kernel objects are recorded in the database (state ``creating``) before they are
made, so reconciling knows what to remove.

This module is the facade, its lock and its reconcile; the work is in modules one noun each: ``catalog``
(networks: the default bridge, create, delete), ``objects`` (a network's bridge, nft elements and DOCKER-USER
rules), ``sandboxes`` (container namespaces), ``attach`` (endpoints and ports), ``names`` (DNS entries,
resolv.conf and hosts), ``cleanup`` (sweep, destroy_all).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import NotFound
from dockyard.network import catalog, netns, objects, sandboxes
from dockyard.network.catalog import PREDEFINED
from dockyard.network.options import NetworkOptions
from dockyard.network.resolv import (
    DnsOptions,
    ExtraHost,
)
from dockyard.network.state import NetworkState
from dockyard.network.types import (
    Attachment,
    AttachRequest,
    Endpoint,
    Network,
    NetworkCreate,
    PortMapping,
    PortSpec,
    Protocol,
)
from dockyard.settings import DEFAULT_ROOT, Settings
from dockyard.store.db import Database, open_database

if TYPE_CHECKING:
    from dockyard.network import PendingSetup
    from dockyard.network.bridge import BridgeDriver
    from dockyard.network.dns import Aardvark
    from dockyard.network.firewall import BridgeRule, Firewall, PortRule
    from dockyard.network.nft import Nft

__all__ = ["PREDEFINED", "NetworkManager", "root_tag"]

log = logging.getLogger(__name__)


def root_tag(root: Path) -> str:
    """ "" for the default root, else 6 hex digits naming this root's bridge and nft table."""
    if root == DEFAULT_ROOT:
        return ""
    try:  # CPython's own SHA-256: hashlib's import loads OpenSSL (~3 ms), at every start in a root of its own
        from _sha256 import sha256
    except ImportError:  # another Python
        from hashlib import sha256

    return sha256(str(root).encode()).hexdigest()[:6]


class NetworkManager:
    """The networks of one state root.

    Its kernel-facing parts — :attr:`firewall` (nftables), :attr:`dns` (aardvark-dns), :attr:`driver` (bridges and
    veths over netlink) — are made on first use: a container start needs only the namespace before runc creates
    the container, and attaches it (using those parts) while runc runs, so their imports cost nothing then.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        nft: Nft | None = None,
        aardvark: Aardvark | None = None,
    ) -> None:
        self.settings = settings
        self.layout = settings.layout
        if db is None:
            db = open_database(self.layout.db)
            # This connection only writes network state, which does not outlive a reboot anyway (namespaces,
            # veths and rules are gone then too): WAL with synchronous=NORMAL keeps every committed transaction
            # across a killed process and skips the fsync per commit (0.25 ms each, several per container).
            db.connection.execute("PRAGMA synchronous=NORMAL")
        self.db = db
        self.state = NetworkState(self.db)
        self._nft = nft
        self._aardvark = aardvark
        self.netns_dir = self.layout.run / "netns"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None
        self._host_fd: int | None = None  # the host-wide subnet lock, while catalog.host_lock holds it
        self._docker_checked: dict[str, float] = {}  # bridge -> when objects.docker_user_lines last looked

    @cached_property
    def tag(self) -> str:
        return root_tag(self.layout.root)

    @cached_property
    def default_bridge(self) -> str:
        """The bridge of the predefined ``bridge`` network: ``dockyard0`` for the default root, else ``dy0-<tag>``."""
        return str(self.settings.extra.get("bridge") or ("dockyard0" if not self.tag else f"dy0-{self.tag}"))

    @cached_property
    def table(self) -> str:
        extra = self.settings.extra
        return str(extra.get("nft-table") or ("dockyard" if not self.tag else f"dockyard_{self.tag}"))

    @cached_property
    def firewall(self) -> Firewall:
        from dockyard.network.firewall import Firewall
        from dockyard.network.nft import open_nft

        return Firewall(self.table, self._nft or open_nft())

    @cached_property
    def dns(self) -> Aardvark:
        from dockyard.network.dns import Aardvark

        return self._aardvark or Aardvark(self.layout.run / "aardvark-dns")

    @cached_property
    def driver(self) -> BridgeDriver:
        from dockyard.network.bridge import BridgeDriver

        return BridgeDriver()

    def close(self) -> None:
        if "driver" in self.__dict__:  # made on first use: nothing to close otherwise
            self.driver.close()

    # -- locking and recovery ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the root's network lock (re-entrant); reconcile on first entry."""
        with self._thread_lock:
            if self._depth == 0:
                self.layout.locks.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.layout.locks / "network.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_fd = fd
            self._depth += 1
            try:
                if self._depth == 1:
                    self.reconcile()
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    os.close(self._lock_fd)  # releases the flock
                    self._lock_fd = None

    def reconcile(self) -> None:
        """Remove what killed processes left half-made (rows not ``active``). Cheap when there is nothing."""
        for cid, path in self.state.sandboxes_not_active():
            log.info("reconcile: removing namespace %s of %s", path, cid[:12])
            netns.remove(Path(path))
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM sandboxes WHERE container_id = ?", (cid,))
        stale = self.state.endpoints_not_active()
        if stale:
            log.info("reconcile: removing %d half-made endpoints", len(stale))
            self._teardown(stale, delete_links=True)
        for net in self.state.network_rows_not_active():
            log.info("reconcile: removing half-made network %s", net.name)
            objects.remove_network_objects(self, net)
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM networks WHERE id = ?", (net.id,))

    def sweep(self) -> list[str]:
        """Deep clean: links on our bridges and namespace files no row accounts for. Returns what it removed."""
        from dockyard.network.cleanup import sweep

        return sweep(self)

    # -- networks ------------------------------------------------------------------------------------------

    def default_network(self) -> Network:
        """The ``bridge`` network, created in the database (not yet in the kernel) on first use."""
        return catalog.default_network(self)

    def get(self, name_or_id: str) -> Network:
        if name_or_id == "bridge":
            return self.default_network()
        net = self.state.network(name_or_id)
        if net is None:
            raise NotFound(f"network {name_or_id} not found")
        return net

    def networks(self) -> list[Network]:
        self.default_network()
        return self.state.networks()

    def create_network(self, req: NetworkCreate) -> Network:
        return catalog.create_network(self, req)

    def delete_network(self, name_or_id: str) -> Network:
        return catalog.delete_network(self, name_or_id)

    def _firewall_state(self) -> tuple[list[BridgeRule], list[PortRule]]:
        """What the whole nft table is built from (``attach`` passes this to resync a refused change)."""
        return objects.firewall_state(self)

    def _docker_user_lines(self, nets: Sequence[Network]) -> list[str]:
        """DOCKER-USER accept rules ``nets`` lack, checked at most every ``TRUST_SECONDS`` (see ``objects``)."""
        return objects.docker_user_lines(self, nets)

    # -- namespaces ----------------------------------------------------------------------------------------

    def namespace_path(self, container_id: str) -> Path:
        return self.netns_dir / container_id

    def create_namespace(self, container_id: str, *, pending: bool = False) -> Path:
        """A new network namespace for the container, pinned at ``<root>/run/netns/<container_id>``.

        Recorded before it is made; with ``pending`` it stays ``creating`` until :meth:`attach` completes, so a
        process killed in between leaves a row the next reconcile removes together with the namespace."""
        return sandboxes.create_namespace(self, container_id, pending=pending)

    def delete_namespace(self, container_id: str) -> None:
        sandboxes.delete_namespace(self, container_id)

    # -- endpoints -----------------------------------------------------------------------------------------

    def attach(
        self,
        container_id: str,
        namespace: Path,
        requests: Sequence[AttachRequest],
        *,
        name: str = "",
        ports: Sequence[PortSpec] = (),
        hostname: str = "",
        domainname: str = "",
        dns: DnsOptions = DnsOptions(),
        extra_hosts: Sequence[ExtraHost] = (),
    ) -> Attachment:
        """Connect the container's namespace to ``requests`` networks and publish ``ports`` on the first one."""
        from dockyard.network.attach import attach

        return attach(self, container_id, namespace, requests, name, ports, hostname, domainname, dns, extra_hosts)

    def begin_setup(self, container_id: str, name: str, options: NetworkOptions) -> PendingSetup:
        """:meth:`setup` in two steps: the namespace now, the rest at ``finish()`` (see ``attach.PendingSetup``),
        so the caller can have runc create the container in between."""
        from dockyard.network.attach import begin_setup

        return begin_setup(self, container_id, name, options)

    def setup(self, container_id: str, name: str, options: NetworkOptions) -> Attachment:
        """The network of a new container, by mode: bridge/user networks get a namespace, endpoints and ports;
        ``none`` a namespace with ``lo`` up; ``host`` nothing but the files; ``container:<id>`` (``id`` resolved
        by the caller) the other container's namespace path. Undone entirely on failure."""
        from dockyard.network.attach import setup

        return setup(self, container_id, name, options)

    def files(
        self,
        container_id: str,
        *,
        hostname: str = "",
        domainname: str = "",
        dns: DnsOptions = DnsOptions(),
        extra_hosts: Sequence[ExtraHost] = (),
        host_network: bool = False,
    ) -> tuple[str, str]:
        """``(resolv.conf, hosts)`` for the container's current endpoints (or host/none mode)."""
        from dockyard.network.names import container_files

        return container_files(self, container_id, hostname, domainname, dns, extra_hosts, host_network)

    def endpoints(self, container_id: str) -> list[Endpoint]:
        return self.state.endpoints(container_id=container_id)

    def ports(self, container_id: str) -> list[PortMapping]:
        return self.state.ports(container_id=container_id)

    def detach(self, container_id: str, network: str | None = None) -> list[Endpoint]:
        """Remove the container's endpoints (on ``network`` only, if given): veths, ports, DNS names, addresses."""
        with self.locked():
            eps = self.state.endpoints(container_id=container_id)
            if network is not None:
                net = self.get(network)
                eps = [e for e in eps if e.network_id == net.id]
            self._teardown(eps, delete_links=True)
            return eps

    def release(self, container_id: str) -> None:
        """Everything of the container gone: endpoints, ports, DNS names, and its namespace. Idempotent.

        The veth pairs are not deleted one by one (about 20 ms each in the kernel): removing the namespace
        destroys them, asynchronously.
        """
        with self.locked():
            pinned = self.state.sandbox(container_id) is not None
            eps = self.state.endpoints(container_id=container_id)
            self._teardown(eps, delete_links=not pinned)
            self.delete_namespace(container_id)

    def _teardown(self, eps: Sequence[Endpoint], *, delete_links: bool) -> None:
        if not eps:
            return
        ids = [e.id for e in eps]
        marks = ",".join("?" * len(ids))
        with self.db.transaction() as conn:
            conn.execute(f"UPDATE endpoints SET state = 'removing' WHERE id IN ({marks})", ids)
        keys = [
            (str(r[0]), int(r[1]))
            for r in self.db.query(f"SELECT protocol, host_port FROM ports WHERE endpoint_id IN ({marks})", ids)
        ]
        if delete_links:
            for e in eps:
                self.driver.delete_endpoint(e.host_interface)
        with self.db.transaction() as conn:
            conn.execute(f"DELETE FROM ports WHERE endpoint_id IN ({marks})", ids)
        if keys:
            from dockyard.network.firewall import PortRule

            remaining = [
                PortRule(p.protocol, p.host_ip, p.host_port, p.container_ip, p.container_port)
                for p in self.state.ports(keys=keys)
            ]
            from dockyard.network.nft import NftError

            try:
                self.firewall.apply(self.firewall.port_lines([(Protocol(p), n) for p, n in keys], remaining))
            except NftError:
                if self.firewall.table_exists():
                    raise  # the table is there and refused the change: a real error
                # no table, no rules to remove
        with self.db.transaction() as conn:
            conn.execute(f"DELETE FROM endpoints WHERE id IN ({marks})", ids)
        self.update_dns({e.network_id for e in eps})

    def update_dns(self, network_ids: set[str]) -> None:
        """Rewrite the DNS server's entries of ``network_ids`` from the database and make it reload."""
        from dockyard.network.names import update_dns

        update_dns(self, network_ids)

    # -- whole-root teardown (tests, uninstall) ------------------------------------------------------------

    def destroy_all(self) -> None:
        """Remove every kernel object of this root: namespaces, veths, bridges, nft table, DNS server.

        For test fixtures and uninstalling; the database rows of networks stay. A step that fails does not stop
        the others; the failures are raised together at the end."""
        from dockyard.network.cleanup import destroy_all

        destroy_all(self)

    def remaining(self) -> list[str]:
        """This root's links and nft table still on the host (after :meth:`destroy_all`: what it could not remove)."""
        from dockyard.network.cleanup import remaining

        return remaining(self)
