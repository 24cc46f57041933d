"""Containers for real: the dockyard CLI over a throw-away state root, with busybox bootstrapped into it.

Every root gets its own default-bridge subnet (a random free /24 of 10.80.0.0/13) and therefore its own bridge
and nft table, so tests of several engineers run side by side. Whatever a test leaves behind is removed
afterwards, even when it failed: monitors and exit hooks of the root, runc containers, cgroups, network
objects (bridges, veths, namespaces, nft table, DNS server) and mounts.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.roots import kill_root_processes, root_processes

pytestmark = pytest.mark.integration

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _free_subnet() -> ipaddress.IPv4Network:
    from dockyard.network.ipam import host_routes

    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.80.0.0/13").subnets(new_prefix=22))
    random.shuffle(blocks)
    for block in blocks:
        if not any(block.overlaps(u) for u in used):
            return block
    raise RuntimeError("no free test subnet")


def cleanup_root(root: Path) -> None:
    kill_root_processes(root)
    runc_root = root / "run" / "runc"
    ids: list[str] = []
    if runc_root.is_dir():
        ids = [p.name for p in runc_root.iterdir()]
        for cid in ids:
            subprocess.run(["runc", f"--root={runc_root}", "delete", "--force", cid], capture_output=True, check=False)
    containers = root / "containers"
    if containers.is_dir():
        ids += [p.name for p in containers.iterdir()]
    for cid in set(ids):
        for controller in CGROUP_ROOT.iterdir():
            path = controller / "dockyard" / cid
            if path.is_dir():
                with contextlib.suppress(OSError):
                    path.rmdir()
    try:
        from dockyard.network.manager import NetworkManager
        from dockyard.settings import load_settings

        manager = NetworkManager(load_settings(root))
        try:
            manager.destroy_all()
        finally:
            manager.close()
    except Exception as exc:  # report, but go on cleaning
        warnings.warn(f"network cleanup of {root} failed: {exc}", stacklevel=2)


@pytest.fixture
def croot(state_root: Path) -> Iterator[Path]:
    """The test's state root, configured with its own subnets; cleaned up afterwards."""
    block = _free_subnet()
    subnets = list(block.subnets(new_prefix=24))
    config = {
        "bip": f"{subnets[0].network_address + 1}/24",
        "default-address-pools": [{"base": str(s), "size": 24} for s in subnets[1:]],
    }
    (state_root / "config.json").write_text(json.dumps(config))
    try:
        yield state_root
    finally:
        cleanup_root(state_root)


@pytest.fixture
def dy(croot: Path, cli: Cli, busybox: str) -> Cli:
    """The CLI on a configured root with busybox in it."""
    return cli


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s")
        time.sleep(interval)


def leftovers(root: Path, ids: list[str] | tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What a root may leak: mounts, runc containers, monitors, namespaces, cgroups (of ``ids`` and of the
    containers the root still has)."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[1].startswith(str(root))]
    runc_root = root / "run" / "runc"
    runc = [p.name for p in runc_root.iterdir()] if runc_root.is_dir() else []
    netns_dir = root / "run" / "netns"
    netns = [p.name for p in netns_dir.iterdir()] if netns_dir.is_dir() else []
    monitors = [str(p) for p in root_processes(root) if b"conmon" in Path(f"/proc/{p}/cmdline").read_bytes()]
    ids = [*ids, *([p.name for p in (root / "containers").iterdir()] if (root / "containers").is_dir() else [])]
    cgroups = [str(c / "dockyard" / i) for c in CGROUP_ROOT.iterdir() for i in ids if (c / "dockyard" / i).exists()]
    return {"mounts": mounts, "runc": runc, "netns": netns, "monitors": monitors, "cgroups": cgroups}


def no_leftovers(root: Path, ids: list[str] | tuple[str, ...] = ()) -> None:
    found = leftovers(root, ids)
    assert not any(found.values()), found
