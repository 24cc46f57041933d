"""dockyard.pids.pid_alive: the one liveness check of owners, monitors and lock holders."""

from __future__ import annotations

import os
import time

from dockyard.pids import pid_alive


def test_this_process_and_init_are_alive() -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(1)


def test_no_process_group_or_nonsense_counts() -> None:
    # os.kill(0, 0) would succeed (the caller's process group): a lease row with pid 0 must not look owned
    assert not pid_alive(0)
    assert not pid_alive(-1)


def test_a_zombie_is_not_alive_and_neither_is_a_reaped_child() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 5
        while pid_alive(pid):  # exited, not yet reaped: a zombie
            assert time.monotonic() < deadline, "the exited child still counts as alive"
            time.sleep(0.01)
        with open(f"/proc/{pid}/stat", "rb") as f:
            assert b") Z " in f.read()
    finally:
        os.waitpid(pid, 0)
    assert not pid_alive(pid)


def test_a_stopped_process_is_alive() -> None:
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    try:
        os.kill(pid, 19)  # SIGSTOP
        assert pid_alive(pid)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
