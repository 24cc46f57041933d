"""The warm helper with real commands: each test starts its own helper (a private socket directory), runs
``python -m dockyard`` through it, and compares with the same command run cold (``DOCKYARD_WARM=0``).

``DOCKYARD_WARM_TRACE=1`` makes the client say which way a command went (``warm: served by <helper> (pid
<child>)`` or ``warm: cold (<reason>)``) on stderr; the comparisons leave that line out."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SERVED = re.compile(r"^warm: served by (\d+) \(pid (\d+)\)$", re.M)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str  # without the trace line
    trace: str

    @property
    def served(self) -> tuple[int, int] | None:
        m = SERVED.search(self.trace)
        return (int(m.group(1)), int(m.group(2))) if m else None


class Warm:
    """``python -m dockyard`` for one state root, through a helper of its own (``DOCKYARD_WARM_DIR``)."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = root
        self.dir = directory

    def env(self, cold: bool = False, **extra: str) -> dict[str, str]:
        return {**os.environ, "DOCKYARD_ROOT": str(self.root), "DOCKYARD_WARM_DIR": str(self.dir),
                "DOCKYARD_WARM": "0" if cold else "1", "DOCKYARD_WARM_TRACE": "1", **extra}  # fmt: skip

    def __call__(self, *args: str, cold: bool = False, env: dict[str, str] | None = None, **kw: object) -> Result:
        kw.setdefault("timeout", 120)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.run([sys.executable, "-m", "dockyard", *args], env=self.env(cold, **(env or {})),
                              **kw)  # type: ignore[call-overload]  # fmt: skip
        err = (proc.stderr or b"").decode(errors="replace")
        trace = "".join(line for line in err.splitlines(keepends=True) if line.startswith("warm: "))
        rest = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("warm: "))
        return Result(proc.returncode, (proc.stdout or b"").decode(errors="replace"), rest, trace)

    def popen(self, *args: str, **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "dockyard", *args], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]  # fmt: skip

    def servers(self) -> list[int]:
        """PIDs of helpers serving this directory."""
        return _processes(b"dockyard.cli.warm", str(self.dir).encode())

    def start(self) -> int:
        """A helper listening (the first command starts it); its PID."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = self("ps", "-q")
            if r.served:
                return r.served[0]
            time.sleep(0.1)
        raise AssertionError(f"no helper started: {r.trace}")

    def socket(self) -> Path:
        (path,) = self.dir.glob("warm-*.sock")
        return path


def _processes(*markers: bytes) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if all(m in cmdline for m in markers):
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s")
        time.sleep(0.02)
    return value


@pytest.fixture
def warm(state_root: Path) -> Iterator[Warm]:
    directory = Path(tempfile.mkdtemp(prefix="dyw-", dir="/tmp"))  # short: a socket's path holds 107 bytes
    w = Warm(state_root, directory)
    yield w
    for pid in w.servers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not w.servers(), timeout=5)
    for pid in w.servers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)


def _same(warm: Warm, *args: str, **kw: object) -> Result:
    """The command served warm gives what it gives cold: exit code, stdout and stderr."""
    hot = warm(*args, **kw)  # type: ignore[arg-type]
    assert hot.served, hot.trace
    cold = warm(*args, cold=True, **kw)  # type: ignore[arg-type]
    assert not cold.trace
    assert (hot.returncode, hot.stdout, hot.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    return hot


def test_commands_give_what_they_give_cold(warm: Warm, busybox: str) -> None:
    warm.start()
    r = _same(warm, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert _same(warm, "images").stdout.startswith("REPOSITORY")
    assert _same(warm, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"
    assert _same(warm, "ps", "-a", "--no-trunc").returncode == 0
    r = _same(warm, "inspect", "no-such-thing")
    assert r.returncode != 0 and "no-such-thing" in r.stderr
    r = _same(warm, "run", "--rm", "--no-such-flag", "busybox")
    assert r.returncode == 125 and "no-such-flag" in r.stderr
    cid = warm("create", "--name", "made", "busybox", "true").stdout.strip()
    assert _same(warm, "ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout == f"{cid[:12]} made Created\n"
    assert warm("rm", "made").returncode == 0


def test_stdin_cwd_umask_and_environment(warm: Warm, busybox: str, tmp_path: Path) -> None:
    warm.start()
    work = tmp_path / "work"
    work.mkdir()
    # the working directory (a relative path) and the umask
    r = warm("save", "-o", "busybox.tar", "busybox", cwd=work, preexec_fn=lambda: os.umask(0o077))
    assert r.served and r.returncode == 0, r
    assert (work / "busybox.tar").stat().st_mode & 0o777 == 0o600
    # standard input
    with open(work / "busybox.tar", "rb") as f:
        hot = warm("load", stdin=f)
    with open(work / "busybox.tar", "rb") as f:
        cold = warm("load", stdin=f, cold=True)
    assert hot.served and (hot.returncode, hot.stdout) == (cold.returncode, cold.stdout) == (
        0,
        "Loaded image: busybox:latest\n",
    )
    # the environment: the container gets FOO from the client's (-e FOO without a value)
    token = os.urandom(4).hex()
    r = warm("run", "--rm", "-e", "FOO", "busybox", "sh", "-c", "echo $FOO", env={"FOO": token})
    assert r.served and r.stdout == f"{token}\n"
    # the time zone: the C library read TZ once, in the helper (volume inspect shows local time)
    assert warm("volume", "create", "v1").returncode == 0
    hot = warm("volume", "inspect", "--format", "{{.CreatedAt}}", "v1", env={"TZ": "XYZ-05:30"})
    cold = warm("volume", "inspect", "--format", "{{.CreatedAt}}", "v1", env={"TZ": "XYZ-05:30"}, cold=True)
    assert hot.served and hot.stdout == cold.stdout and cold.stdout.endswith("+05:30\n")
    # and DOCKYARD_ROOT from the environment: another root is another set of images
    other = tmp_path / "other-root"
    other.mkdir()
    r = warm("images", "-q", env={"DOCKYARD_ROOT": str(other)})
    assert r.served and (r.returncode, r.stdout) == (0, "")


def test_a_reader_that_leaves_early(warm: Warm, busybox: str) -> None:
    """``dockyard images | head -0``: the command stops quietly with 141, warm as cold."""
    warm.start()
    codes = []
    for cold in (False, True):
        r, w = os.pipe()
        os.close(r)
        try:
            res = warm("images", "--format", "{{.Repository}}", stdout=w, stderr=subprocess.PIPE, cold=cold)
        finally:
            os.close(w)
        assert "Traceback" not in res.stderr and bool(res.served) is not cold
        codes.append(res.returncode)
    assert codes == [141, 141]


def test_the_command_runs_in_a_child_of_the_helper(warm: Warm, busybox: str) -> None:
    server = warm.start()
    assert warm.servers() == [server]
    proc = warm.popen("run", "--rm", "busybox", "sleep", "3")
    line = proc.stderr.readline().decode()  # type: ignore[union-attr]
    m = SERVED.match(line.strip())
    assert m, line
    helper, child = int(m.group(1)), int(m.group(2))
    status = Path(f"/proc/{child}/status").read_text()
    assert helper == server and child != proc.pid
    assert f"PPid:\t{server}\n" in status  # forked by the helper...
    assert str(warm.root).encode() not in Path(f"/proc/{child}/cmdline").read_bytes()  # ...not started afresh
    assert proc.wait(timeout=30) == 0
    assert wait_for(lambda: not _alive(child))


def test_kill_9_of_the_client_kills_the_command(warm: Warm, busybox: str) -> None:
    warm.start()
    proc = warm.popen("run", "--name", "fg", "busybox", "sleep", "60", start_new_session=True)
    line = proc.stderr.readline().decode()  # type: ignore[union-attr]
    child = int(SERVED.match(line.strip()).group(2))  # type: ignore[union-attr]
    wait_for(lambda: warm("ps", "--format", "{{.Names}}").stdout == "fg\n")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    started = time.monotonic()
    wait_for(lambda: not _alive(child), timeout=1.0)
    assert time.monotonic() - started < 1.0
    # as after a cold kill -9 (tests/integration/containers/test_faults.py): the monitor keeps the container
    assert warm("ps", "--format", "{{.Names}} {{.State}}").stdout == "fg running\n"
    assert warm("rm", "-f", "fg").returncode == 0
    assert warm("ps", "-aq").stdout == ""


TRAP = ["busybox", "sh", "-c", "trap 'exit 7' INT; sleep 30 & wait"]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("ignored", [False, True], ids=["sigint-default", "sigint-ignored"])
def test_sigint_to_the_client_reaches_the_command(warm: Warm, busybox: str, ignored: bool) -> None:
    """``ignored``: started as a script's ``cmd &`` is, with SIGINT ignored; the foreground run takes it back
    (--sig-proxy) and a ``kill -INT`` still stops the container, warm as cold (the tutorial demo does this)."""
    warm.start()
    codes = {}
    for cold in (False, True):
        env = warm.env(cold=cold)
        proc = subprocess.Popen([sys.executable, "-m", "dockyard", "run", "--name", "int", *TRAP], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_ignore_sigint if ignored else None)  # fmt: skip
        wait_for(lambda: warm("ps", "--format", "{{.Names}}").stdout == "int\n")
        time.sleep(0.3)  # the container's shell has set its trap
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        codes[cold] = proc.wait(timeout=20)
        assert time.monotonic() - started < 10
        assert warm("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.startswith("int Exited (7)")
        assert warm("rm", "int").returncode == 0
    assert codes == {False: 7, True: 7}


def test_a_command_killed_by_a_signal_ends_its_client_the_same_way(warm: Warm, busybox: str) -> None:
    warm.start()
    for signum in (signal.SIGKILL, signal.SIGTERM):
        proc = warm.popen("run", "--rm", "busybox", "sleep", "30")
        child = int(SERVED.match(proc.stderr.readline().decode().strip()).group(2))  # type: ignore[union-attr]
        os.kill(child, signum)
        assert proc.wait(timeout=10) == -signum
    wait_for(lambda: warm("ps", "-aq").stdout == "" or warm("rm", "-f", *warm("ps", "-aq").stdout.split()))


def test_changed_source_retires_the_helper(warm: Warm) -> None:
    """A dockyard module's mtime changes (its content is left alone, and the mtime restored): the helper answers
    "stale", the command runs cold, the helper exits, and the next commands are served by a new one."""
    import dockyard.timeutil

    server = warm.start()
    path = Path(dockyard.timeutil.__file__)
    st = path.stat()
    try:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        r = warm("ps", "-q")
        assert r.returncode == 0 and "cold (stale:" in r.trace and "timeutil.py changed" in r.trace, r.trace
    finally:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    wait_for(lambda: server not in warm.servers())
    assert warm.start() != server


def test_idle_helper_exits(warm: Warm) -> None:
    r = warm("ps", env={"DOCKYARD_WARM_IDLE": "1"})
    assert "no helper yet" in r.trace
    server = wait_for(lambda: warm.servers())[0]  # type: ignore[index]
    wait_for(lambda: list(warm.dir.glob("warm-*.sock")))
    started = time.monotonic()
    wait_for(lambda: not _alive(server), timeout=10)
    assert time.monotonic() - started < 5
    assert not list(warm.dir.glob("warm-*.sock"))  # it took its socket away


def test_a_second_helper_exits_when_one_holds_the_lock(warm: Warm) -> None:
    server = warm.start()
    proc = subprocess.run([sys.executable, "-m", "dockyard.cli.warm", str(warm.socket())], env=warm.env(),
                          capture_output=True, timeout=30)  # fmt: skip
    assert proc.returncode == 0
    served = warm("ps").served
    assert served and served[0] == server
    assert warm.servers() == [server]


NOBODY = """
import marshal, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
data = marshal.dumps({"v": 1, "argv": ["ps"]})  # were it read, the helper would answer: "decline", no argv0
try:
    s.sendmsg([len(data).to_bytes(4, "little") + data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(16))])
    print(repr(s.recv(100)))
