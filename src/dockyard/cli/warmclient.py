"""The client side of the warm helper: hand the command line to a process that has imported the CLI already.

A short command costs mostly Python's start and imports (~65 ms of a ``run --rm``). The warm helper
(:mod:`dockyard.cli.warm`) is a process of the same user that has imported the command line and the engine once,
and forks one child per command; :func:`handoff` gives it this process's command line, environment, working
directory, umask, signal dispositions and standard file descriptors, and the child runs the command exactly as this
process would have, writing to the same descriptors. This process waits for the child's exit status and exits
with it; signals it receives meanwhile (Ctrl-C, ``kill``) are passed on to the child, and if this process is
killed (``kill -9``) the child is killed too. The caller sees one ``dockyard`` process, as before.

:func:`handoff` returns the exit code, or ``None`` — run the command here ("cold") — whenever anything is
unusual: turned off (``DOCKYARD_WARM=0``), debugging or profiling, a command that uses a terminal (``-t``,
``-i`` reading one, ``attach``, ``login``) or serves (``system``, ``registry``), a closed standard descriptor,
interpreter options on the command line (``python -X dev``), no helper running yet (one is started in the
background: the next command is warm), or the helper declining (the sources changed since it started, or this
process runs in a context it cannot take on: another namespace, other credentials). Declining is always safe: the
command has not started.

Only ``os``, ``sys``, ``marshal`` and the C parts of ``socket`` and ``signal`` are imported (the Python modules
build enums of every constant at import: ~10 ms for ``socket``), and nothing of dockyard but the package.
``DOCKYARD_WARM_TRACE=1`` prints one line to stderr saying which way the command went.
"""

from __future__ import annotations

import _signal
import _socket
import marshal
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "COLD_VERBS",
    "FORWARDED_SIGNALS",
    "PROTOCOL",
    "cold_reason",
    "command_words",
    "decode_length",
    "disabled",
    "encode",
    "handoff",
    "interpreter_options",
    "owned_private_dir",
    "package_dir",
    "receive",
    "request",
    "send_request",
    "server_key",
    "socket_dir",
    "socket_path",
]

PROTOCOL = 1
COLD_VERBS = frozenset({"login", "attach", "system", "registry"})  # a terminal, or a server: these stay cold
_COLD_SUBVERBS = {"container": frozenset({"attach"})}
_TTY_OPTIONS = frozenset({"-t", "--tty"})
_STDIN_OPTIONS = frozenset({"-i", "--interactive"})
_GLOBAL_WITH_VALUE = frozenset({"--root", "--log-level", "-l"})
_OFF = frozenset({"0", "off", "false", "no"})
FORWARDED_SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGWINCH,
                     _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGCONT)  # fmt: skip
HANDSHAKE_TIMEOUT = 5.0  # seconds for the helper to fork and answer; then the command runs here (it never started)


def disabled(env: os._Environ[str] | dict[str, str]) -> bool:
    """``DOCKYARD_WARM`` says no (``0``, ``off``, ``false``, ``no``)."""
    return env.get("DOCKYARD_WARM", "").strip().lower() in _OFF


def cold_reason(args: list[str], stdin_is_tty: bool = True) -> str | None:
    """Why this command line must run here, or ``None`` when the helper may run it.

    Conservative: any ``-t`` (or a short option cluster holding the letter, ``-it``, ``-lt``) anywhere on the line,
    also in the container's command, keeps it cold, and so does ``-i`` when standard input is a terminal: the
    helper's child belongs to the helper's session, outside the terminal's job control, so a command sent to the
    background would go on reading the terminal the shell reads, where a cold one is stopped (SIGTTIN). ``-i``
    with a pipe or a file on standard input (``echo x | dockyard run -i ...``) is served like any other command.
    The verbs that use a terminal or serve stay cold."""
    if not args:
        return "no arguments"
    if args in (["--help"], ["-h"], ["--version"], ["-v"]):
        return "served fast already"
    for arg in args:
        name = arg.partition("=")[0]
        cluster = len(arg) > 1 and arg[0] == "-" and arg[1:].isalpha() and arg.isascii()
        if name in _TTY_OPTIONS or (cluster and "t" in arg):
            return f"terminal option {arg}"
        if stdin_is_tty and (name in _STDIN_OPTIONS or (cluster and "i" in arg)):
            return f"terminal option {arg}"
    words = command_words(args)
    if words and words[0] in COLD_VERBS:
        return f"verb {words[0]}"
    if len(words) > 1 and words[1] in _COLD_SUBVERBS.get(words[0], ()):
        return f"verb {words[0]} {words[1]}"
    return None


def command_words(args: list[str]) -> list[str]:
    """The verb and the word after it (a group's subcommand), past the global options."""
    words: list[str] = []
    i = 0
    while i < len(args) and len(words) < 2:
        arg = args[i]
        if arg.startswith("-"):
            if not words and arg in _GLOBAL_WITH_VALUE:
                i += 1  # its value
            if words:
                break  # the subcommand's options: no second word to find
        else:
            words.append(arg)
        i += 1
    return words


