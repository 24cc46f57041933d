"""The entry point ends the process without the interpreter's teardown (``cli.main._exit_now``), yet as the
teardown would: atexit functions run, buffered output is written, the database is closed (its WAL checkpointed
and removed), the exit code kept; a running non-daemon thread, or the entry point called with arguments (tests,
embedding), means the normal way."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from dockyard.store.db import open_database
from dockyard.cli.main import _exit_now

db = open_database(Path({path!r}))
with db.transaction() as conn:
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (42)")
atexit.register(lambda: print("atexit ran", file=sys.stderr))
if {thread}:
    threading.Thread(target=time.sleep, args=(0.3,)).start()
sys.stdout.write("buffered, no newline")
_exit_now(7)
print(" -- returned", end="")
"""


def _run(tmp_path: Path, thread: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    path = tmp_path / "x.db"
    code = textwrap.dedent(SCRIPT).format(path=str(path), thread=thread)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60), path


def test_exit_now_does_what_the_teardown_would(tmp_path: Path) -> None:
    proc, path = _run(tmp_path, thread=False)
    assert proc.returncode == 7
    assert proc.stdout == "buffered, no newline"
    assert "atexit ran" in proc.stderr
    assert not Path(f"{path}-wal").exists()  # closed: checkpointed into the file, WAL removed
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]


def test_exit_now_declines_while_a_thread_runs(tmp_path: Path) -> None:
    proc, _ = _run(tmp_path, thread=True)
    assert proc.returncode == 0
    assert proc.stdout == "buffered, no newline -- returned"


def test_command_exit_codes_and_output_through_the_entry_point(tmp_path: Path) -> None:
    env = {"DOCKYARD_ROOT": str(tmp_path / "root"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "dockyard", "--version"], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "dockyard version 0.1.0\n")
    proc = subprocess.run([sys.executable, "-m", "dockyard", "ps", "-q"], capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = subprocess.run([sys.executable, "-m", "dockyard", "inspect", "nope"], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 1 and "No such object: nope" in proc.stderr


def test_profilers_still_get_their_exit(tmp_path: Path) -> None:
    out = tmp_path / "prof"
    env = {"DOCKYARD_ROOT": str(tmp_path / "root"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "dockyard", "ps", "-a"],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