except (BrokenPipeError, ConnectionResetError):  # closed already, or with the request unread
    print("b''")
"""


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_another_users_connection_is_refused(warm: Warm) -> None:
    warm.start()
    sock = warm.socket()
    warm.dir.chmod(0o755)
    sock.chmod(0o666)  # let nobody reach the socket at all: the helper itself must refuse
    try:
        proc = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable,
                               "-c", NOBODY, str(sock)], capture_output=True, text=True, timeout=30)  # fmt: skip
    finally:
        warm.dir.chmod(0o700)
        sock.chmod(0o600)
    assert (proc.returncode, proc.stdout) == (0, "b''\n"), proc.stderr  # closed without a word
    assert warm("ps").served


def test_what_stays_cold(warm: Warm, busybox: str) -> None:
    warm.start()
    # -i reading a terminal stays cold (the child is outside the terminal's job control); from a pipe it is served
    primary, secondary = pty.openpty()
    try:
        r = warm("run", "--rm", "-i", "busybox", "true", stdin=secondary)
    finally:
        os.close(primary)
        os.close(secondary)
    assert (r.returncode, r.trace) == (0, "warm: cold (terminal option -i)\n")
    r = warm("run", "--rm", "-i", "busybox", "cat", input=b"through stdin\n")
    assert r.served and (r.returncode, r.stdout) == (0, "through stdin\n"), r
    r = warm("run", "--rm", "-t", "busybox", "true", stdin=subprocess.DEVNULL)
    assert r.trace == "warm: cold (terminal option -t)\n"
    r = warm("ps", stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert (r.returncode, r.trace) == (0, "warm: cold (descriptor 0 is closed)\n")
    r = warm("ps", env={"DOCKYARD_DEBUG": "1"})
    assert r.trace == "warm: cold (DOCKYARD_DEBUG)\n"
    r = warm("ps", cold=True)
    assert r.trace == ""
    proc = subprocess.run([sys.executable, "-X", "dev", "-m", "dockyard", "ps"], env=warm.env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0 and "warm: cold (interpreter options)" in proc.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_a_client_in_another_namespace_runs_cold(warm: Warm) -> None:
    warm.start()
    proc = subprocess.run(["unshare", "--net", sys.executable, "-m", "dockyard", "ps", "-q"], env=warm.env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0
    assert "warm: cold (decline: the client runs in another net namespace)" in proc.stderr


def test_the_child_takes_on_the_clients_limits_and_cgroup(warm: Warm, busybox: str) -> None:
    """Resource limits, nice value and cgroup are the client's, as a cold process inherits them (and the
    container after it)."""
    import resource

    warm.start()  # started here, outside the test's cgroup
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    cgroup = Path(f"/sys/fs/cgroup/pids/dockyard-warm-test-{os.getpid()}")
    cgroup.mkdir()

    def client() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit // 2, limit))
        os.nice(2)
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    script = "ulimit -n; ulimit -Hn; cut -d' ' -f19 /proc/self/stat"
    try:
        hot = warm("run", "--rm", "busybox", "sh", "-c", script, preexec_fn=client)
        cold = warm("run", "--rm", "busybox", "sh", "-c", script, preexec_fn=client, cold=True)
        assert hot.served and (hot.returncode, hot.stdout) == (cold.returncode, cold.stdout) == (0, cold.stdout)
        assert cold.stdout.split()[-1] == "2"  # the nice value reached the container
        proc = subprocess.Popen([sys.executable, "-m", "dockyard", "run", "--rm", "busybox", "sleep", "2"],
                                env=warm.env(), stderr=subprocess.PIPE, preexec_fn=client)  # fmt: skip
        child = int(SERVED.match(proc.stderr.readline().decode().strip()).group(2))  # type: ignore[union-attr]
        lines = Path(f"/proc/{child}/cgroup").read_text().splitlines()
        assert f"pids:/{cgroup.name}" in [line.split(":", 1)[1] for line in lines]
        assert resource.prlimit(child, resource.RLIMIT_NOFILE) == (limit // 2, limit)
        assert os.getpriority(os.PRIO_PROCESS, child) == 2
        assert proc.wait(timeout=30) == 0
    finally:
        wait_for(lambda: not (cgroup / "cgroup.procs").read_text().strip(), timeout=10)
        cgroup.rmdir()


def test_a_client_beyond_the_helpers_reach_gets_a_new_helper(warm: Warm) -> None:
    """Without CAP_SYS_RESOURCE a helper cannot give a child a higher hard limit than its own: it makes way for
    one started by that client (which can serve lower limits too)."""
    import resource

    status = Path("/proc/self/status").read_text()
    caps = int(next(line for line in status.splitlines() if line.startswith("CapEff:")).split()[1], 16)
    if caps & (1 << 24):
        pytest.skip("with CAP_SYS_RESOURCE the helper raises the limit itself")
    r = warm("ps", preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512)))
    assert "no helper yet" in r.trace
    low = wait_for(lambda: warm.servers())[0]  # type: ignore[index]
    wait_for(lambda: list(warm.dir.glob("warm-*.sock")))
    r = warm("ps")
    assert "cold (stale: the client has a higher RLIMIT_NOFILE limit)" in r.trace, r.trace
    wait_for(lambda: low not in warm.servers())
    high = warm.start()
    r = warm("ps", preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512)))
    assert r.served and r.served[0] == high
