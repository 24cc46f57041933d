"""The click side of the command line: the top-level group and :class:`LazyGroup`.

``dockyard.cli.main`` imports this module only for commands it does not serve itself (see its fast paths), so
click's own import cost is paid by the commands that use it and by nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

import click

from dockyard import __version__
from dockyard.cli.main import COMMANDS, SUMMARIES, VERSION_MESSAGE

__all__ = ["LazyGroup", "cli"]


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, from a ``name -> "mod:attr"`` table.

    ``summaries`` (``name -> help text``) lets ``--help`` list the commands without importing them: a command
    with a summary is imported only when it runs (or asks for its own help). Each summary is the command's help
    text, or at least its first paragraph, so click shortens it exactly as it would the real one (a unit test
    compares the two).
    """

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.summaries = dict(summaries or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | {n for n in self.lazy if self._available(n)}
        return sorted(names)

    def _available(self, name: str) -> bool:
        module = self.lazy[name].partition(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self.lazy.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        cmd = getattr(module, attr, None)
        if not isinstance(cmd, click.Command):
            return None
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with the summaries standing in for commands not imported yet."""
        if not self.summaries:
            super().format_commands(ctx, formatter)
            return
        from click.core import _make_default_short_help  # the function Command.get_short_help_str uses

        entries: list[tuple[str, click.Command | str]] = []
        for name in self.list_commands(ctx):
            summary = self.summaries.get(name) if name not in self.commands else None
            if summary is not None:
                entries.append((name, summary))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                entries.append((name, cmd))
        if not entries:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in entries)
        rows = [
            (name, _make_default_short_help(entry, limit).strip() if isinstance(entry, str) else
             entry.get_short_help_str(limit))
            for name, entry in entries
        ]  # fmt: skip
        with formatter.section("Commands"):
            formatter.write_dl(rows)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, lazy=COMMANDS, summaries=SUMMARIES, context_settings=CONTEXT_SETTINGS)
@click.option("--root", envvar="DOCKYARD_ROOT", metavar="DIR", help="State root (default /var/lib/dockyard).")
@click.option("--debug", "-D", is_flag=True, envvar="DOCKYARD_DEBUG", help="Show tracebacks and debug logs.")
@click.option(
    "--log-level",
    "-l",
    type=click.Choice(["debug", "info", "warn", "error", "fatal"]),
    default="warn",
    help="Logging level.",
)
@click.version_option(__version__, "--version", "-v", message=VERSION_MESSAGE)
@click.pass_context
def cli(ctx: click.Context, root: str | None, debug: bool, log_level: str) -> None:
    """A Docker-compatible container engine.

    Use it as you would use docker: dockyard build, dockyard run, dockyard push...
    """
    from dockyard.cli.state import CliState

    ctx.obj = CliState(root=root, debug=debug, log_level="debug" if debug else log_level)
