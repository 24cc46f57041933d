"""Command-line flags as data, for the commands the command line serves without click.

A table of :class:`FlagSpec` is the one definition of a command's options: :func:`click_options` makes the click
options from it (names, defaults, help, in the table's order), and :func:`parse_args` parses a command line the
way the click command made from it would (:func:`dockyard.cli.argscan.scan` over the table's rows: docker's style
or click's) — or gives up (``None``) on anything it does not follow exactly, so click parses that and reports it
in its words.

Importing this costs nothing but ``dataclasses``: no click (~15 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.cli.argscan import scan

__all__ = ["FlagSpec", "click_options", "flag", "multiple", "number", "parse_args", "value"]


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

    @property
    def row(self) -> tuple[tuple[str, ...], str, str, Any, tuple[str, ...], tuple[str, ...]]:
        """The option as ``argscan``'s row: ``(opts, dest, kind, default, secondary, choices)``."""
        return self.opts, self.dest, self.kind, self.default, self.secondary, self.choices


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
    """``(params, positional)`` as the click command built from ``table`` would parse ``args``, or ``None`` for
    anything it does not follow exactly: :func:`dockyard.cli.argscan.scan` over the table's rows."""
    return scan([spec.row for spec in table], args, docker=docker)


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
