"""``cp``, ``diff``, ``commit`` and ``export``: a container's files."""

from __future__ import annotations

import click

from dockyard.cli.commands.container_cmd import DockerCommand

__all__ = ["commit_cmd", "cp_cmd", "diff_cmd", "export_cmd"]


@click.command("cp", cls=DockerCommand)
@click.argument("source")
@click.argument("destination")
def cp_cmd(source: str, destination: str) -> None:
    """Copy files/folders between a container and the local filesystem."""
    raise click.ClickException("cp: not implemented yet")


@click.command("diff", cls=DockerCommand)
@click.argument("container")
def diff_cmd(container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    raise click.ClickException("diff: not implemented yet")


@click.command("commit", cls=DockerCommand)
@click.argument("container")
@click.argument("repository", required=False)
def commit_cmd(container: str, repository: str | None) -> None:
    """Create a new image from a container's changes."""
    raise click.ClickException("commit: not implemented yet")


@click.command("export", cls=DockerCommand)
@click.argument("container")
def export_cmd(container: str) -> None:
    """Export a container's filesystem as a tar archive."""
    raise click.ClickException("export: not implemented yet")
