"""Container lifecycle through conmon + runc: run and log, exit codes, detaching, exit command, signals,
pause/resume, stop, and nothing left behind after delete."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dockyard.errors import Conflict, NotFound
from dockyard.pids import pid_alive as process_alive
from dockyard.runtime import ContainerStartError, ContainerStatus, FreezerState, MonitorOptions, freezer_state
from dockyard.runtime.cgroups import cgroup_dirs
from dockyard.runtime.inotify import pidfd, wait_readable
from tests.integration.runtime.conftest import Harness

pytestmark = pytest.mark.integration


def test_echo_and_log(harness: Harness) -> None:
    result = harness.run("sh", "-c", "echo hi; echo err >&2")
    assert result.exit_code == 0
    assert result.stdout == b"hi\n"
    assert result.stderr == b"err\n"


def test_log_file_is_k8s_file_with_streams_apart(harness: Harness) -> None:
    spec = harness.spec("sh", "-c", "echo out; echo err >&2; printf partial")
    bundle = harness.start(spec)
    assert harness.runtime.wait(spec.id, bundle, 10) == 0
    lines = bundle.log.read_bytes().splitlines()
    records = sorted(line.split(b" ", 1)[1] for line in lines)
    assert records == [b"stderr F err", b"stdout F out", b"stdout P partial"]
    assert all(line[:4].isdigit() and b"T" in line.split(b" ")[0] for line in lines)


@pytest.mark.parametrize(("args", "code"), [(("true",), 0), (("sh", "-c", "exit 3"), 3)])
def test_exit_codes(harness: Harness, args: tuple[str, ...], code: int) -> None:
    assert harness.run(*args).exit_code == code


def test_command_not_found_is_127(harness: Harness) -> None:
    spec = harness.spec("nosuchcommand")
    bundle = harness.bundle(spec)
    with pytest.raises(ContainerStartError) as err:
        harness.runtime.create(spec.id, bundle)
    assert (str(err.value), err.value.exit_code) == ('exec: "nosuchcommand": executable file not found in $PATH', 127)
    # without the pre-check runc says the same thing, and it is translated the same way
    with pytest.raises(ContainerStartError) as err:
        harness.runtime.create(spec.id, bundle, check=False)
    assert (str(err.value), err.value.exit_code) == ('exec: "nosuchcommand": executable file not found in $PATH', 127)
    assert harness.runtime.runc.containers() == []


def test_not_executable_is_126(harness: Harness) -> None:
    spec = harness.spec("/etc/passwd")
    bundle = harness.bundle(spec)
    for check in (True, False):
        with pytest.raises(ContainerStartError) as err:
            harness.runtime.create(spec.id, bundle, check=check)
        assert (str(err.value), err.value.exit_code) == ('exec: "/etc/passwd": permission denied', 126)


def test_wrong_architecture_is_said_plainly(harness: Harness) -> None:
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + (2).to_bytes(2, "little") + (183).to_bytes(2, "little")
    program = harness.rootfs / "bin" / "armprog"
    program.write_bytes(header + b"\0" * 200)
    program.chmod(0o755)
    spec = harness.spec("armprog")
    with pytest.raises(ContainerStartError) as err:
        harness.runtime.create(spec.id, harness.bundle(spec))
    assert err.value.exit_code == 126
    assert "built for linux/arm64 and this host is linux/amd64" in str(err.value)


def test_detached_container_outlives_its_creator(harness: Harness, tmp_path: Path) -> None:
    """A separate process creates and starts the container and exits; conmon keeps it, records the exit code and
    runs the exit command once it ends."""
    spec = harness.spec("sh", "-c", "read line < /tmp/go; echo finishing; exit 5")
    bundle = harness.bundle(spec)
    os.mkfifo(harness.rootfs / "tmp" / "go")
    marker = tmp_path / "exit-command-ran"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from dockyard.runtime import RuncRuntime, Bundle, MonitorOptions
        rt = RuncRuntime(Path({str(harness.root)!r}))
        opts = MonitorOptions(exit_command=("/bin/sh", "-c", "cat {bundle.exit_file} > {marker}"))
        created = rt.create({spec.id!r}, Bundle(Path({str(bundle.path)!r})), opts)
        rt.start({spec.id!r})
        print(created.monitor_pid)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    monitor_pid = int(proc.stdout)
    assert process_alive(monitor_pid)
    state = harness.runtime.state(spec.id, bundle)
    assert state.status is ContainerStatus.RUNNING and state.monitor_pid == monitor_pid
    (harness.rootfs / "tmp" / "go").write_text("go\n")  # let it finish
    assert harness.runtime.wait(spec.id, bundle, 10) == 5
    fd = pidfd(monitor_pid)  # conmon writes the exit files, runs the exit command, then exits
    if fd is not None:
        assert wait_readable([fd], 10)
        os.close(fd)
    assert (harness.root / "run" / "exits" / spec.id).read_text() == "5"
    assert bundle.exit_file.read_text() == "5"
    assert marker.read_text() == "5"
    assert [e.data for e in harness.runtime.logs(bundle)] == [b"finishing\n"]
    state = harness.runtime.state(spec.id, bundle)
    assert (state.status, state.exit_code, state.monitor_pid) == (ContainerStatus.STOPPED, 5, 0)


def test_kill_sigterm_and_sigkill(harness: Harness) -> None:
    ready = harness.fifo("ready")
    spec = harness.spec("sh", "-c", "echo > /tmp/ready; exec sleep 100", init=True)  # tini passes SIGTERM on
    bundle = harness.start(spec)
    harness.read_fifo(ready)  # tini is waiting on its child now (a signal before that would be lost)
    harness.runtime.kill(spec.id, "SIGTERM")
    assert harness.runtime.wait(spec.id, bundle, 10) == 143
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    harness.runtime.kill(spec.id, "KILL")
    assert harness.runtime.wait(spec.id, bundle, 10) == 137
    with pytest.raises(Conflict):
        harness.runtime.kill(spec.id, "KILL")


def test_stop_escalates_to_sigkill(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")  # PID 1 without a handler ignores SIGTERM
    bundle = harness.start(spec)
    start = time.monotonic()
    assert harness.runtime.stop(spec.id, bundle, timeout=0.5) == 137
    assert 0.4 < time.monotonic() - start < 10
    assert harness.runtime.stop(spec.id, bundle) == 137  # already stopped: just the code


def test_pause_and_resume_use_the_freezer(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    cgroup = f"/dockyard/{spec.id}"
    assert freezer_state(cgroup) is FreezerState.THAWED
    harness.runtime.pause(spec.id)
    assert freezer_state(cgroup) is FreezerState.FROZEN
    assert harness.runtime.state(spec.id, bundle).status is ContainerStatus.PAUSED
    harness.runtime.resume(spec.id)
    assert freezer_state(cgroup) is FreezerState.THAWED
    assert harness.runtime.state(spec.id, bundle).status is ContainerStatus.RUNNING
    with pytest.raises(Conflict):
        harness.runtime.resume(spec.id)


def test_nothing_leaks_after_delete(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    state = harness.runtime.state(spec.id, bundle)
    dirs = cgroup_dirs(f"/dockyard/{spec.id}")
    assert any(d.exists() for d in dirs)
    fd = pidfd(state.monitor_pid)
    assert fd is not None
    harness.runtime.delete(spec.id, force=True)
    assert wait_readable([fd], 10), "conmon did not exit after the container was deleted"
    os.close(fd)
    assert harness.runtime.runc.containers() == []
    assert not any(d.exists() for d in dirs)
    assert not bundle.attach_socket.exists()
    assert not process_alive(state.pid)
    with pytest.raises(NotFound):
        harness.runtime.runc.state(spec.id)


def test_created_container_waits_for_start(harness: Harness) -> None:
    spec = harness.spec("echo", "started")
    bundle = harness.bundle(spec)
    created = harness.runtime.create(spec.id, bundle, MonitorOptions())
    assert created.pid > 0 and created.monitor_pid > 0
    assert harness.runtime.state(spec.id, bundle).status is ContainerStatus.CREATED
    assert harness.runtime.wait(spec.id, bundle, 0.2) is None
    harness.runtime.start(spec.id)
    assert harness.runtime.wait(spec.id, bundle, 10) == 0
    assert [e.data for e in harness.runtime.logs(bundle)] == [b"started\n"]