def interpreter_options() -> list[str]:
    """The interpreter's command-line options (``python -X dev -m dockyard`` -> ``["-X", "dev"]``): the helper
    is started without them, so a process that has any runs cold."""
    extra = len(sys.orig_argv) - len(sys.argv)
    options = sys.orig_argv[1:extra]
    if options[-1:] == ["-m"]:
        options = options[:-1]
    return options


def _fnv64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def server_key(pkg: str, env: os._Environ[str] | dict[str, str]) -> str:
    """What a helper must share with the processes it serves, hashed (it names the socket): the interpreter, the
    dockyard package and the import path, and the environment variables that configure the interpreter at start
    (``PYTHON*``; the locale's, which fix the encodings). Two installs, or two such configurations, each get a
    helper of their own instead of replacing each other's."""
    path = sys.path if sys.flags.safe_path else sys.path[1:]  # [0]: the script's directory or the working one
    config = sorted((k, v) for k, v in env.items() if k.startswith("PYTHON") or k in ("LC_ALL", "LC_CTYPE", "LANG"))
    return f"{_fnv64(marshal.dumps((PROTOCOL, sys.executable, pkg, path, config))):016x}"[:12]


def socket_dir(env: os._Environ[str] | dict[str, str], uid: int) -> str:
    """``DOCKYARD_WARM_DIR``; else ``/run/dockyard`` for root, ``$XDG_RUNTIME_DIR/dockyard`` or
    ``/tmp/dockyard-warm-<uid>`` for other users."""
    if env.get("DOCKYARD_WARM_DIR"):
        return env["DOCKYARD_WARM_DIR"]
    if uid == 0:
        return "/run/dockyard"
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "dockyard")
    return f"/tmp/dockyard-warm-{uid}"


def socket_path(directory: str, key: str) -> str:
    return os.path.join(directory, f"warm-{key}.sock")


def package_dir() -> str:
    """The directory of the dockyard package this process imported."""
    return os.path.dirname(os.path.abspath(sys.modules["dockyard"].__file__ or ""))


def request(args: list[str], pkg: str, key: str) -> dict[str, object]:
    """What the child needs to become this process (the descriptors travel beside it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    ignored = [n for n in _signal.valid_signals() if n < _signal.NSIG and _signal.getsignal(n) == _signal.SIG_IGN]
    return {
        "v": PROTOCOL,
        "key": key,
        "argv": list(args),
        "argv0": sys.argv[0],
        "orig_argv": list(sys.orig_argv),
        "path0": None if sys.flags.safe_path or not sys.path else sys.path[0],
        "env": dict(os.environ),
        "umask": mask,
        "exe": sys.executable,
        "pkg": pkg,
        "ignored": ignored,
        "blocked": sorted(_signal.pthread_sigmask(_signal.SIG_BLOCK, [])),
    }


def encode(message: Any) -> bytes:
    """One message on the connection: its length (4 bytes, little-endian), then ``marshal`` data."""
    data = marshal.dumps(message)
    return len(data).to_bytes(4, "little") + data


def send_request(sock: _socket.socket, message: dict[str, object], fds: list[int]) -> None:
    """The request and the descriptors (stdin, stdout, stderr, working directory), in one ``sendmsg``."""
    raw = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
    sock.sendmsg([encode(message)], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, raw)])


def decode_length(head: bytes) -> int:
    return int.from_bytes(head, "little")


def _recv_exact(sock: _socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(sock: _socket.socket) -> object:
    """The next message, or ``None`` when the connection ended."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    body = _recv_exact(sock, decode_length(head))
    return None if body is None else marshal.loads(body)


def _trace(env: os._Environ[str], text: str) -> None:
    if env.get("DOCKYARD_WARM_TRACE"):
        os.write(2, f"warm: {text}\n".encode())


