"""The warm helper's client: which command lines it hands over, where it looks for the helper, what it sends.

The helper itself, with real commands, is tested in ``tests/integration/cli/test_warm.py``."""

from __future__ import annotations

import marshal
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.cli import warm, warmclient

COLD = [
    ([], "no arguments"),
    (["--help"], "served fast already"),
    (["--version"], "served fast already"),
    (["-v"], "served fast already"),
    (["run", "-it", "busybox", "sh"], "terminal option -it"),
    (["run", "-i", "busybox", "cat"], "terminal option -i"),
    (["run", "--tty", "busybox"], "terminal option --tty"),
    (["run", "--interactive=true", "busybox"], "terminal option --interactive=true"),
    (["exec", "-ti", "c1", "sh"], "terminal option -ti"),
    (["run", "--rm", "busybox", "ls", "-lt"], "terminal option -lt"),  # conservative: the container's own option
    (["logs", "-t", "c1"], "terminal option -t"),
    (["login", "registry.example"], "verb login"),
    (["attach", "c1"], "verb attach"),
    (["container", "attach", "c1"], "verb container attach"),
    (["--root", "/tmp/r", "system", "service"], "verb system"),
    (["--log-level", "debug", "registry", "serve"], "verb registry"),
    (["-l", "info", "system", "df"], "verb system"),
]
WARM = [
    ["ps"],
    ["ps", "-a"],
    ["run", "--rm", "busybox", "sh", "-c", "echo hi"],
    ["run", "-d", "-p", "8080:80", "busybox", "httpd"],
    ["--root", "/tmp/root-with-i-and-t", "images"],  # a global option's value is no verb and no option
    ["container", "ls", "-a"],
    ["logs", "--tail", "5", "c1"],
    ["rm", "-f", "attach"],  # a container named attach
    ["--help", "x"],
    ["build", "-f", "Dockerfile", "."],
]


@pytest.mark.parametrize(("args", "reason"), COLD)
def test_command_lines_that_stay_cold(args: list[str], reason: str) -> None:
    assert warmclient.cold_reason(args) == reason


@pytest.mark.parametrize("args", WARM)
def test_command_lines_handed_over(args: list[str]) -> None:
    assert warmclient.cold_reason(args) is None


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["run", "-i", "busybox", "cat"], None),
        (["run", "--interactive=true", "busybox"], None),
        (["start", "-ai", "c1"], None),
        (["exec", "-i", "c1", "sh"], None),
        (["run", "-it", "busybox", "sh"], "terminal option -it"),
        (["run", "-i", "-t", "busybox"], "terminal option -t"),
        (["logs", "-t", "c1"], "terminal option -t"),
    ],
)
def test_standard_input_that_is_no_terminal_lets_i_through(args: list[str], reason: str | None) -> None:
    """-i reads standard input: from a pipe or a file the helper's child can do that; a terminal (a TTY) cannot."""
    assert warmclient.cold_reason(args, stdin_is_tty=False) == reason
    assert warmclient.cold_reason(args) is not None  # the default: standard input may be a terminal


@pytest.mark.parametrize(("value", "off"), [("0", True), ("off", True), ("FALSE", True), (" no ", True),
                                            ("1", False), ("", False), ("on", False)])  # fmt: skip
def test_disabled(value: str, off: bool) -> None:
    assert warmclient.disabled({"DOCKYARD_WARM": value}) is off
    assert warmclient.disabled({}) is False


