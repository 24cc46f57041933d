"""``dockyard run`` in the foreground and detached: output, exit codes, stdin, a TTY, identity inside the
container, errors in Docker's words, and nothing left behind."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.containers.conftest import no_leftovers, wait_for

pytestmark = pytest.mark.integration


def test_foreground_output_and_exit_code(dy: Cli) -> None:
    proc = dy("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert dy("ps", "-aq").stdout == ""  # --rm removed it
    no_leftovers(dy.root)


def test_exit_code_zero_and_kept_container(dy: Cli) -> None:
    proc = dy("run", "--name", "kept", "busybox", "true")
    assert proc.returncode == 0 and proc.stdout == ""
    ps = dy("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert re.fullmatch(r"kept Exited \(0\) (Less than a second|\d+ seconds?) ago\n", ps), ps
    no_leftovers(dy.root)


def test_command_not_found_and_not_executable(dy: Cli) -> None:
    proc = dy("run", "--rm", "busybox", "nosuchcommand", check=False)
    assert proc.returncode == 127
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in proc.stderr
    proc = dy("run", "-d", "--rm", "busybox", "/etc/passwd", check=False)
    assert proc.returncode == 126 and proc.stdout == ""
    assert dy("ps", "-aq").stdout == ""  # --rm: a container that failed to start is removed too, as Docker does
    proc = dy("run", "busybox", "/etc/passwd", check=False)
    assert proc.returncode == 126 and "permission denied" in proc.stderr
    state = json.loads(dy("inspect", "--format", "{{json .State}}", dy("ps", "-lq").stdout.strip()).stdout)
    assert (state["Status"], state["ExitCode"]) == ("created", 126) and "permission denied" in state["Error"]
    no_leftovers(dy.root)


def test_detached_prints_the_full_id_and_keeps_running(dy: Cli) -> None:
    proc = dy("run", "-d", "busybox", "sh", "-c", "echo started; exec sleep 60")
    cid = proc.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert dy("ps", "-q").stdout.strip() == cid[:12]
    wait_for(lambda: dy("logs", cid).stdout == "started\n")
    dy("rm", "-f", cid)
    no_leftovers(dy.root, [cid])


def test_identity_inside(dy: Cli) -> None:
    script = "hostname; cat /etc/hostname; cat /etc/hosts; cat /etc/resolv.conf; echo pid=$$"
    cid = dy("run", "-d", "busybox", "sh", "-c", script + "; sleep 60").stdout.strip()
    short = cid[:12]
    out = wait_for(lambda: (lambda o: o if "pid=" in o else "")(dy("logs", cid).stdout))
    assert isinstance(out, str)
    lines = out.splitlines()
    assert lines[0] == short and lines[1] == short
    ip = dy("inspect", "--format", "{{.NetworkSettings.IPAddress}}", cid).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip)
    assert f"{ip}\t{short}" in lines
    assert "127.0.0.1\tlocalhost" in lines
    assert any(line.startswith("nameserver ") for line in lines)
    assert "pid=1" in lines  # PID 1 is the command
    dy("rm", "-f", cid)


def test_environment(dy: Cli, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("FROM_FILE=yes\n# comment\nOVERRIDDEN=file\n")
    out = dy("run", "--rm", "--env-file", str(env_file), "-e", "OVERRIDDEN=flag", "-e", "PASSED", "-w", "/tmp",
             "busybox", "sh", "-c", "env; pwd", env={"PASSED": "through"}).stdout  # fmt: skip
    lines = out.splitlines()
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in lines  # the image's
    assert "FROM_FILE=yes" in lines and "OVERRIDDEN=flag" in lines and "PASSED=through" in lines
    assert any(re.fullmatch(r"HOSTNAME=[0-9a-f]{12}", line) for line in lines)
    assert lines[-1] == "/tmp"


def test_stdin_is_piped_with_i(dy: Cli) -> None:
    proc = dy("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo to-stderr >&2", input="hello-from-stdin\n")
    assert proc.stdout == "hello-from-stdin\n" and proc.stderr == "to-stderr\n"
    # without -i the container's stdin is empty
    proc = dy("run", "--rm", "busybox", "sh", "-c", "cat; echo done", input="ignored\n")
    assert proc.stdout == "done\n"


def _pty_run(root: Path, args: list[str], keys: list[tuple[float, bytes]], timeout: float = 30) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal (as a user's shell would), typing ``keys`` after the given delays."""
    import pty
    import select

    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "DOCKYARD_ROOT": str(root), "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True)  # fmt: skip
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    pending = list(keys)
    next_at = time.monotonic() + (pending[0][0] if pending else 0)
    try:
        while time.monotonic() < deadline:
            if pending and time.monotonic() >= next_at:
                os.write(master, pending.pop(0)[1])
                next_at = time.monotonic() + (pending[0][0] if pending else 0)
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                output += data
            elif proc.poll() is not None and not pending:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, output


