"""Docker's progress display for pull, push and build (docker's ``jsonmessage.DisplayJSONMessagesStream``).

On a terminal, each layer keeps its own line and is redrawn in place: a new id adds a line; an update moves the
cursor up to that line (``ESC[<n>A``), erases it (``ESC[2K``), writes ``<id>: <status> <bar>`` and moves back down
(``ESC[<n>B``). A line without an id (``Digest: ...``) starts a fresh block. When the output is not a terminal,
byte-count updates are skipped and every other event is appended as a plain line — what ``docker pull | cat``
shows::

    v1: Pulling from pango/bigblob
    e1938c858b61: Already exists
    04e1617620fa: Pulling fs layer
    04e1617620fa: Download complete
    04e1617620fa: Pull complete
    Digest: sha256:0b36c1bba1fb...
    Status: Downloaded newer image for 127.0.0.1:5000/pango/bigblob:v1
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

# The event types, from where engine.distribution re-exports them: importing that service module would cost every
# build ~5 ms (the pull/push classes) for types defined in this light one.
from dockyard.registry.progress import (
    BuildAux,
    BuildOutput,
    LayerProgress,
    ProgressError,
    ProgressEvent,
    PushAux,
    StatusMessage,
    render_progress,
)

__all__ = ["ProgressPrinter"]

_ERASE_LINE = "\x1b[2K"


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _width(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 200


class ProgressPrinter:
    """Draws progress events on ``out``. Call it with each event; ``errors`` collects stream errors."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        terminal: bool | None = None,
        width: int | None = None,
        on_aux: Callable[[PushAux | BuildAux], None] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.terminal = _is_terminal(self.out) if terminal is None else terminal
        self.width = width
        self.on_aux = on_aux
        self.errors: list[ProgressError] = []
        self._ids: dict[str, int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        self.emit(event)

    def emit(self, event: ProgressEvent) -> None:
        if isinstance(event, PushAux | BuildAux):
            if self.on_aux is not None:
                self.on_aux(event)
            return
        if isinstance(event, ProgressError):
            self.errors.append(event)
            return
        diff = 0
        ident = event.id if isinstance(event, LayerProgress | StatusMessage) else ""
        if isinstance(event, LayerProgress):
            line = self._ids.get(event.id)
            if line is None:
                line = len(self._ids)
                self._ids[event.id] = line
                if self.terminal:
                    self.out.write("\n")
            diff = len(self._ids) - line
            if self.terminal:
                self._cursor_up(diff)
        else:
            self._ids = {}
        self._display(event)
        if ident and self.terminal:
            self._cursor_down(diff)
        self.out.flush()

    def _cursor_up(self, n: int) -> None:
        if n:
            self.out.write(f"\x1b[{n}A")

    def _cursor_down(self, n: int) -> None:
        if n:
            self.out.write(f"\x1b[{n}B")

    def _display(self, event: LayerProgress | StatusMessage | BuildOutput) -> None:
        out = self.out
        if isinstance(event, BuildOutput):
            out.write(event.text)
            return
        if isinstance(event, StatusMessage):
            if event.id:
                out.write(f"{event.id}: ")
            out.write(f"{event.text}\n")
            return
        width = self.width if self.width is not None else (_width(out) if self.terminal else 200)
        bar = render_progress(event.current, event.total, width)
        if not self.terminal:
            if bar:
                return  # byte counts only make sense redrawn in place
            out.write(f"{event.id}: {event.status}\n")
            return
        out.write(f"{_ERASE_LINE}\r{event.id}: {event.status} {bar}\r")

    def close(self) -> None:
        """Nothing to undo: the cursor is always left below the last line."""
        self.out.flush()
