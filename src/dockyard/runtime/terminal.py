"""The user's terminal for ``run -t``/``attach``/``exec -t``: raw mode (as Docker's CLI sets it) and its size."""

from __future__ import annotations

import os
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["raw_terminal", "terminal_size"]


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put the terminal on ``fd`` in raw mode (moby/term ``MakeRaw``: no echo, no line editing, no signals, no
    output processing) for the duration; restore it afterwards, even on error. A no-op when ``fd`` is no TTY."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(height, width) of the terminal on ``fd``; None when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns
