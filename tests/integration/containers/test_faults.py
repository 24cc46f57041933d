"""State without a daemon, and faults: the exit hook records exits and removes ``--rm`` containers with no
dockyard process alive; restart policies; ``kill -9`` of the CLI at any moment, of a monitor, and a simulated
reboot leave nothing stuck after the next command."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.containers.conftest import CGROUP_ROOT, leftovers, no_leftovers, root_processes, wait_for

pytestmark = pytest.mark.integration


def _row(root: Path, cid: str) -> sqlite3.Row | None:
    """The container's row read straight from the database (no dockyard code runs, so nothing reconciles)."""
    conn = sqlite3.connect(root / "dockyard.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM containers WHERE id = ?", (cid,)).fetchone()
    finally:
        conn.close()


def _spawn(root: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOCKYARD_ROOT": str(root)}
    return subprocess.Popen([sys.executable, "-m", "dockyard", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip


def _all_ids(root: Path) -> list[str]:
    conn = sqlite3.connect(root / "dockyard.db")
    try:
        return [r[0] for r in conn.execute("SELECT id FROM containers")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def test_exit_recorded_by_the_monitor_hook_alone(dy: Cli) -> None:
    cid = dy("run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 4").stdout.strip()
    row = wait_for(lambda: (lambda r: r if r is not None and r["status"] == "exited" else None)(_row(dy.root, cid)))
    assert row["exit_code"] == 4 and row["finished_at"] > row["started_at"] > 0  # type: ignore[index]
    no_leftovers(dy.root, [cid])
    assert dy("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited (4)")


def test_rm_flag_without_a_live_dockyard_process(dy: Cli) -> None:
    cid = dy("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.5").stdout.strip()
    assert _row(dy.root, cid) is not None
    wait_for(lambda: _row(dy.root, cid) is None)
    assert not (dy.root / "containers" / cid).exists()
    no_leftovers(dy.root, [cid])


def test_restart_on_failure_with_a_limit(dy: Cli) -> None:
    cid = dy("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1").stdout.strip()

    def settled() -> bool:
        row = _row(dy.root, cid)
        return row is not None and row["status"] == "exited" and row["restart_count"] == 2

    wait_for(settled, timeout=30)
    time.sleep(1.0)
    state = json.loads(dy("inspect", "--format", "{{json .}}", cid).stdout)
    assert state["RestartCount"] == 2 and state["State"]["ExitCode"] == 1 and state["State"]["Status"] == "exited"
    assert state["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    no_leftovers(dy.root, [cid])
    dy("rm", cid)


def test_restart_always_until_stopped(dy: Cli) -> None:
    cid = dy("run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2").stdout.strip()
    wait_for(lambda: (_row(dy.root, cid) or {"restart_count": 0})["restart_count"] >= 2, timeout=30)
    dy("stop", "-t", "1", cid)
    count = _row(dy.root, cid)["restart_count"]  # type: ignore[index]
    time.sleep(1.5)
    row = _row(dy.root, cid)
    assert row is not None and row["status"] == "exited" and row["restart_count"] == count
    dy("rm", cid)
    no_leftovers(dy.root, [cid])


def test_cli_killed_while_running_in_the_foreground(dy: Cli) -> None:
    proc = _spawn(dy.root, "run", "--name", "fg", "busybox", "sleep", "60")
    wait_for(lambda: dy("ps", "--format", "{{.Names}}").stdout == "fg\n")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert dy("ps", "--format", "{{.Names}} {{.State}}").stdout == "fg running\n"  # the monitor keeps it
    cid = dy("inspect", "--format", "{{.Id}}", "fg").stdout.strip()
    dy("rm", "-f", "fg")
    no_leftovers(dy.root, [cid])


@pytest.mark.parametrize("verb", ["run", "rm"])
def test_cli_killed_at_any_moment(dy: Cli, verb: str) -> None:
    """kill -9 of ``run -d`` / ``rm -f`` after growing delays: the next commands leave nothing behind."""
    ids: list[str] = []
    for step in range(10):
        delay = 0.03 + step * 0.04
        if verb == "run":
            proc = _spawn(dy.root, "run", "-d", "-p", "0:80", "busybox", "sleep", "60")
        else:
            ids.append(dy("run", "-d", "busybox", "sleep", "60").stdout.strip())
            proc = _spawn(dy.root, "rm", "-f", ids[-1])
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        ids += [i for i in _all_ids(dy.root) if i not in ids]
    dy("ps", "-a")  # reconciles
    remaining = dy("ps", "-aq").stdout.split()
    if remaining:
        dy("rm", "-f", *remaining)
    assert dy("ps", "-aq").stdout == ""
    conn = sqlite3.connect(dy.root / "dockyard.db")
    try:
        assert conn.execute("SELECT count(*) FROM containers").fetchone()[0] == 0  # no half-made rows either
        assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0
    finally:
        conn.close()
    wait_for(lambda: not any(leftovers(dy.root, ids).values()), timeout=10)
    assert not [p for p in (dy.root / "containers").iterdir()] if (dy.root / "containers").exists() else True


def test_monitor_killed(dy: Cli) -> None:
    cid = dy("run", "-d", "busybox", "sleep", "60").stdout.strip()
    monitor = int(dy("inspect", "--format", "{{.State.Pid}}", cid).stdout)  # the container's init
    conmon = int((dy.root / "containers" / cid / "conmon.pid").read_text())
    os.kill(conmon, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{conmon}").exists() or b"Z" in Path(f"/proc/{conmon}/stat").read_bytes())
    ps = dy("ps", "-a", "--format", "{{.Status}}").stdout
    assert ps.startswith("Exited (255)"), ps
    assert not Path(f"/proc/{monitor}").exists() or b"Z" in Path(f"/proc/{monitor}/stat").read_bytes()
    no_leftovers(dy.root, [cid])
    dy("rm", cid)


def _simulate_reboot(root: Path, ids: list[str]) -> None:
    """What a reboot takes away: every process of the root's containers and monitors, every mount, the
    runtime's state directory (a tmpfs on a real host), and the network namespaces."""
    for pid in root_processes(root):
        os.kill(pid, signal.SIGKILL)
    for cid in ids:
        procs = CGROUP_ROOT / "pids" / "dockyard" / cid / "cgroup.procs"
        if procs.exists():
            for pid in procs.read_text().split():
                os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.3)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(str(root))]
    for mp in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(root / "run" / "runc")], check=True)


def test_reboot_simulation(dy: Cli) -> None:
    plain = dy("run", "-d", "--name", "plain", "busybox", "sleep", "60").stdout.strip()
    always = dy("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "60").stdout.strip()
    _simulate_reboot(dy.root, [plain, always])
    ps = dy("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.splitlines()
    assert any(line.startswith("plain Exited (255)") for line in ps), ps
    wait_for(lambda: dy("ps", "--format", "{{.Names}} {{.State}}").stdout == "always running\n", timeout=20)
    assert dy("exec", "always", "echo", "alive").stdout == "alive\n"
    dy("rm", "-f", plain, always)
    no_leftovers(dy.root, [plain, always])
