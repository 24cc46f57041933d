"""The terminal side of an attached container or exec: raw mode on the user's terminal, resize on SIGWINCH,
signals forwarded the way docker's ``--sig-proxy`` does, the detach keys, and the byte pump itself."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.runtime import AttachSocket, PumpResult

__all__ = ["forward_signals", "pump_attached", "raw_terminal", "terminal_size", "watch_resize"]

# docker/cli ForwardAllSignals: everything but these
_NOT_FORWARDED = {signal.SIGCHLD, signal.SIGPIPE, signal.SIGWINCH, signal.SIGURG, signal.SIGKILL, signal.SIGSTOP}
_FORWARDED = [
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
    signal.SIGCONT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGVTALRM, signal.SIGPROF,
]  # fmt: skip


def terminal_size(fd: int = 1) -> tuple[int, int] | None:
    """(rows, columns) of the terminal on ``fd`` (or stdin), None when neither is one."""
    for candidate in (fd, 0):
        try:
            size = os.get_terminal_size(candidate)
            return size.lines, size.columns
        except OSError:
            continue
    return None


@contextlib.contextmanager
def raw_terminal(fd: int, enabled: bool) -> Iterator[None]:
    """Put the terminal on ``fd`` in raw mode (keys go to the container as typed) and restore it after."""
    if not enabled or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def watch_resize(resize: Callable[[int, int], None], enabled: bool) -> Iterator[None]:
    """Call ``resize(rows, cols)`` now and on every SIGWINCH while inside."""
    if not enabled:
        yield
        return

    def handler(_signum: int, _frame: object) -> None:
        size = terminal_size()
        if size:
            with contextlib.suppress(Exception):
                resize(*size)

    previous = signal.signal(signal.SIGWINCH, handler)
    try:
        handler(signal.SIGWINCH, None)
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


@contextlib.contextmanager
def forward_signals(kill: Callable[[str], None], enabled: bool) -> Iterator[None]:
    """docker's ``--sig-proxy``: each signal the CLI gets is sent to the container; the third SIGINT/SIGTERM
    makes the CLI give up (``got 3 SIGTERM/SIGINTs, forcefully exiting``, exit 1) and leave the container."""
    if not enabled:
        yield
        return
    count = 0

    def handler(signum: int, _frame: object) -> None:
        nonlocal count
        if signum in (signal.SIGINT, signal.SIGTERM):
            count += 1
            if count >= 3:
                sys.stderr.write("\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n")
                sys.stderr.flush()
                os._exit(1)
        with contextlib.suppress(Exception):
            kill(signal.Signals(signum).name)

    previous = {}
    for sig in _FORWARDED:
        if sig not in _NOT_FORWARDED:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def pump_attached(
    conn: AttachSocket,
    *,
    stdin: bool,
    tty: bool,
    stdout: bool = True,
    stderr: bool = True,
    detach_keys: str | None = None,
) -> PumpResult:
    """Move bytes between this process's stdio and the container until its output ends or the user detaches."""
    from dockyard.runtime import DetachKeys, pump

    keys = DetachKeys(detach_keys or "ctrl-p,ctrl-q") if stdin and tty else None
    if not stdin:
        conn.close_stdin()
    sys.stdout.flush()
    return pump(
        conn,
        stdin=sys.stdin.fileno() if stdin else None,
        stdout=sys.stdout.fileno() if stdout else None,
        stderr=(sys.stdout.fileno() if tty else sys.stderr.fileno()) if stderr else None,
        detach_keys=keys,
    )
