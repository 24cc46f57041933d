"""Docker-style tables, sizes and durations: the part of ``output.py`` the fast ``ps`` needs, importing only
``sys`` (``output.py``, which re-exports all of it, also brings click and the ``--format`` template engine)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from dockyard.engine.containers.humanize import human_duration

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, TextIO

__all__ = ["binary_size", "human_duration", "human_size", "is_default_format", "render_default", "render_table",
           "to_text"]  # fmt: skip


def human_size(size: float, precision: int = 3) -> str:
    """Docker's ``units.HumanSizeWithPrecision``: decimal units, ``145MB``, ``4.27kB``, ``0B``."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    value = float(size)
    while value >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    return f"{_go_g(value, precision)}{units[i]}"


def _go_g(value: float, precision: int) -> str:
    text = f"{value:.{precision}g}"
    if "e" in text:  # Go prints e.g. 1e+03 the same way, but sizes never get there after scaling
        return text
    return text


def binary_size(size: float) -> str:
    """``units.BytesSize``: binary units, ``1.5MiB`` (used by stats)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    value = float(size)
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return f"{value:.4g}{units[i]}"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]], out: TextIO | None = None) -> None:
    """Print like Go's tabwriter(minwidth=10, tabwidth=1, padding=3): the last column is not padded."""
    out = out or sys.stdout
    all_rows = [list(headers), *[list(r) for r in rows]]
    ncols = max(len(r) for r in all_rows)
    widths = [0] * ncols
    for r in all_rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w + 3, 10) for w in widths]
    lines = []
    for r in all_rows:
        parts = [cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])]
        parts.append(r[-1] if r else "")
        lines.append("".join(parts).rstrip() if r and r[-1] == "" else "".join(parts))
    out.write("\n".join(lines) + "\n")


def to_text(value: Any) -> str:
    """A template's rendering of a value (Go's ``fmt`` for the types rows hold)."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{to_text(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(to_text(v) for v in value) + "]"
    return str(value)


def is_default_format(fmt: str | None) -> bool:
    """``--format`` left out, empty or ``table``: the command's default table."""
    return fmt in (None, "", "table")


def render_default(
    rows: Sequence[Mapping[str, Any]], headers: Sequence[tuple[str, str]], out: TextIO | None = None
) -> None:
    """The default table of ``ls`` commands: ``headers`` is ``[(HEADER, FieldName), ...]``."""
    render_table([h for h, _ in headers], ([to_text(r[f]) for _, f in headers] for r in rows), out)
