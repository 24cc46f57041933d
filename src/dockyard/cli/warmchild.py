"""The warm helper's child: it becomes the client's process and runs its command (see :mod:`dockyard.cli.warm`).

:func:`become_client` takes on the client's process context where the kernel lets it (``cli/warmcontext.py``),
puts the client's standard descriptors on 0, 1 and 2, its working directory, umask, environment, ``sys.argv``,
ignored and blocked signals in place, sends its PID and, on the client's "go", runs the command with
:func:`dockyard.cli.main.run` — the code a fresh process runs — and sends the exit status before it exits. A
thread watches the connection: if the client goes away before that (``kill -9``), the child kills its process
group, and the command dies as the cold process would have.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import Any, Protocol

    class Server(Protocol):
        """What the child needs of the helper it was forked from."""

        context: Any

        def close_in_child(self) -> None: ...


__all__ = ["GO_TIMEOUT", "become_client"]

GO_TIMEOUT = 10.0  # for the client to say go after the child's PID (it says it at once)


class _Conn:
    """The child's end of the connection: the messages it sends, and whether the exit status went out."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reported = False

    def send(self, message: object) -> None:
        from dockyard.cli.warmclient import encode

        self.sock.sendall(encode(message))

    def report(self, code: int) -> None:
        self.reported = True
        try:
            self.send(("exit", code))
        except OSError:
            pass


def become_client(server: Server, sock: socket.socket, request: dict[str, object], fds: list[int], peer: int) -> None:
    """Become the client's process and run its command; never returns."""
    conn = _Conn(sock)
    try:
        _reset_signals()
        server.close_in_child()
        from dockyard.cli import warmcontext
        from dockyard.cli.warmclient import receive

        reason = warmcontext.adopt(server.context, peer)
        if reason is None:
            os.setpgid(0, 0)  # the command and what it starts: a group, killed together if the client is
            _become(request, fds)
            fds.clear()
            conn.send(("pid", os.getpid(), os.getppid()))
            sock.settimeout(GO_TIMEOUT)
            go = receive(sock)
            if go != "go":
                os._exit(0)  # the client gave up waiting (and runs the command itself): it never started here
    except BaseException as exc:
        reason = f"the helper could not take on the client: {exc}"
    if reason is not None:
        try:
            conn.send(("decline", reason))
        finally:
            os._exit(0)
    sock.settimeout(None)
    _run(conn)


def _reset_signals() -> None:
    """What a fresh interpreter has (the client's ignored and blocked signals are applied later)."""
    import signal

    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _become(request: dict[str, object], fds: list[int]) -> None:
    """The client's descriptors, directory, umask, environment, command line, stdio objects and signals."""
    import signal
    import time

    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    os.umask(int(request["umask"]))  # type: ignore[call-overload]
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()  # the C library read TZ once, in the helper
    argv = request["argv"]
    assert isinstance(argv, list)
    sys.argv = [str(request["argv0"]), *argv]
    sys.orig_argv = list(request["orig_argv"])  # type: ignore[call-overload]
    path0 = request.get("path0")
    if isinstance(path0, str) and not sys.flags.safe_path:
        sys.path.insert(0, path0)
    _stdio()
    for signum in request["ignored"]:  # type: ignore[attr-defined]
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(signum, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
    signal.pthread_sigmask(signal.SIG_SETMASK, request["blocked"])  # type: ignore[arg-type]


def _stdio() -> None:
    """New ``sys.stdin``/``stdout``/``stderr`` on descriptors 0-2, made as the interpreter makes them at start
    (the encodings are the helper's: the locale and ``PYTHONIOENCODING`` are part of its key)."""
    import io

    buffered = not getattr(sys.__stdout__, "write_through", False)  # python -u, PYTHONUNBUFFERED: write through
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        old = getattr(sys, f"__{name}__")
        write = fd != 0
        buffering = -1 if buffered or not write else 0
        buf: Any = open(fd, "wb" if write else "rb", buffering, closefd=False)  # noqa: SIM115
        raw = buf.raw if buffering else buf
        raw.name = f"<{name}>"
        line_buffering = buffered and (raw.isatty() or fd == 2)
        stream = io.TextIOWrapper(buf, old.encoding, old.errors, "\n", line_buffering, not buffered)
        stream.mode = "w" if write else "r"  # type: ignore[misc]
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _run(conn: _Conn) -> None:
    """Run the command as ``python -m dockyard`` would, and report how it ended; never returns."""
    import threading

    threading.Thread(target=_watch, args=(conn,), name="dockyard-warm-watch", daemon=True).start()
    try:
        from dockyard.cli.main import run

        try:
            run(None, end=_ender(conn))
            code = 0
        except SystemExit as exc:
            code = _system_exit_code(exc)
        except KeyboardInterrupt:
            sys.excepthook(*sys.exc_info())
            _finish_interpreter()
            _die_of(2)
            code = 130
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        code = _finish_interpreter() or code
    except BaseException as exc:
        try:
            os.write(2, f"dockyard: warm helper: {exc}\n".encode(errors="backslashreplace"))
        except OSError:
            pass
        code = 125
    conn.report(code)
    os._exit(code)


def _ender(conn: _Conn) -> Callable[[int], None]:
    def end(code: int) -> None:
        conn.report(code)
        os._exit(code)

    return end


def _system_exit_code(exc: SystemExit) -> int:
    """What the interpreter makes of an uncaught ``SystemExit``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _finish_interpreter() -> int:
    """The parts of the interpreter's exit that matter (``cli.main._exit_now`` does the same): non-daemon
    threads waited for, ``atexit`` functions, the database closed, stdout and stderr flushed (120 if that fails,
    as Python exits)."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    db = sys.modules.get("dockyard.store.db")
    if db is not None:
        db.close_all()
    failed = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            failed = 120
    return failed


def _die_of(signum: int) -> None:
    import signal

    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _watch(conn: _Conn) -> None:
    """The client went away before the command finished (``kill -9``): the command goes too, with what it
    started in the foreground, as when a terminal kills a cold process's group."""
    import signal

    try:
        while conn.sock.recv(4096):
            pass
    except OSError:
        pass
    if not conn.reported:
        os.killpg(0, signal.SIGKILL)
