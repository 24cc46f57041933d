"""Command-line flags as data, for the commands the command line serves without click.

A table of :class:`FlagSpec` is the one definition of a command's options: :func:`click_options` makes the click
options from it (names, defaults, help, in the table's order), and :func:`parse_args` parses a command line the
way the click command made from it would — or gives up (``None``) on anything it does not follow exactly
(``--help``, an unknown option, a bad value, a missing one), so click parses that and reports it in its words.
Two parsing styles: docker's (``DockerCommand``: options end at the first argument, ``--flag=false`` accepted)
and click's own (options anywhere, a flag takes no value). Both follow click on ``--opt=value``, ``-ovalue``,
combined short flags (``-it``, ``-p80:80``), ints, choices and repeated options.

Importing this costs nothing but ``dataclasses``: no click (~15 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "FlagSpec", "click_options", "flag", "multiple", "number", "parse_args",
           "value"]  # fmt: skip

TRUE_WORDS = ("1", "t", "true", "y", "yes", "on", "")  # docker's --flag=value spellings (strconv.ParseBool + "")
FALSE_WORDS = ("0", "f", "false", "n", "no", "off")


@dataclass(frozen=True)
class FlagSpec:
    """One option: its spellings, the parameter it fills, its kind and default, and docker's help."""

    opts: tuple[str, ...]
    dest: str
    kind: str = "value"  # "value" (a string), "int", "multiple" (repeatable strings), "flag" (a boolean)
    default: Any = None
    metavar: str = ""
    help: str = ""
    secondary: tuple[str, ...] = ()  # a boolean's off switch (--no-sig-proxy)
    choices: tuple[str, ...] = ()  # the values a "value" option accepts (click.Choice), any when empty


def _dest(opts: Sequence[str], dest: str) -> str:
    return dest or opts[-1].lstrip("-").replace("-", "_")


def value(*opts: str, dest: str = "", default: str | None = None, metavar: str = "string", help: str = "",
          choices: tuple[str, ...] = ()) -> FlagSpec:  # fmt: skip
    """A string option (``metavar=""``: click's own, ``TEXT``)."""
    return FlagSpec(opts, _dest(opts, dest), "value", default, metavar, help, choices=choices)


def number(*opts: str, dest: str = "", default: int | None = None, metavar: str = "int", help: str = "") -> FlagSpec:
    """An int option."""
    return FlagSpec(opts, _dest(opts, dest), "int", default, metavar, help)


def multiple(*opts: str, dest: str = "", metavar: str = "list", help: str = "") -> FlagSpec:
    """A repeatable string option (a tuple, empty by default)."""
    return FlagSpec(opts, _dest(opts, dest), "multiple", (), metavar, help)


def flag(*opts: str, dest: str = "", help: str = "", off: tuple[str, ...] = (), default: bool | None = False,
         ) -> FlagSpec:  # fmt: skip
    """A boolean, False unless given (with ``off``: ``--x/--no-x``, ``default`` when neither is given)."""
    return FlagSpec(opts, _dest(opts, dest), "flag", default, "", help, off)


def parse_args(
    table: Sequence[FlagSpec], args: Sequence[str], *, docker: bool = True
) -> tuple[dict[str, Any], list[str]] | None:
    """``(params, positional)`` as the click command built from ``table`` would parse ``args`` (``params`` with
    every default filled in, repeated options as tuples), or ``None`` for anything it does not follow exactly.
    ``docker``: ``DockerCommand``'s style (options end at the first argument, ``--flag=value`` for booleans);
    else click's (options and arguments in any order, ``--`` ends the options)."""
    by_name: dict[str, FlagSpec] = {}
    for spec in table:
        for name in (*spec.opts, *spec.secondary):
            by_name[name] = spec
    params: dict[str, Any] = {spec.dest: spec.default for spec in table}
    repeated: dict[str, list[str]] = {}

    def take(spec: FlagSpec, value: str) -> bool:
        if spec.choices and value not in spec.choices:
            return False
        if spec.kind == "multiple":
            repeated.setdefault(spec.dest, []).append(value)
        elif spec.kind == "int":
            try:
                params[spec.dest] = int(value)
            except ValueError:
                return False
        else:
            params[spec.dest] = value
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
            found = by_name.get(name)
            if found is None:
                return None  # --help, --, or an option click reports
            spec = found
            if spec.kind == "flag":
                if not sep:
                    params[spec.dest] = name not in spec.secondary
                elif name in spec.secondary or not docker:
                    return None  # click: "option does not take a value"
                elif value.lower() in TRUE_WORDS:
                    params[spec.dest] = True
                elif value.lower() in FALSE_WORDS:
                    if spec.secondary:
                        params[spec.dest] = False
                else:
                    return None  # docker's "invalid argument" error comes from click's side
            elif sep:
                if not take(spec, value):
                    return None
            else:
                if i + 1 >= len(args) or not take(spec, args[i + 1]):
                    return None
                i += 1
            i += 1
            continue
        # short options, maybe combined: -it, -p80:80, -e FOO=bar
        j = 1
        while j < len(token):
            found = by_name.get(f"-{token[j]}")
            if found is None:
                return None
            spec = found
            if spec.kind == "flag":
                params[spec.dest] = True
                j += 1
                continue
            rest = token[j + 1 :]
            if rest:
                if rest.startswith("=") or not take(spec, rest):
                    return None  # -e=X: click keeps the "=", docker would not; leave it to click
            else:
                if i + 1 >= len(args) or not take(spec, args[i + 1]):
                    return None
                i += 1
            break
        i += 1
    for dest, values in repeated.items():
        params[dest] = tuple(values)
    return params, [*positional, *args[i:]]


def _option(spec: FlagSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    import click

    names = [*spec.opts] if not spec.secondary else [f"{spec.opts[0]}/{spec.secondary[0]}"]
    kwargs: dict[str, Any] = {"help": spec.help}
    if spec.kind == "flag":
        if spec.secondary:
            kwargs["default"] = spec.default
        else:
            kwargs["is_flag"] = True
    else:
        if spec.metavar:
            kwargs["metavar"] = spec.metavar
        if spec.kind == "multiple":
            kwargs["multiple"] = True
        elif spec.default is not None:
            kwargs["default"] = spec.default
        if spec.kind == "int":
            kwargs["type"] = int
        if spec.choices:
            kwargs["type"] = click.Choice(list(spec.choices))
    return click.option(*names, spec.dest, **kwargs)


def click_options(table: Sequence[FlagSpec]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding ``table``'s options to a click command, in the table's order."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(table):
            func = _option(spec)(func)
        return func

    return decorate
