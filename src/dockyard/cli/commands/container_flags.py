"""The click options of ``run`` and ``create``, made from the flag table in ``runflags.py`` (docker's names,
defaults and help, shared with the command line's fast path), and the translation of the parsed flags into the
container service's :class:`CreateOptions` (re-exported from there)."""

from __future__ import annotations

from dockyard.cli.commands.runflags import CREATE_FLAGS, build_create_options, parse_env_file, parse_env_values
from dockyard.cli.flagtable import click_options

__all__ = ["build_create_options", "click_options", "create_flags", "parse_env_file", "parse_env_values"]

create_flags = click_options(CREATE_FLAGS)
"""Decorate a command with every flag ``create`` and ``run`` share."""
