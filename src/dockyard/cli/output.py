"""Everything the CLI prints: Docker-style tables, ``--format`` templates, sizes, durations, errors.

Tables are laid out like Docker's (Go ``tabwriter`` with minwidth 10, padding 3). ``--format`` accepts
``table``, ``json``, ``{{json .}}`` and Go-template-style strings: ``{{.Field}}``, ``{{.A.B}}``,
``{{json .Field}}``, ``{{index .Labels "k"}}``, ``{{upper .X}}``, ``{{lower .X}}``, ``{{join .X ","}}``,
``{{title .X}}``, ``{{truncate .X 5}}``, ``{{pad .X 1 1}}``, ``{{printf "%s" .X}}``, and pipelines with ``|``.
A ``table`` prefix prints a header row built from the field names.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import click

from dockyard.cli.tables import binary_size, human_duration, human_size, is_default_format, render_default, render_table
from dockyard.cli.tables import to_text as _to_text

__all__ = [
    "FormatError",
    "Template",
    "binary_size",
    "human_duration",
    "human_size",
    "print_error",
    "render_rows",
    "render_table",
    "since",
]


def since(timestamp: float, now: float | None = None) -> str:
    """``7 seconds ago``, as Docker's CREATED columns."""
    import time

    now = time.time() if now is None else now
    return f"{human_duration(max(0.0, now - timestamp))} ago"


class FormatError(click.UsageError):
    pass


_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.S)


def _tokenize(expr: str) -> list[str]:
    lexer = shlex.shlex(expr, posix=False, punctuation_chars="|")
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def _lookup(obj: Any, path: str) -> Any:
    if path == ".":
        return obj
    for part in path.strip(".").split("."):
        if isinstance(obj, Mapping):
            if part not in obj:
                raise FormatError(f'template: :1: executing "" at <.{part}>: map has no entry for key "{part}"')
            obj = obj[part]
        else:
            if not hasattr(obj, part):
                raise FormatError(f"template parsing error: can't evaluate field {part}")
            obj = getattr(obj, part)
            if callable(obj):
                obj = obj()
    return obj


def _json(value: Any) -> str:
    """Like Go's encoding/json: compact, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, default=lambda o: getattr(o, "__dict__", str(o))
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _printf(fmt: str, *args: Any) -> str:
    go = re.sub(r"%v", "%s", fmt)
    try:
        return go % tuple(args)
    except TypeError:
        return fmt


def _truncate(value: Any, n: Any) -> str:
    return str(value)[: int(n)]


def _pad(value: Any, left: Any, right: Any) -> str:
    return " " * int(left) + str(value) + " " * int(right)


FUNCS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "title": lambda v: str(v).title(),
    "join": lambda v, sep: str(sep).join(str(x) for x in v),
    "split": lambda v, sep: str(v).split(str(sep)),
    "index": lambda v, *keys: _index(v, keys),
    "len": lambda v: len(v),
    "printf": _printf,
    "print": lambda *a: "".join(str(x) for x in a),
    "println": lambda *a: " ".join(str(x) for x in a) + "\n",
    "truncate": _truncate,
    "pad": _pad,
}


def _index(value: Any, keys: Sequence[Any]) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key)
        else:
            value = value[int(key)]
    return value


class Template:
    """A compiled ``--format`` template (the subset of Go's text/template that docker users write)."""

    def __init__(self, text: str) -> None:
        self.table = False
        if text.startswith("table"):
            self.table = True
            text = text[5:].lstrip()
        text = text.replace("\\t", "\t").replace("\\n", "\n")
        self.text = text
        self.parts: list[str | list[list[str]]] = []
        pos = 0
        for m in _ACTION.finditer(text):
            if m.start() > pos:
                self.parts.append(text[pos : m.start()])
            pipeline = [_tokenize(seg) for seg in " ".join(_tokenize(m.group(1))).split(" | ")]
            if any(not p for p in pipeline):
                raise FormatError(f"template parsing error: bad action {m.group(0)!r}")
            self.parts.append(pipeline)
            pos = m.end()
        if pos < len(text):
            self.parts.append(text[pos:])

    def fields(self) -> list[str]:
        """The header names a ``table`` template shows: each action's last field name, upper-cased Docker style."""
        names = []
        for part in self.parts:
            if isinstance(part, list):
                words = [w for seg in part for w in seg if w.startswith(".")]
                names.append(words[-1].strip(".").split(".")[-1] if words else "")
        return names

    def _arg(self, token: str, obj: Any) -> Any:
        if token.startswith("."):
            return _lookup(obj, token)
        if token.startswith('"') and token.endswith('"'):
            return json.loads(token)
        if token.startswith("`") and token.endswith("`"):
            return token[1:-1]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        if token in FUNCS:
            return FUNCS[token]()
        raise FormatError(f'template: :1: function "{token}" not defined')

    def _eval(self, pipeline: list[list[str]], obj: Any) -> Any:
        value: Any = None
        for i, command in enumerate(pipeline):
            head, *rest = command
            args = [self._arg(t, obj) for t in rest]
            if i > 0:
                args.append(value)
            if head in FUNCS:
                value = FUNCS[head](*args)
            elif not rest and i == 0:
                value = self._arg(head, obj)
            else:
                raise FormatError(f'template: :1: function "{head}" not defined')
        return value

    def render(self, obj: Any) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(_to_text(self._eval(part, obj)))
        return "".join(out)


def render_rows(
    fmt: str | None,
    rows: Sequence[Mapping[str, Any]],
    default_headers: Sequence[tuple[str, str]],
    *,
    quiet_field: str | None = None,
    quiet: bool = False,
    headers: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> None:
    """Print list output the way docker does for ``ls`` commands.

    ``default_headers`` is ``[(HEADER, FieldName), ...]``; ``fmt`` is the user's ``--format`` (``None``,
    ``table``, ``json``, or a template); ``quiet`` prints ``quiet_field`` only.
    """
    out = out or sys.stdout
    if quiet and quiet_field:
        for r in rows:
            out.write(f"{r[quiet_field]}\n")
        return
    if is_default_format(fmt):
        render_default(rows, default_headers, out)
        return
    assert fmt is not None  # None is the default format
    if fmt == "json":
        fmt = "{{json .}}"
    tmpl = Template(fmt)
    if tmpl.table:
        names = headers or {}
        header_row = [names.get(f, _header_name(f)) for f in tmpl.fields()]
        lines = [tmpl.render(r) for r in rows]
        _render_tabbed(tmpl, header_row, lines, out)
        return
    for r in rows:
        out.write(tmpl.render(r) + "\n")


def _header_name(field: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", field).upper()


def _render_tabbed(tmpl: Template, header_row: list[str], lines: list[str], out: TextIO) -> None:
    rows = [line.split("\t") for line in lines]
    if tmpl.text.count("\t") and len(header_row) == tmpl.text.count("\t") + 1:
        render_table(header_row, rows, out)
    else:
        render_table(["\t".join(header_row)] if "\t" not in tmpl.text else header_row, rows, out)


def print_error(exc: BaseException, err: TextIO | None = None, *, prefix: str = "Error") -> None:
    """``Error: <message>`` (and the hint on the next line), on stderr; ``prefix`` replaces ``Error`` (Docker's
    ``Error response from daemon`` for what the engine refused)."""
    err = err or sys.stderr
    message = getattr(exc, "message", None) or str(exc)
    err.write(f"{prefix}: {message}\n")
    hint = getattr(exc, "hint", None)
    if hint:
        err.write(f"Hint: {hint}\n")
    err.flush()