def test_socket_directory() -> None:
    assert warmclient.socket_dir({}, 0) == "/run/dockyard"
    assert warmclient.socket_dir({"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000) == "/run/user/1000/dockyard"
    assert warmclient.socket_dir({"XDG_RUNTIME_DIR": "relative"}, 1000) == "/tmp/dockyard-warm-1000"
    assert warmclient.socket_dir({}, 1000) == "/tmp/dockyard-warm-1000"
    assert warmclient.socket_dir({"DOCKYARD_WARM_DIR": "/tmp/x"}, 0) == "/tmp/x"
    assert warmclient.socket_path("/run/dockyard", "abc") == "/run/dockyard/warm-abc.sock"


def test_private_directory_rules(tmp_path: Path) -> None:
    d = tmp_path / "w"
    assert warmclient.owned_private_dir(str(d), os.geteuid()) is None
    d.mkdir(mode=0o700)
    assert warmclient.owned_private_dir(str(d), os.geteuid()) is True
    d.chmod(0o777)
    assert warmclient.owned_private_dir(str(d), os.geteuid()) is False  # anyone could plant a socket there
    d.chmod(0o755)
    assert warmclient.owned_private_dir(str(d), os.geteuid() + 1) is False  # someone else's
    (tmp_path / "link").symlink_to(d)
    assert warmclient.owned_private_dir(str(tmp_path / "link"), os.geteuid()) is False


def test_server_key_follows_the_interpreter_configuration() -> None:
    pkg = warmclient.package_dir()
    base = {"HOME": "/root", "PATH": "/bin"}
    key = warmclient.server_key(pkg, base)
    assert len(key) == 12 and int(key, 16) >= 0
    assert warmclient.server_key(pkg, {**base, "DOCKYARD_ROOT": "/x", "HOME": "/tmp"}) == key  # not the command's
    assert warmclient.server_key(pkg, {**base, "PYTHONHASHSEED": "0"}) != key
    assert warmclient.server_key(pkg, {**base, "LC_ALL": "C"}) != key
    assert warmclient.server_key("/elsewhere/dockyard", base) != key


def test_interpreter_options(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        (["/py", "-m", "dockyard", "ps"], ["/x/dockyard/__main__.py", "ps"], []),
        (["/py", "/usr/local/bin/dockyard", "ps"], ["/usr/local/bin/dockyard", "ps"], []),  # the console script
        (["/py", "-X", "dev", "-m", "dockyard", "ps"], ["/x/dockyard/__main__.py", "ps"], ["-X", "dev"]),
        (["/py", "-I", "-mdockyard", "ps"], ["/x/dockyard/__main__.py", "ps"], ["-I"]),
        (["/py", "-c", "code"], ["-c"], ["-c"]),
    ]
    for orig, argv, options in cases:
        monkeypatch.setattr(sys, "orig_argv", orig)
        monkeypatch.setattr(sys, "argv", argv)
        assert warmclient.interpreter_options() == options


def test_messages_are_length_prefixed_marshal() -> None:
    data = warmclient.encode(("exit", 3))
    assert warmclient.decode_length(data[:4]) == len(data) - 4
    assert marshal.loads(data[4:]) == ("exit", 3)


def test_request_with_descriptors_as_the_helper_reads_it(tmp_path: Path) -> None:
    """What the client sends is what the helper's reader gets: the fields, and the very same open files."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    files = [os.open(tmp_path / name, os.O_RDWR | os.O_CREAT) for name in ("in", "out", "err")]
    cwd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    old = os.umask(0o027)
    try:
        message = warmclient.request(["run", "--rm", "büsybox"], "/pkg", "k")
        message["env"] = {**message["env"], "ODD": "\udcff"}  # type: ignore[dict-item]  # not UTF-8: as os.environ has it
        warmclient.send_request(a, message, [*files, cwd])
        got, fds = warm._receive_request(b)
    finally:
        os.umask(old)
        for fd in [*files, cwd]:
            os.close(fd)
        a.close()
        b.close()
    try:
        assert got == message
        assert got["argv"] == ["run", "--rm", "büsybox"] and got["umask"] == 0o027 and got["v"] == warmclient.PROTOCOL
        assert got["env"]["ODD"] == "\udcff"  # type: ignore[index]
        assert signal.SIGPIPE in got["ignored"]  # type: ignore[operator]  # as Python sets it at start
        assert (got["exe"], got["pkg"], got["key"]) == (sys.executable, "/pkg", "k")
        assert [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in fds] == [
            (os.stat(p).st_dev, os.stat(p).st_ino)
            for p in (tmp_path / "in", tmp_path / "out", tmp_path / "err", tmp_path)
        ]
    finally:
        for fd in fds:
            os.close(fd)


def test_a_request_cut_short_is_refused_and_its_descriptors_closed() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r, w = os.pipe()
    data = warmclient.encode({"argv": ["ps"]})
    a.sendmsg([data[:-3]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, r.to_bytes(4, sys.byteorder))])
    a.close()
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(EOFError):
        warm._receive_request(b)
    b.close()
    assert set(os.listdir("/proc/self/fd")) <= before  # the descriptor that came with it is closed again
    os.close(r)
    os.close(w)


PRELOAD_STATE = """
import functools, gc, json, logging, os, sys, tempfile, threading
fds_before = sorted(os.listdir("/proc/self/fd"))
from dockyard.cli import warm
failed = warm.preload()
handlers = [n for n, lg in logging.Logger.manager.loggerDict.items() if getattr(lg, "handlers", None)]
caches = [f"{f.__module__}.{f.__qualname__}" for f in gc.get_objects()
          if isinstance(f, functools._lru_cache_wrapper) and f.cache_info().currsize
          and not f.__module__.startswith("typing")]
print(json.dumps({
    "failed": failed, "threads": threading.active_count(), "root_handlers": len(logging.root.handlers),
    "handlers": handlers, "tempdir": tempfile.tempdir, "caches": caches,
    "new_fds": [os.readlink(f"/proc/self/fd/{fd}") for fd in sorted(os.listdir("/proc/self/fd"))
                if fd not in fds_before and os.path.exists(f"/proc/self/fd/{fd}")],
    "modules": len(sys.modules), "aiohttp": "aiohttp" in sys.modules,
    "served": [m for m in ("dockyard.api", "dockyard.registry.server") if m in sys.modules],
    "engine": "dockyard.engine.containers" in sys.modules and "dockyard.cli.commands.container_run" in sys.modules,
}))
"""


def test_the_helper_only_imports(tmp_path: Path) -> None:
    """What the helper loads before it forks leaves nothing a child would wrongly share: no thread, no log handler,
    no filled cache of the engine's (host facts, boot id...), no open file but the dataclass cache."""
    import json

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(PRELOAD_STATE)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert state["failed"] == []
    assert state["engine"] and state["modules"] > 300
    assert (state["threads"], state["root_handlers"], state["handlers"], state["tempdir"]) == (1, 0, [], None)
    assert state["caches"] == []
    assert all(path.endswith(".marshal") for path in state["new_fds"]), state["new_fds"]
    assert state["served"] == [] and not state["aiohttp"]
