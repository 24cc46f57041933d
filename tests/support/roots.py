"""What a test's state root can leave on the host after its test, and taking it away.

A root other than /var/lib/dockyard names its default bridge and its nft table after itself (``dy0-<tag>``,
``dockyard_<tag>``; ``tag`` is ``dockyard.network.manager.root_tag``, 6 hex digits of the SHA-256 of the root's
path). Neither goes away with the root's directory: once a root is deleted, nothing maps them back to it. So
every test's roots are checked when the test is over (``tests/conftest.py``), and roots of pytest sessions that
were killed before their teardown ran are reclaimed when the next session starts, while they still exist.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from dockyard.pids import pid_alive

__all__ = [
    "destroy_network",
    "host_tags",
    "kill_root_processes",
    "mounts_under",
    "network_leftovers",
    "root_processes",
    "roots_under",
    "stale_session_roots",
]


def roots_under(directory: Path, depth: int = 2) -> list[Path]:
    """State roots (directories holding a ``dockyard.db``) at most ``depth`` levels below ``directory``."""
    found: list[Path] = []
    level = [directory]
    for n in range(depth + 1):
        found += [d for d in level if (d / "dockyard.db").is_file()]
        if n == depth:
            break
        below: list[Path] = []
        for d in level:
            with contextlib.suppress(OSError):
                below += [Path(e.path) for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
        level = below
    return found


def mounts_under(path: Path) -> list[str]:
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    return [p for p in points if p.startswith(prefix) or p == str(path)]


def root_processes(root: Path) -> list[int]:
    """PIDs of conmon monitors and dockyard processes (exit hooks, API services) working for ``root``."""
    found = []
    marker = str(root).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline and (b"conmon" in cmdline.split(b"\0")[0] or b"dockyard" in cmdline):
            found.append(int(entry))
    return found


def kill_root_processes(root: Path, rounds: int = 5) -> list[int]:
    """SIGKILL the root's monitors and hooks until none is left (a hook may start a monitor meanwhile)."""
    killed: list[int] = []
    for _ in range(rounds):
        pids = root_processes(root)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed += pids
        time.sleep(0.1)
    return killed


def _named_leftovers(root: Path) -> list[str]:
    """The default bridge and nft table by their names alone (for a root whose settings cannot be read)."""
    from dockyard.network.manager import root_tag

    tag = root_tag(root)
    found = [f"link dy0-{tag}"] if os.path.exists(f"/sys/class/net/dy0-{tag}") else []
    if tag in _nft_tags():
        found.append(f"nft table inet dockyard_{tag}")
    return found


def network_leftovers(root: Path) -> list[str]:
    """The root's bridges, veths and nft table still on the host, as the engine accounts for them."""
    from dockyard.network.manager import NetworkManager
    from dockyard.settings import load_settings

    try:
        m = NetworkManager(load_settings(root))
    except Exception:
        return _named_leftovers(root)
    try:
        return m.remaining()
    except Exception:
        return _named_leftovers(root)
    finally:
        m.close()


def destroy_network(root: Path) -> list[str]:
    """The engine's ``destroy_all`` for the root; returns what is still there afterwards (and why)."""
    from dockyard.network.manager import NetworkManager
    from dockyard.settings import load_settings

    try:
        m = NetworkManager(load_settings(root))
    except Exception as exc:
        return [f"cannot open the root's network state: {exc}", *_named_leftovers(root)]
    try:
        m.destroy_all()
    except Exception as exc:
        left = network_leftovers(root)
        return [str(exc), *left] if left else []  # failed steps that left nothing behind do not matter here
    finally:
        m.close()
    return network_leftovers(root)


def _nft_tags() -> set[str]:
    from dockyard.network.nft import open_nft

    data = open_nft().query("list tables")
    items = data.get("nftables", []) if isinstance(data, dict) else []
    names = [str(i["table"].get("name", "")) for i in items if isinstance(i, dict) and isinstance(i.get("table"), dict)]
    return {n.removeprefix("dockyard_") for n in names if n.startswith("dockyard_")}


def host_tags() -> set[str]:
    """Tags of the ``dy0-<tag>`` links and ``dockyard_<tag>`` nft tables on this host (any root's)."""
    links = {n.removeprefix("dy0-") for n in os.listdir("/sys/class/net") if n.startswith("dy0-")}
    return links | _nft_tags()


def _session_dirs() -> Iterator[Path]:
    """pytest's numbered base directories (``pytest-of-<user>/pytest-<n>``) of sessions no longer running.

    A running session holds ``.lock`` with its PID; a finished one removed it, a killed one left it."""
    base = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    if not base.is_dir():
        return
    for d in sorted(base.glob("pytest-*")):
        if d.is_symlink() or not d.is_dir():
            continue
        try:
            pid = int((d / ".lock").read_text() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid_alive(pid):
            continue
        yield d


def stale_session_roots() -> list[Path]:
    """Roots of finished or killed pytest sessions whose bridge or nft table is still on the host."""
    from dockyard.network.manager import root_tag

    tags = host_tags()
    if not tags:
        return []
    return [root for d in _session_dirs() for root in roots_under(d) if root_tag(root) in tags]
