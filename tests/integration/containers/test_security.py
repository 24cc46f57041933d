"""Docker's defaults seen from inside a container started by the service (the runtime builds them; these tests
check that the service passes the options through): capabilities, seccomp, no_new_privs, masked and read-only
paths, --privileged, --cap-drop, --read-only, --init, users, limits."""

from __future__ import annotations

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration

DOCKER_DEFAULT_CAPS = "00000000a80425fb"


def _status(dy: Cli, *args: str) -> dict[str, str]:
    out = dy("run", "--rm", *args, "busybox", "cat", "/proc/self/status").stdout
    return {k: v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_default_capabilities_seccomp_and_no_new_privs(dy: Cli) -> None:
    status = _status(dy)
    assert status["CapEff"] == DOCKER_DEFAULT_CAPS and status["CapBnd"] == DOCKER_DEFAULT_CAPS
    assert status["Seccomp"] == "2"
    assert status["NoNewPrivs"] == "0"
    assert _status(dy, "--security-opt", "no-new-privileges")["NoNewPrivs"] == "1"
    assert _status(dy, "--security-opt", "seccomp=unconfined")["Seccomp"] == "0"
    assert _status(dy, "--cap-drop", "ALL")["CapEff"] == "0000000000000000"
    assert _status(dy, "--cap-add", "SYS_ADMIN")["CapEff"] == "00000000a82425fb"
    privileged = _status(dy, "--privileged")
    assert int(privileged["CapEff"], 16) > int(DOCKER_DEFAULT_CAPS, 16) and privileged["Seccomp"] == "0"


def test_masked_and_read_only_paths(dy: Cli) -> None:
    script = (
        "[ -s /proc/kcore ] && echo kcore-visible || echo kcore-masked; "
        "echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo proc-sys-writable || echo proc-sys-ro; "
        "touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro; "
        "ls /dev | tr '\\n' ' '"
    )
    out = dy("run", "--rm", "busybox", "sh", "-c", script).stdout.splitlines()
    assert out[0] == "kcore-masked"
    assert out[1:3] == ["proc-sys-ro", "sys-ro"]
    devices = set(out[3].split())
    assert {"null", "zero", "random", "urandom", "tty", "pts", "shm", "mqueue"} <= devices
    assert "sda" not in devices and "kmsg" not in devices


def test_read_only_rootfs_and_tmpfs(dy: Cli) -> None:
    script = "touch /x 2>/dev/null && echo root-rw || echo root-ro; touch /run/ok && echo run-rw"
    out = dy("run", "--rm", "--read-only", "--tmpfs", "/run", "busybox", "sh", "-c", script).stdout
    assert out == "root-ro\nrun-rw\n"


def test_pid_1_is_the_command_or_the_init(dy: Cli) -> None:
    assert dy("run", "--rm", "busybox", "sh", "-c", "echo $$; cat /proc/1/comm; true").stdout == "1\nsh\n"
    out = dy("run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '").stdout
    pid, init = out.splitlines()
    assert pid != "1" and init.startswith("/sbin/docker-init -- sh")


def test_user_workdir_and_limits(dy: Cli) -> None:
    script = "id -u; pwd; ulimit -n; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/pids.max"
    out = dy("run", "--rm", "-u", "nobody", "-w", "/tmp", "--ulimit", "nofile=100:200", "-m", "32m",
             "--pids-limit", "50", "busybox", "sh", "-c", script).stdout.splitlines()  # fmt: skip
    assert out == ["65534", "/tmp", "100", str(32 << 20), "50"]
    # any limit <= 0 is "unlimited", as docker takes it (-1 documented, -5 accepted all the same)
    pids = "cat /sys/fs/cgroup/pids/pids.max"
    assert dy("run", "--rm", "--pids-limit", "-5", "busybox", "sh", "-c", pids).stdout == "max\n"


def test_a_ulimit_above_the_hosts_hard_limit_is_refused(dy: Cli) -> None:
    proc = dy("run", "--rm", "--ulimit", "nofile=99999999:99999999", "busybox", "true", check=False)
    assert proc.returncode == 125 and "above this host's hard limit" in proc.stderr
