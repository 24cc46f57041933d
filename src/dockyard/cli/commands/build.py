"""``dockyard build`` (Docker's classic builder output: the flags and the work are in ``buildflow.py``, which the
command line's fast path calls without click) and ``dockyard builder prune``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.app import LazyGroup
from dockyard.cli.commands.buildflow import BUILD_FLAGS, run_build
from dockyard.cli.flagtable import click_options

if TYPE_CHECKING:
    from dockyard.engine import Engine

__all__ = ["build_cmd", "builder_group", "prune_cmd"]


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


@click.command("build")
@click.argument("path")
@click_options(BUILD_FLAGS)
def build_cmd(path: str, **params: Any) -> None:
    """Build an image from a Dockerfile (PATH is a directory, or - for a tar or a Dockerfile on stdin)."""
    code = run_build(click.get_current_context().obj, path, params)
    if code:
        click.get_current_context().exit(code)


@click.group("builder", cls=LazyGroup, lazy={})
def builder_group() -> None:
    """Manage builds."""


builder_group.add_command(build_cmd)


@builder_group.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all build cache, not just dangling cache")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=24h')")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
def prune_cmd(all_: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove build cache."""
    import time

    from dockyard.cli.output import human_size
    from dockyard.engine.builds import BuildPruneOptions
    from dockyard.errors import InvalidArgument

    until: float | None = None
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key.strip().lower() != "until":
            raise InvalidArgument(f"invalid filter '{key}'")
        from dockyard.timeutil import parse_timestamp

        until = parse_timestamp(value, time.time())
    if not force:
        what = "all build cache" if all_ else "all dangling build cache"
        click.echo(f"WARNING! This will remove {what}. Are you sure you want to continue? [y/N] ", nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return
    engine = _engine()
    report = engine.builds.prune(BuildPruneOptions(all=all_, until=until))
    if report.deleted:
        from dockyard.cli.buildrecord.record import drop_all

        drop_all(engine.settings.layout.root)
    if report.deleted:
        click.echo("Deleted build cache objects:")
        for key in report.deleted:
            click.echo(key.removeprefix("sha256:")[:25])
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.space_reclaimed)}")
