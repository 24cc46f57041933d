"""Clean teardown (links, nft rules, DNS entries, rows counted before and after) and recovery after a process
killed in the middle of setting a container up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.errors import Unavailable
from dockyard.network import NetworkCreate, NetworkOptions
from dockyard.network.manager import NetworkManager
from tests.integration.network.conftest import free_port, links, nft_rules, wait_links_gone

pytestmark = pytest.mark.integration


def _rows(m: NetworkManager) -> dict[str, int]:
    return {t: m.db.query_one(f"SELECT count(*) FROM {t}")[0] for t in ("endpoints", "ports", "sandboxes")}  # type: ignore[index]


def test_release_and_network_rm_leave_what_was_there(manager: NetworkManager) -> None:
    bridge = manager.default_network().bridge
    warm = manager.setup(os.urandom(32).hex(), "warm", NetworkOptions.from_cli())  # bridge + table exist from here on
    links0, rules0, rows0 = links(), nft_rules(manager.table), _rows(manager)
    ours0 = {bridge} | {e.host_interface for e in warm.endpoints}
    assert ours0 <= links0
    net = manager.create_network(NetworkCreate("n1"))
    ids = [os.urandom(32).hex() for _ in range(3)]
    atts = [
        manager.setup(ids[0], "a", NetworkOptions.from_cli(publish=[f"{free_port()}:80", f"{free_port()}:53/udp"])),
        manager.setup(ids[1], "b", NetworkOptions.from_cli(network="n1", aliases=["bee"], publish=["8080"])),
        manager.setup(ids[2], "c", NetworkOptions.from_cli(network="n1")),
    ]
    # Only this root's objects are counted: other tests on the host create and remove links meanwhile.
    made = {e.host_interface for a in atts for e in a.endpoints} | {net.bridge}
    assert made <= links() and not made & links0
    assert set(manager.driver.orphans({manager.default_network().bridge, net.bridge}, set())) >= made - {net.bridge}
    assert len(nft_rules(manager.table)) > len(rules0)
    assert "bee" in (manager.dns.config_dir / "n1").read_text()
    for cid in ids:
        manager.release(cid)
        manager.release(cid)  # idempotent
    manager.delete_network("n1")
    assert wait_links_gone(made) == set()
    # Links of other roots (a container of an earlier test ending late) may come and go; this root's stay.
    assert ours0 <= links()
    assert nft_rules(manager.table) == rules0
    assert _rows(manager) == rows0
    assert not (manager.dns.config_dir / "n1").exists() and manager.dns.pid() is None
    assert all(not manager.namespace_path(c).exists() for c in ids)


KILLED = """
import os, sys
from dockyard.settings import load_settings
from dockyard.network import NetworkOptions
from dockyard.network.firewall import Firewall
from dockyard.network.manager import NetworkManager

def die(self, lines):
    if any("hostports" in line for line in lines):
        os._exit(9)  # killed after the veth exists, before the port rules and the DNS entry
    return real(self, lines)

real = Firewall.apply
Firewall.apply = die
m = NetworkManager(load_settings(sys.argv[1]))
m.setup(sys.argv[2], "victim", NetworkOptions.from_cli(network=sys.argv[3], publish=[sys.argv[4] + ":80"]))
"""


def test_killed_setup_is_cleaned_up_by_the_next_operation(manager: NetworkManager, net_root: Path) -> None:
    manager.create_network(NetworkCreate("n1"))
    manager.setup(os.urandom(32).hex(), "warm", NetworkOptions.from_cli(network="n1"))
    rules0, rows0 = nft_rules(manager.table), _rows(manager)
    cid, port = os.urandom(32).hex(), free_port()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED), str(net_root), cid, "n1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
    leftovers = {r[0] for r in manager.db.query("SELECT host_interface FROM endpoints WHERE state != 'active'")}
    assert len(leftovers) == 1 and leftovers <= links()  # the victim's veth, recorded before it was made
    assert manager.namespace_path(cid).exists()
    assert _rows(manager) != rows0
    with manager.locked():  # what every next network operation does first
        pass
    assert wait_links_gone(leftovers) == set()
    assert _rows(manager) == rows0
    assert nft_rules(manager.table) == rules0
    assert not manager.namespace_path(cid).exists()
    # the port is free again
    again = manager.setup(os.urandom(32).hex(), "again", NetworkOptions.from_cli(publish=[f"{port}:80"]))
    assert again.ports[0].host_port == port


def test_remaining_names_what_destroy_all_removes(manager: NetworkManager) -> None:
    att = manager.setup(os.urandom(32).hex(), "a", NetworkOptions.from_cli(publish=[f"{free_port()}:80"]))
    net = manager.create_network(NetworkCreate("n1"))
    veth = att.endpoints[0].host_interface
    assert manager.default_bridge == f"dy0-{manager.tag}" and manager.table == f"dockyard_{manager.tag}"
    assert set(manager.remaining()) == {
        f"link {manager.default_bridge}",
        f"link {net.bridge}",
        f"link {veth}",
        f"nft table inet {manager.table}",
    }
    manager.destroy_all()
    assert manager.remaining() == []
    assert wait_links_gone({manager.default_bridge, net.bridge, veth}) == set()


def test_destroy_all_goes_on_past_a_step_that_fails(manager: NetworkManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container that cannot be detached must not keep the root's bridges and nft table on the host."""
    ids = [os.urandom(32).hex() for _ in range(2)]
    manager.create_network(NetworkCreate("n1"))
    manager.setup(ids[0], "a", NetworkOptions.from_cli(publish=[f"{free_port()}:80"]))
    manager.setup(ids[1], "b", NetworkOptions.from_cli(network="n1"))

    def refuse(container_id: str, network: str | None = None) -> list[object]:
        raise OSError(f"cannot detach {container_id[:12]}")

    monkeypatch.setattr(manager, "detach", refuse)
    with pytest.raises(Unavailable, match=r"network destroy: detach .*cannot detach") as failed:
        manager.destroy_all()
    assert str(failed.value).count("cannot detach") == 2  # both were tried
    bridges = {n.bridge for n in manager.state.networks(include_inactive=True)}
    assert wait_links_gone(bridges) == set()
    assert not manager.firewall.table_exists()
    assert all(not manager.namespace_path(c).exists() for c in ids)
    # the veths went with their namespaces
    left = {r[0] for r in manager.db.query("SELECT host_interface FROM endpoints")}
    assert len(left) == 2 and wait_links_gone(left) == set()
    assert manager.remaining() == []


def test_destroy_all_removes_the_default_bridge_without_its_row(manager: NetworkManager) -> None:
    """``dy0-<tag>`` is this root's by its name: gone even when the database no longer records it."""
    cid = os.urandom(32).hex()
    manager.setup(cid, "a", NetworkOptions.from_cli())
    manager.release(cid)
    with manager.db.transaction() as conn:
        conn.execute("DELETE FROM networks WHERE name = 'bridge'")
    assert manager.default_bridge in links()
    manager.destroy_all()
    assert wait_links_gone({manager.default_bridge}) == set()
    assert manager.remaining() == []
