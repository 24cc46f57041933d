"""The warm helper: a process that has imported the command line and the engine, and forks one child per command.

Started in the background by the first ``dockyard`` command that finds none (``python -m dockyard.cli.warm PATH``,
see :mod:`dockyard.cli.warmclient`), it takes a lock beside its socket (a second one exits at once), imports what
commands need — imports only: no database is opened, no thread started, no state root read — and serves the
socket ``PATH`` (mode 0600, in a directory only its user can enter) until nothing connected for two minutes
(``DOCKYARD_WARM_IDLE`` seconds), its socket was replaced, or a dockyard source file it loaded changed (then it
answers "stale" and the next command starts a fresh helper).

For each connection from its own user (``SO_PEERCRED``) it reads the request and the client's descriptors, and
forks. The child takes on the client's process context where the kernel lets it — resource limits, nice value, CPU
affinity, OOM score and cgroups — and declines (the client runs the command itself) where it cannot: other
namespaces or root directory, credentials, capabilities, security label. It then puts the client's standard
descriptors on 0, 1 and 2, its working directory (passed as a descriptor), umask, environment, ``sys.argv``,
ignored and blocked signals in place, sends its PID and, on the client's "go", runs the command with
:func:`dockyard.cli.main.run` — the code a fresh process runs — and sends the exit status before it exits. If
the client goes away meanwhile (``kill -9``), the child kills its process group: the command dies as the cold
process would have. The helper reaps its children and tells a client still waiting how its child ended: by a
signal (the client dies of the same signal) or by an ``os._exit`` of the command's own (its status).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

__all__ = ["COLD_PACKAGES", "IDLE_SECONDS", "PRELOAD", "main", "preload"]

IDLE_SECONDS = 120.0
REQUEST_TIMEOUT = 2.0  # for a connected client to send its request (it sends it at once)
# Modules commands import inside functions, loaded up front (what is missing here is skipped).
PRELOAD = (
    "click", "httpx", "isal.isal_zlib", "isal.igzip", "zstandard", "hashlib", "json", "shutil", "subprocess",
    "tarfile", "tempfile", "gzip", "zlib", "bz2", "lzma", "sqlite3", "ssl", "ctypes", "concurrent.futures",
    "email.message", "email.utils", "traceback", "fcntl", "resource", "threading", "select",
)  # fmt: skip
# Not loaded: what serves (the API and registry servers, aiohttp) runs cold; this module is the server.
COLD_PACKAGES = ("dockyard.api", "dockyard.registry.server", "dockyard.cli.warm")


# -- start -----------------------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    """Serve the socket ``argv[0]``; 0 when done (or another helper holds the lock)."""
    os.closerange(3, 1 << 16)  # whatever the command that started us had open beyond stdio
    if len(argv) != 1:
        return 2
    path = argv[0]
    directory = os.path.dirname(path)
    from dockyard.cli import warmclient

    uid = os.geteuid()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return 1
    if not warmclient.owned_private_dir(directory, uid):
        return 1
    import fcntl

    lock = os.open(path.removesuffix(".sock") + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another helper is starting or serving
    os.chdir("/")
    pkg = warmclient.package_dir()
    key = warmclient.server_key(pkg, os.environ)
    if warmclient.socket_path(directory, key) != path:
        return 1  # started for another configuration: it would serve nobody
    if not sys.flags.safe_path and sys.path:
        del sys.path[0]  # the starting command's directory; each child puts its client's back
    preload()
    import dockyard.cli.warmchild  # noqa: F401  (what every child runs: loaded once, here)

    server = _Server(path, lock, key, pkg, uid)
    import gc

    gc.collect()
    gc.freeze()  # what the children share stays shared: the collector does not touch it
    return server.serve()


def _modules(path: list[str], prefix: str) -> list[str]:
    import pkgutil

    names: list[str] = []
    for info in pkgutil.iter_modules(path, prefix):
        if info.name.endswith(".__main__") or info.name.startswith(COLD_PACKAGES):
            continue
        names.append(info.name)
        if info.ispkg:
            sub = os.path.join(path[0], info.name.rpartition(".")[2])
            names += _modules([sub], info.name + ".")
    return names


def preload() -> list[str]:
    """Import what commands need (and install the dataclass compile cache first); the modules that failed."""
    import importlib

    import dockyard
    from dockyard.cli import dcache

    dcache.install()
    failed: list[str] = []
    for name in [*PRELOAD, "dockyard.cli.app", *_modules(list(dockyard.__path__), "dockyard.")]:
        try:
            importlib.import_module(name)
        except Exception:
            failed.append(name)
    dcache.flush()  # what was compiled is written once, here, not again by every child
    return failed


def _stamps() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every dockyard source file loaded, and of the import path's directories (a package
    installed or upgraded changes them)."""
    files = [getattr(m, "__file__", None) for n, m in list(sys.modules.items()) if n.startswith("dockyard")]
    files.append(getattr(sys.modules.get("__main__"), "__file__", None))
    files += [p for p in sys.path if p and os.path.isdir(p)]
    stamps: dict[str, tuple[int, int]] = {}
    for f in files:
        if f and f not in stamps:
            try:
                st = os.stat(f)
            except OSError:
                continue
            stamps[f] = (st.st_mtime_ns, st.st_size)
    return stamps


