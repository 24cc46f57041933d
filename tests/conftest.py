"""Shared fixtures: an isolated state root per test, and the dockyard CLI run as a user would.

Nothing of a test's state roots may outlive the test: after every test (its own fixtures torn down), the roots
under its ``tmp_path`` are checked for processes, mounts, links and nft tables left on the host; what is found
is removed and the test errors at teardown, naming it. Roots of a pytest session killed before its teardown ran
are reclaimed when the next session starts (see ``tests/support/roots.py``), and SIGTERM (``timeout``, CI
cancelling) interrupts a session like Ctrl-C, so that its teardown runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.support import roots

ROOT_REQUIRED = os.geteuid() == 0

_checked_roots: set[Path] = set()  # every state root a test of this session used, checked again at the end
_reports: list[str] = []  # what had to be reclaimed, for the terminal summary


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Reclaim the roots of earlier sessions that were killed before their teardown ran (before pytest deletes
    their directories, and with them the only way to tell what a ``dy0-<tag>`` bridge belonged to)."""
    if not ROOT_REQUIRED:
        return
    for root in roots.stale_session_roots():
        _reports.append(f"{root} (of an earlier session): {'; '.join(reclaim_root(root)) or 'reclaimed'}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ROOT_REQUIRED:
        return
    skip = pytest.mark.skip(reason="integration tests need root (CI runs them as root)")
    for item in items:
        if "integration" in item.keywords or "compat" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def state_root(tmp_path: Path) -> Iterator[Path]:
    """A fresh dockyard state root. Afterwards its containers are removed, its networks (bridges, nft table,
    DNS) destroyed and everything mounted under it unmounted, whatever the test did."""
    root = tmp_path / "root"
    root.mkdir()
    yield root
    teardown_root(root)


def teardown_root(root: Path) -> None:
    """Remove the root's containers (with the engine, as ``rm -f`` would), then every network object of the root
    (``NetworkManager.destroy_all``), then stray monitors and hooks, then the mounts under it."""
    try:
        if (root / "dockyard.db").exists():
            proc = subprocess.run(
                [sys.executable, "-c", _TEARDOWN, str(root)], capture_output=True, text=True, timeout=120
            )
            if proc.returncode != 0 or proc.stderr.strip():
                warnings.warn(f"teardown of {root}: {proc.stderr.strip()}", stacklevel=2)
            if roots.kill_root_processes(root):  # a hook that outlived the containers may have made a bridge again
                roots.destroy_network(root)
    finally:
        _unmount_under(root)


def reclaim_root(root: Path) -> list[str]:
    """Everything of a root whose test is over: returns what was left (processes, mounts, network objects),
    and what could not be removed."""
    found: list[str] = []
    if pids := roots.root_processes(root):
        found.append(f"processes {pids}")
    if mounts := roots.mounts_under(root):
        found.append(f"{len(mounts)} mounts")
    if net := roots.network_leftovers(root):
        found += net
    if found:
        roots.kill_root_processes(root)
        teardown_root(root)
        still = [*roots.network_leftovers(root), *(f"mount {m}" for m in roots.mounts_under(root))]
        if still:
            found.append(f"NOT REMOVED: {', '.join(still)}")
    return found


@pytest.fixture(autouse=True)
def _nothing_left_on_the_host(request: pytest.FixtureRequest) -> Iterator[None]:
    """Torn down last: the test's roots (under its ``tmp_path``) left nothing on the host."""
    yield
    tmp = (getattr(request.node, "funcargs", None) or {}).get("tmp_path")
    if not ROOT_REQUIRED or not isinstance(tmp, Path):
        return
    problems = []
    for root in roots.roots_under(tmp):
        _checked_roots.add(root)
        if found := reclaim_root(root):
            problems.append(f"{root} (tag {_tag(root)}): {'; '.join(found)}")
    if mounts := roots.mounts_under(tmp):
        _unmount_under(tmp)
        problems.append(f"mounts under {tmp}: {', '.join(mounts)}")
    if problems:
        _reports.extend(f"{request.node.nodeid}: {p}" for p in problems)
        pytest.fail("left on the host after the test (now removed):\n" + "\n".join(problems), pytrace=False)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session's roots once more: a hook or monitor may have made a bridge again after its test ended."""
    if not ROOT_REQUIRED:
        return
    late = []
    for root in sorted(_checked_roots):
        if root.exists() and (found := reclaim_root(root)):
            late.append(f"{root} (tag {_tag(root)}), after its test: {'; '.join(found)}")
    _reports.extend(late)
    if late and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _reports:
        terminalreporter.section("state roots: left on the host, reclaimed", red=True)
        for line in _reports:
            terminalreporter.line(line)


def _tag(root: Path) -> str:
    from dockyard.network.manager import root_tag

    return root_tag(root)


_TEARDOWN = """
import sys
from dockyard.engine import Engine
from dockyard.settings import load_settings
engine = Engine(load_settings(sys.argv[1]))
try:
    from dockyard.engine.containers import RemoveOptions
    ids = [s.record.id for s in engine.containers.list(all=True)]
    if ids:
        engine.containers.remove(ids, RemoveOptions(force=True, volumes=True))
except Exception as exc:
    print("containers:", exc, file=sys.stderr)
try:
    engine.networks.manager.destroy_all()
except Exception as exc:
    print("networks:", exc, file=sys.stderr)
"""


def _unmount_under(root: Path) -> None:
    prefix = str(root)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    for mp in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False, capture_output=True)


class Cli:
    """Runs ``python -m dockyard --root ROOT ...`` and returns the CompletedProcess."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self, *args: str, input: bytes | str | None = None, check: bool = True, timeout: float = 120, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKYARD_ROOT": str(self.root)}
        env.update({k: str(v) for k, v in kw.pop("env", {}).items()})  # type: ignore[attr-defined]
        proc = subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            input=input.decode() if isinstance(input, bytes) else input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"dockyard {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc


@pytest.fixture
def cli(state_root: Path) -> Cli:
    return Cli(state_root)


@pytest.fixture
def busybox(cli: Cli) -> str:
    """The busybox image bootstrapped into the test's root (the rootfs tar is cached across tests)."""
    cli("image", "bootstrap", "busybox")
    return "busybox"
