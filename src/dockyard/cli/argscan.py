"""Scanning a command line against a table of options, as the click command made from that table would parse it.

A table is a sequence of plain rows ``(spellings, dest, kind, default, off switches, choices)`` (anything after
those six is the table's own: help text...): ``kind`` is ``"value"`` (a string), ``"int"``, ``"multiple"``
(repeatable strings) or ``"flag"`` (a boolean; its off switches, ``--no-rm``, set it False). :func:`scan` gives up
(``None``) on anything it does not follow exactly (``--help``, an unknown option, a bad value, a missing one), so
click parses that and reports it in its words. Two parsing styles: docker's (``DockerCommand``: options end at the
first argument, ``--flag=false`` accepted) and click's own (options anywhere, a flag takes no value). Both follow
click on ``--opt=value``, ``-ovalue``, combined short flags (``-it``, ``-p80:80``), ints, choices and repeated
options.

Rows are tuples, not ``flagtable.FlagSpec``\\s, so that the build record (``cli/buildrecord/``) can parse a
command line with this module alone: it imports nothing (importing ``flagtable`` costs ~20 ms: ``dataclasses``,
``inspect``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "scan"]

TRUE_WORDS = ("1", "t", "true", "y", "yes", "on", "")  # docker's --flag=value spellings (strconv.ParseBool + "")
FALSE_WORDS = ("0", "f", "false", "n", "no", "off")


def scan(
    table: Sequence[tuple[Any, ...]], args: Sequence[str], *, docker: bool = True
) -> tuple[dict[str, Any], list[str]] | None:
    """``(params, positional)`` as the click command built from ``table`` would parse ``args`` (``params`` with
    every default filled in, repeated options as tuples), or ``None`` for anything it does not follow exactly.
    ``docker``: ``DockerCommand``'s style (options end at the first argument, ``--flag=value`` for booleans);
    else click's (options and arguments in any order, ``--`` ends the options)."""
    by_name: dict[str, tuple[Any, ...]] = {}
    for spec in table:
        for name in (*spec[0], *spec[4]):
            by_name[name] = spec
    params: dict[str, Any] = {spec[1]: spec[3] for spec in table}
    repeated: dict[str, list[str]] = {}

    def take(row: tuple[Any, ...], value: str) -> bool:
        _, dest, kind, _, _, choices = row[:6]
        if choices and value not in choices:
            return False
        if kind == "multiple":
            repeated.setdefault(dest, []).append(value)
        elif kind == "int":
            try:
                params[dest] = int(value)
            except ValueError:
                return False
        else:
            params[dest] = value
        return True

    positional: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("-") or token == "-":
            if docker:
                break
            positional.append(token)
            i += 1
            continue
        if token.startswith("--"):
            name, sep, value = token.partition("=")
            row = by_name.get(name)
            if row is None:
                return None  # --help, --, or an option click reports
            dest, kind, off = row[1], row[2], row[4]
            if kind == "flag":
                if not sep:
                    params[dest] = name not in off
                elif name in off or not docker:
                    return None  # click: "option does not take a value"
                elif value.lower() in TRUE_WORDS:
                    params[dest] = True
                elif value.lower() in FALSE_WORDS:
                    if off:
                        params[dest] = False
                else:
                    return None  # docker's "invalid argument" error comes from click's side
            elif sep:
                if not take(row, value):
                    return None
            else:
                if i + 1 >= len(args) or not take(row, args[i + 1]):
                    return None
                i += 1
            i += 1
            continue
        # short options, maybe combined: -it, -p80:80, -e FOO=bar
        j = 1
        while j < len(token):
            row = by_name.get(f"-{token[j]}")
            if row is None:
                return None
            if row[2] == "flag":
                params[row[1]] = True
                j += 1
                continue
            rest = token[j + 1 :]
            if rest:
                if rest.startswith("=") or not take(row, rest):
                    return None  # -e=X: click keeps the "=", docker would not; leave it to click
            else:
                if i + 1 >= len(args) or not take(row, args[i + 1]):
                    return None
                i += 1
            break
        i += 1
    for dest, values in repeated.items():
        params[dest] = tuple(values)
    return params, [*positional, *args[i:]]