# -- the server ------------------------------------------------------------------------------------------------------
class _Server:
    def __init__(self, path: str, lock: int, key: str, pkg: str, uid: int) -> None:
        import socket

        from dockyard.cli import warmcontext

        self.path, self.lock, self.key, self.pkg, self.uid = path, lock, key, pkg, uid
        self.pid = os.getpid()
        self.idle = _idle_seconds()
        self.context = warmcontext.snapshot()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = os.path.join(os.path.dirname(path), f".{self.pid}.tmp")  # short: sun_path holds 107 bytes
        self.listener.bind(tmp)
        os.chmod(tmp, 0o600)
        self.listener.listen(128)
        os.rename(tmp, path)
        st = os.stat(path)
        self.inode = (st.st_dev, st.st_ino)
        self.listener.setblocking(False)
        self.stamps = _stamps()
        self.children: dict[int, socket.socket] = {}
        self.serving = True
        self.stop = False

    def serve(self) -> int:
        import select
        import signal
        import time

        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake = (wake_r, wake_w)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, _nothing)
        signal.signal(signal.SIGTERM, self._terminate)
        signal.signal(signal.SIGINT, self._terminate)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        last = time.monotonic()
        while not self.stop:
            self._reap()
            if self.serving and (not self._ours() or time.monotonic() - last >= self.idle):
                self.give_up()
            if not self.serving and not self.children:
                break
            timeout = min(5.0, max(0.0, last + self.idle - time.monotonic())) if self.serving else 5.0
            readable: list[Any] = [wake_r, self.listener] if self.serving else [wake_r]
            try:
                ready, _, _ = select.select(readable, [], [], timeout)
            except InterruptedError:
                continue
            if wake_r in ready:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            if self.serving and self.listener in ready:
                last = time.monotonic()
                self._accept_all()
        self.give_up()
        return 0

    def _terminate(self, signum: int, frame: object) -> None:
        if os.getpid() == self.pid:  # not a child between its fork and its own handlers
            self.stop = True

    def _ours(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.inode

    def give_up(self) -> None:
        """Stop serving: the socket path (if still ours) and the lock go, so that a new helper can start; the
        children still running are waited for (to report how they end)."""
        if not self.serving:
            return
        self.serving = False
        if self._ours():
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self.listener.close()
        os.close(self.lock)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            # How the child ended, for a client still waiting: it died of a signal, or it ended by an os._exit()
            # of its own (a command's "forcefully exiting"); after its own report the client is gone already.
            if os.WIFSIGNALED(status) or os.WIFEXITED(status):
                from dockyard.cli.warmclient import encode

                end = ("signal", os.WTERMSIG(status)) if os.WIFSIGNALED(status) else ("exit", os.WEXITSTATUS(status))
                try:
                    conn.setblocking(False)
                    conn.send(encode(end))
                except OSError:
                    pass
            conn.close()

    def _accept_all(self) -> None:
        while self.serving:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                self._handle(conn)
            except Exception:
                conn.close()

    def _handle(self, conn: socket.socket) -> None:
        import socket
        import struct

        from dockyard.cli.warmclient import encode

        conn.settimeout(REQUEST_TIMEOUT)
        peer, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if uid != self.uid:
            conn.close()
            return
        try:
            request, fds = _receive_request(conn)
        except (OSError, ValueError, EOFError, TypeError):
            conn.close()
            return
        try:
            from dockyard.cli import warmcontext

            stale = self._stale(request) or warmcontext.beyond_reach(self.context, peer)
            if stale:
                self.give_up()
                conn.sendall(encode(("stale", stale)))
                conn.close()
                return
            problem = _malformed(request, len(fds))
            if problem:
                conn.sendall(encode(("decline", problem)))
                conn.close()
                return
            child = os.fork()
            if child == 0:
                from dockyard.cli.warmchild import become_client

                become_client(self, conn, request, fds, peer)  # never returns
            self.children[child] = conn
        finally:
            for fd in fds:
                os.close(fd)

    def _stale(self, request: dict[str, object]) -> str | None:
        if request.get("key") != self.key or request.get("exe") != sys.executable or request.get("pkg") != self.pkg:
            return "another interpreter or dockyard"
        for path, stamp in self.stamps.items():
            try:
                st = os.stat(path)
            except OSError:
                return f"{path} is gone"
            if (st.st_mtime_ns, st.st_size) != stamp:
                return f"{path} changed"
        return None

    def close_in_child(self) -> None:
        os.close(self.wake[0])
        os.close(self.wake[1])
        if self.serving:
            self.listener.close()
            os.close(self.lock)
        for conn in self.children.values():
            conn.close()
        self.children.clear()


def _nothing(signum: int, frame: object) -> None:
    """SIGCHLD: the wakeup descriptor wakes the loop, which reaps."""


def _idle_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("DOCKYARD_WARM_IDLE", "") or IDLE_SECONDS))
    except ValueError:
        return IDLE_SECONDS


def _receive_request(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """The client's request and its descriptors (stdin, stdout, stderr, working directory)."""
    import marshal
    import socket

    data, ancillary, flags, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(8 * 4), socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += [int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True) for i in range(0, usable, 4)]
    try:
        if flags & socket.MSG_CTRUNC or len(data) < 4:
            raise ValueError("truncated request")
        size = int.from_bytes(data[:4], "little")
        body = bytearray(data[4:])
        while len(body) < size:
            chunk = conn.recv(min(1 << 20, size - len(body)))
            if not chunk:
                raise EOFError("request cut short")
            body += chunk
        request = marshal.loads(bytes(body))
        if not isinstance(request, dict):
            raise ValueError("not a request")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return request, fds


def _malformed(request: dict[str, object], nfds: int) -> str | None:
    kinds = {"argv": list, "argv0": str, "orig_argv": list, "env": dict, "umask": int, "ignored": list,
             "blocked": list}  # fmt: skip
    for name, kind in kinds.items():
        if not isinstance(request.get(name), kind):
            return f"a request without {name}"
    if nfds != 4:
        return "a request without its 4 descriptors"
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
