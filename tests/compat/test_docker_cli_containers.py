"""The real docker CLI runs containers through dockyard's API: attach hijack, wait, exec, logs, ports."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from tests.compat.conftest import ApiServer

pytestmark = [pytest.mark.integration, pytest.mark.compat]


@pytest.fixture
def bb(api: ApiServer, busybox: str) -> ApiServer:
    return api


def test_run_foreground_output_and_exit_codes(bb: ApiServer) -> None:
    r = bb.docker("run", "--rm", "busybox", "echo", "hi")
    assert r.stdout == "hi\n"
    r = bb.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = bb.docker("run", "--rm", "busybox", "nosuchcommand", check=False)
    assert r.returncode == 127 and "executable file not found" in r.stderr
    assert bb.docker("ps", "-aq").stdout == ""  # --rm removed them all


def test_piped_stdin_reaches_the_container(bb: ApiServer) -> None:
    r = bb.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo to-stderr >&2", input="piped\nlines\n")
    assert r.stdout == "piped\nlines\n" and r.stderr == "to-stderr\n"


def test_tty_run_and_exec(bb: ApiServer) -> None:
    env = {**os.environ, "DOCKER_HOST": bb.url, "DOCKER_CONFIG": str(bb.root / "docker-config")}
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe("docker", ["docker", "run", "-it", "--rm", "busybox", "sh", "-c", "tty; exit 4"], env)
    out = b""
    deadline = time.time() + 30
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    assert b"/dev/pts/0" in out
    assert os.waitstatus_to_exitcode(status) == 4


def test_detached_lifecycle(bb: ApiServer) -> None:
    cid = bb.docker(
        "run", "-d", "-p", "127.0.0.1::80", "busybox", "sh", "-c", "echo started; exec httpd -f -p 80 -h /etc"
    ).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    try:
        ps = bb.docker("ps").stdout.splitlines()
        assert cid[:12] in ps[1] and "Up " in ps[1] and "->80/tcp" in ps[1]
        [data] = json.loads(bb.docker("inspect", cid).stdout)
        assert data["State"]["Running"] is True and data["Config"]["Hostname"] == cid[:12]
        host_port = bb.docker("port", cid, "80").stdout.strip().rsplit(":", 1)[1]
        page = subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{host_port}/passwd"], capture_output=True, text=True, timeout=10
        ).stdout
        assert "root:x:0:0" in page
        assert bb.docker("exec", cid, "hostname").stdout.strip() == cid[:12]
        assert bb.docker("exec", cid, "sh", "-c", "exit 5", check=False).returncode == 5
        deadline = time.time() + 10
        while "started" not in bb.docker("logs", cid).stdout and time.time() < deadline:
            time.sleep(0.1)
        assert bb.docker("logs", cid).stdout == "started\n"
        assert bb.docker("stop", "-t", "1", cid).stdout.strip() == cid
        status = bb.docker("ps", "-a", "--format", "{{.Status}}").stdout
        assert status.startswith("Exited (")
    finally:
        bb.docker("rm", "-f", cid, check=False)
    assert bb.docker("ps", "-aq").stdout == ""


def test_errors_in_dockers_words(bb: ApiServer) -> None:
    r = bb.docker("stop", "nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    bb.docker("create", "--name", "taken", "busybox")
    r = bb.docker("create", "--name", "taken", "busybox", check=False)
    assert r.returncode != 0 and 'The container name "/taken" is already in use' in r.stderr
    bb.docker("rm", "taken")


def test_update_through_the_api(bb: ApiServer) -> None:
    """``docker update`` (``POST /containers/{id}/update``): limits reach the running cgroup, the policy is kept."""
    cid = bb.docker("run", "-d", "-m", "64m", "busybox", "sleep", "60").stdout.strip()
    try:
        assert bb.docker("update", "-m", "100m", "--pids-limit", "42", "--restart", "unless-stopped", cid).stdout == (
            f"{cid}\n"
        )
        limits = bb.docker("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                           "/sys/fs/cgroup/pids/pids.max").stdout  # fmt: skip
        assert limits == f"{100 << 20}\n42\n"
        fmt = "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}"
        assert bb.docker("inspect", "--format", fmt, cid).stdout == f"{100 << 20} 42 unless-stopped\n"
        low = bb.docker("update", "-m", "1k", cid, check=False)
        assert low.returncode == 1 and "Minimum memory limit allowed is 6MB" in low.stderr
    finally:
        bb.docker("rm", "-f", cid, check=False)
