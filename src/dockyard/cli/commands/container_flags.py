"""The click options of ``run`` and ``create``, made from the flag table in ``runflags.py`` (docker's names,
defaults and help, shared with the command line's fast path), and the translation of the parsed flags into the
container service's :class:`CreateOptions` (re-exported from there)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from dockyard.cli.commands.runflags import (
    CREATE_FLAGS,
    FlagSpec,
    build_create_options,
    parse_env_file,
    parse_env_values,
)

__all__ = ["build_create_options", "click_options", "create_flags", "parse_env_file", "parse_env_values"]

F = Callable[..., Any]


def _option(spec: FlagSpec) -> Callable[[F], F]:
    names = [*spec.opts] if not spec.secondary else [f"{spec.opts[0]}/{spec.secondary[0]}"]
    kwargs: dict[str, Any] = {"help": spec.help}
    if spec.kind == "flag":
        if spec.secondary:
            kwargs["default"] = spec.default
        else:
            kwargs["is_flag"] = True
    else:
        kwargs["metavar"] = spec.metavar
        if spec.kind == "multiple":
            kwargs["multiple"] = True
        elif spec.default is not None:
            kwargs["default"] = spec.default
        if spec.kind == "int":
            kwargs["type"] = int
    return click.option(*names, spec.dest, **kwargs)


def click_options(table: Sequence[FlagSpec]) -> Callable[[F], F]:
    """A decorator adding ``table``'s options to a command, in the table's order."""

    def decorate(func: F) -> F:
        for spec in reversed(table):
            func = _option(spec)(func)
        return func

    return decorate


create_flags = click_options(CREATE_FLAGS)
"""Decorate a command with every flag ``create`` and ``run`` share."""