def owned_private_dir(directory: str, uid: int) -> bool | None:
    """``True``: a directory of this user that nobody else may write; ``None``: missing; ``False``: not safe."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    return (st.st_mode & 0o170000) == 0o040000 and st.st_uid == uid and not st.st_mode & 0o022


def spawn_server(path: str) -> None:
    """Start a helper for ``path`` in the background, in a session of its own, with /dev/null for stdio and
    default signal dispositions (it closes whatever else it inherited as it starts)."""
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
    ]
    reset = [n for n in _signal.valid_signals() if n not in (_signal.SIGKILL, _signal.SIGSTOP) and n < _signal.NSIG]
    try:
        os.posix_spawn(sys.executable, [sys.executable, "-m", "dockyard.cli.warm", path], os.environ,
                       file_actions=actions, setsid=True, setsigdef=reset, setsigmask=[])  # fmt: skip
    except OSError:
        pass


def handoff(args: list[str]) -> int | None:
    """Run the command line ``args`` in the warm helper: its exit code, or ``None`` (run it here)."""
    env = os.environ
    reason = _cold(args, env)
    if reason is not None:
        if reason:
            _trace(env, f"cold ({reason})")
        return None
    uid = os.geteuid()
    directory = socket_dir(env, uid)
    pkg = package_dir()
    key = server_key(pkg, env)
    path = socket_path(directory, key)
    safe = owned_private_dir(directory, uid)
    if not safe:
        if safe is None:
            spawn_server(path)
        _trace(env, f"cold ({'no helper yet' if safe is None else f'{directory} is not a private directory'})")
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        return _exchange(sock, path, args, pkg, key, uid, env)
    finally:
        sock.close()


def _cold(args: list[str], env: os._Environ[str]) -> str | None:
    """A reason to run here ("" for the reasons not worth a trace line), or ``None``."""
    if disabled(env):
        return ""
    if env.get("DOCKYARD_DEBUG"):
        return "DOCKYARD_DEBUG"
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return "a profiler or tracer is active"
    reason = cold_reason(args, stdin_is_tty=os.isatty(0))
    if reason is not None:
        return "" if reason in ("no arguments", "served fast already") else reason
    if interpreter_options():
        return "interpreter options"
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return f"descriptor {fd} is closed"
    return None


def _exchange(
    sock: _socket.socket, path: str, args: list[str], pkg: str, key: str, uid: int, env: os._Environ[str]
) -> int | None:
    sock.settimeout(HANDSHAKE_TIMEOUT)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        spawn_server(path)
        _trace(env, "cold (no helper yet)")
        return None
    except OSError as exc:
        _trace(env, f"cold (connect: {exc})")
        return None
    try:
        cred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        if int.from_bytes(cred[4:8], sys.byteorder) != uid:
            _trace(env, "cold (the helper's socket belongs to another user)")
            return None
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the directory itself, not its name
        try:
            send_request(sock, request(args, pkg, key), [0, 1, 2, cwd])
        finally:
            os.close(cwd)
        answer = receive(sock)
    except (OSError, ValueError, EOFError, TypeError) as exc:
        _trace(env, f"cold (handshake: {exc})")
        return None
    if not isinstance(answer, tuple) or not answer or answer[0] != "pid" or len(answer) != 3:
        kind = answer[0] if isinstance(answer, tuple) and answer else None
        if kind == "stale":
            spawn_server(path)  # the old helper has given up the socket: a new one takes it
        _trace(env, f"cold ({': '.join(map(str, answer)) if isinstance(answer, tuple) else 'no answer'})")
        return None
    _, child, server = answer
    return _wait(sock, int(child), int(server), env)


def _wait(sock: _socket.socket, child: int, server: int, env: os._Environ[str]) -> int | None:
    """Say go, pass signals on while the child runs the command, and return its exit status."""
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        forwarded.append(signum)
        try:
            os.kill(child, signum)
        except OSError:
            pass

    # Every one is passed on, also those this process inherited as ignored: the child starts with the same ones
    # ignored, and the command may take one back as a cold process would (a foreground ``run`` started with ``&``
    # by a script has SIGINT ignored, and still stops its container on ``kill -INT``: --sig-proxy).
    for signum in FORWARDED_SIGNALS:
        _signal.signal(signum, forward)
    if hasattr(_signal, "SIGTSTP") and _signal.getsignal(_signal.SIGTSTP) == _signal.SIG_DFL:
        _signal.signal(_signal.SIGTSTP, lambda signum, frame: _suspend(child))
    try:
        sock.sendall(encode("go"))
    except OSError as exc:
        _trace(env, f"cold (handshake: {exc})")
        return None  # the child did not get it: it has not started the command
    _trace(env, f"served by {server} (pid {child})")
    sock.settimeout(None)
    try:
        answer = receive(sock)
    except (OSError, ValueError, EOFError, TypeError):
        answer = None
    if isinstance(answer, tuple) and len(answer) == 2 and answer[0] == "exit" and isinstance(answer[1], int):
        return answer[1]
    if isinstance(answer, tuple) and len(answer) == 2 and answer[0] == "signal" and isinstance(answer[1], int):
        return _die(answer[1])
    fatal = [n for n in forwarded if n not in (_signal.SIGWINCH, _signal.SIGCONT)]
    if fatal:
        return _die(fatal[-1])
    os.write(2, b"dockyard: the command ended without an exit status\n")
    return 125


def _suspend(child: int) -> None:
    """Ctrl-Z: stop the child, then this process, as the terminal would stop a cold one; ``fg`` continues both
    (SIGCONT reaches this process and is passed on)."""
    try:
        os.kill(child, _signal.SIGSTOP)  # not SIGTSTP: the child has no terminal, its group may be orphaned
    except OSError:
        pass
    os.kill(os.getpid(), _signal.SIGSTOP)


def _die(signum: int) -> int:
    """End as the child ended: by the same signal (the shell sees what a cold process would have shown)."""
    try:
        if signum not in (_signal.SIGKILL, _signal.SIGSTOP):  # these have no handler to restore
            _signal.signal(signum, _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    return 128 + signum  # the signal does not end a process here (SIGCHLD, SIGWINCH...)