def test_tty_interactive(dy: Cli) -> None:
    code, output = _pty_run(
        dy.root,
        ["run", "-it", "--rm", "busybox", "sh"],
        [(1.0, b"tty; stty size; echo $TERM\r"), (0.5, b"exit 3\r")],
    )
    assert code == 3, output
    assert b"/dev/pts/0" in output
    assert b"30 100" in output  # the terminal's size, given at start
    assert b"xterm" in output


def test_tty_detach_keys_leave_it_running(dy: Cli) -> None:
    code, output = _pty_run(dy.root, ["run", "-it", "--name", "bg", "busybox", "sh"], [(1.0, b"\x10\x11")])
    assert code == 0, output
    assert dy("ps", "--format", "{{.Names}} {{.State}}").stdout == "bg running\n"
    dy("rm", "-f", "bg")


def test_name_conflict(dy: Cli) -> None:
    first = dy("create", "--name", "web", "busybox").stdout.strip()
    proc = dy("run", "--name", "web", "busybox", check=False)
    assert proc.returncode == 125
    assert proc.stderr.strip() == (
        f'dockyard: Error response from daemon: Conflict. The container name "/web" is already in use by container '
        f'"{first}". You have to remove (or rename) that container to be able to reuse that name.\n'
        "See 'dockyard run --help'."
    )
    assert dy("ps", "-aq").stdout.split() == [first[:12]]


def test_unknown_image(dy: Cli) -> None:
    proc = dy("run", "--pull", "never", "no-such-image", check=False)
    assert (proc.returncode, proc.stderr) == (
        125,
        "dockyard: Error response from daemon: No such image: no-such-image:latest.\nSee 'dockyard run --help'.\n",
    )
    proc = dy("run", "no-such-image", check=False)
    assert proc.returncode == 125
    assert proc.stderr.startswith("Unable to find image 'no-such-image:latest' locally\n")
    assert dy("ps", "-aq").stdout == ""


def test_published_port_serves_and_port_in_use_fails_cleanly(dy: Cli) -> None:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    cid = dy("run", "-d", "-p", f"{port}:80", "busybox", "sh", "-c",
             "mkdir /www && echo served > /www/index.html && exec httpd -f -p 80 -h /www").stdout.strip()  # fmt: skip

    def fetch() -> bytes:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data
        except OSError:
            return b""

    assert b"served" in wait_for(fetch)  # type: ignore[operator]
    assert dy("port", cid).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    ps = dy("ps", "--format", "{{.Ports}}").stdout
    assert ps == f"0.0.0.0:{port}->80/tcp\n"
    # the same host port again: a clear error, and the second container is not left half-started
    proc = dy("run", "-d", "--name", "second", "-p", f"{port}:80", "busybox", "sleep", "60", check=False)
    assert proc.returncode == 125
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in proc.stderr
    assert dy("ps", "-a", "--filter", "name=second", "--format", "{{.State}}").stdout == "created\n"
    dy("rm", "-f", cid, "second")
    no_leftovers(dy.root, [cid])
