"""``run`` and ``create`` as click commands: their flags (``runflags.py``'s table) and a call of ``runflow.py``,
which does the work (and which the command line's fast path calls directly, without click)."""

from __future__ import annotations

from typing import Any

import click

from dockyard.cli.commands.container_cmd import DockerCommand
from dockyard.cli.commands.container_flags import click_options, create_flags
from dockyard.cli.commands.runflags import CREATE_FLAGS, RUN_FLAGS
from dockyard.cli.commands.runflow import create_container, kill, run_container, run_foreground

__all__ = ["create_cmd", "run_cmd", "run_foreground"]

_kill = kill  # the name container_io uses


@click.command("create", cls=DockerCommand)
@create_flags
@click.argument("image")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def create_cmd(image: str, args: tuple[str, ...], **params: Any) -> None:
    """Create a new container."""
    create_container(click.get_current_context().obj, params, image, args)


@click.command("run", cls=DockerCommand)
@create_flags
@click_options(RUN_FLAGS[len(CREATE_FLAGS) :])  # -d, --sig-proxy
@click.argument("image")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_cmd(image: str, args: tuple[str, ...], detach: bool, sig_proxy: bool, **params: Any) -> None:
    """Create and run a new container from an image."""
    code = run_container(click.get_current_context().obj, params, image, args, detach=detach, sig_proxy=sig_proxy)
    if not detach:
        click.get_current_context().exit(code)
