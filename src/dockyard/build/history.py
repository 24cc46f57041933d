"""The ``created_by`` lines of image history, worded as Docker's classic builder writes them.

Docker records the container command of each step: ``/bin/sh -c pip install -r requirements.txt`` for RUN (with
``|N K=V ...`` in front when build args are in scope), and a ``#(nop)`` comment for everything else —
``/bin/sh -c #(nop)  CMD ["python" "app.py"]`` (two spaces: the comment is a separate argument) but
``/bin/sh -c #(nop) WORKDIR /app`` and ``/bin/sh -c #(nop) COPY file:<hash> in /app `` (one argument, with the
trailing space Docker leaves). Go's ``%q`` and ``%v`` formatting of slices is reproduced here.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.build.dockerfile.errors import go_quote

__all__ = [
    "copy_comment",
    "go_duration",
    "go_quote_slice",
    "go_rune_quote",
    "go_value_slice",
    "nop",
    "nop_single",
    "run_created_by",
    "source_hash",
]


def go_quote_slice(items: Sequence[str]) -> str:
    """Go's ``fmt.Sprintf("%q", []string{...})``: ``["python" "app.py"]``."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"


def go_value_slice(items: Sequence[str]) -> str:
    """Go's ``%v`` of a string slice: ``[/data /cache]``."""
    return "[" + " ".join(items) + "]"


def go_rune_quote(value: int) -> str:
    """Go's ``%q`` of an int (a rune literal): ``'\\x03'``, ``'A'``."""
    if 0x20 <= value < 0x7F and value not in (0x27, 0x5C):
        return f"'{chr(value)}'"
    if value == 0x27:
        return "'\\''"
    if value == 0x5C:
        return "'\\\\'"
    named = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}
    if value in named:
        return f"'{named[value]}'"
    if value < 0x80:
        return f"'\\x{value:02x}'"
    if value < 0x10000:
        return f"'\\u{value:04x}'"
    return f"'\\U{value:08x}'"


def go_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String()``: ``30s``, ``1m30s``, ``1h0m0s``, ``500ms``, ``0s``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    n = abs(nanoseconds)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _trim(n / size) + unit
    seconds = n / 1_000_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    return sign + out + _trim(secs) + "s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def nop(shell: Sequence[str], comment: str) -> str:
    """``commit()``'s two-argument comment: ``/bin/sh -c #(nop)  CMD ["sh"]``."""
    return " ".join([*shell, "#(nop) ", comment])


def nop_single(shell: Sequence[str], comment: str) -> str:
    """WORKDIR/COPY/ADD's one-argument comment: ``/bin/sh -c #(nop) WORKDIR /app``."""
    return " ".join([*shell, "#(nop) " + comment])


def run_created_by(argv: Sequence[str], build_env: Sequence[str]) -> str:
    """RUN's recorded command: the argv, with ``|N K=V ...`` in front when build args are in its environment."""
    if build_env:
        return " ".join([f"|{len(build_env)}", *build_env, *argv])
    return " ".join(argv)


def source_hash(hashes: Sequence[str]) -> str:
    """One source's ``file:<hex>``/``dir:<hex>`` as is; several as ``multi:<sha256 of the joined list>``."""
    import hashlib

    if len(hashes) == 1:
        return hashes[0]
    return "multi:" + hashlib.sha256(",".join(hashes).encode()).hexdigest()


def copy_comment(instruction: str, chown: str, src_hash: str, dest: str) -> str:
    """``COPY file:<hash> in /app `` — with ``--chown=u:g`` glued to the hash, as moby's format string does."""
    chown_part = f"--chown={chown}" if chown else ""
    return f"{instruction} {chown_part}{src_hash} in {dest} "
