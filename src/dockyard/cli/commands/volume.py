"""``dockyard volume ...``: create, ls, inspect, rm, prune (docker's flags and output)."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.output import render_rows

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.volumes import Volume

__all__ = ["volume_group"]

_UNUSED_WARNING = "WARNING! This will remove anonymous local volumes not used by at least one container."
_ALL_WARNING = "WARNING! This will remove all local volumes not used by at least one container."


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    """docker's ``ConvertKVStringsToMap``/``MapOpts``: ``k=v`` -> k: v, a bare ``k`` -> k: ""."""
    out = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key like ``sortorder.NaturalLess`` (the docker CLI sorts ``volume ls`` with it): ``v2`` < ``v10``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


@click.group("volume")
def volume_group() -> None:
    """Manage volumes."""


@volume_group.command("create")
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local", show_default=True, help="Specify volume driver name")
@click.option("--label", multiple=True, help="Set metadata for a volume")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--name", "name_flag", hidden=True, help="Specify volume name")
def create_cmd(
    name: str | None, driver: str, label: tuple[str, ...], opt: tuple[str, ...], name_flag: str | None
) -> None:
    """Create a volume."""
    from dockyard.errors import InvalidArgument

    if name and name_flag:
        raise InvalidArgument("Conflicting options: either specify --name or provide positional arg, not both")
    volume = _engine().volumes.create(name or name_flag, driver, _pairs(label), _pairs(opt))
    click.echo(volume.name)


def _row(volume: Volume) -> dict[str, Any]:
    labels = volume.labels or {}
    return {
        "Availability": "N/A",
        "Driver": volume.driver,
        "Group": "N/A",
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Links": "N/A",
        "Mountpoint": str(volume.mountpoint),
        "Name": volume.name,
        "Scope": volume.scope,
        "Size": "N/A",
        "Status": "N/A",
    }


_HEADERS = {
    "Name": "VOLUME NAME",
    "Mountpoint": "MOUNTPOINT",
    "Links": "LINKS",
    "Group": "GROUP",
    "Availability": "AVAILABILITY",
    "Status": "STATUS",
}


@volume_group.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'dangling=true')")
@click.option("--format", "fmt", help="Format output using a custom template ('table', 'json', or a Go template)")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names")
def ls_cmd(filters: tuple[str, ...], fmt: str | None, quiet: bool) -> None:
    """List volumes."""
    from dockyard.engine.volumes import VolumeFilters

    volumes = sorted(_engine().volumes.list(VolumeFilters.parse(filters)), key=lambda v: natural_key(v.name))
    rows = [_row(v) for v in volumes]
    quiet = quiet and fmt in (None, "", "table")
    headers = [("DRIVER", "Driver"), ("VOLUME NAME", "Name")]
    render_rows(fmt, rows, headers, quiet_field="Name", quiet=quiet, headers=_HEADERS)


volume_group.add_command(ls_cmd, "list")


@volume_group.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
def inspect_cmd(names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more volumes."""
    from dockyard.cli.commands.inspect import print_inspect

    print_inspect(list(names), _engine().volumes.inspect, fmt)


@volume_group.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes")
def rm_cmd(names: tuple[str, ...], force: bool) -> None:
    """Remove one or more volumes. You cannot remove a volume that is in use by a container."""
    failed = False
    for report in _engine().volumes.delete(list(names), force=force):
        if report.error is not None:
            failed = True
            click.echo(f"Error response from daemon: {report.message}", err=True)
        else:
            click.echo(report.name)
    if failed:
        sys.exit(1)


volume_group.add_command(rm_cmd, "remove")


@volume_group.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused volumes, not just anonymous ones")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<label>')")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
def prune_cmd(all_: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused local volumes."""
    from dockyard.cli.output import human_size
    from dockyard.engine.volumes import VolumeFilters

    parsed = VolumeFilters.parse(filters)
    if not force:
        click.echo(_ALL_WARNING if all_ or parsed.prune_all() else _UNUSED_WARNING)
        if not click.confirm("Are you sure you want to continue?", default=False, prompt_suffix=" "):
            return
    report = _engine().volumes.prune(parsed, all=all_)
    if report.deleted:
        click.echo("Deleted Volumes:")
        for name in report.deleted:
            click.echo(name)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.space_reclaimed, 4)}")
