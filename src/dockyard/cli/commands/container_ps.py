"""``ps``/``container ls``, ``container inspect`` and ``port``: the docker CLI's columns, truncation, ``--format``
fields and port display, from the service's summaries (``ps`` imports no runtime or network code)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.commands.container_cmd import DockerCommand, service
from dockyard.cli.psformat import (
    FIELDS,
    HEADER_NAMES,
    HEADERS,
    ROW_FIELDS,
    TABLE_FIELDS,
    cell,
    displayable_ports,
    ellipsis,
    go_quote,
    image_column,
)

if TYPE_CHECKING:
    from dockyard.engine.containers.listing import ContainerSummary
    from dockyard.engine.containers.rows import ContainerRow

__all__ = ["displayable_ports", "go_quote", "inspect_cmd", "ls_cmd", "port_cmd", "ps_rows"]

_image_column = image_column  # the name the unit tests use


def _field(name: str, s: ContainerSummary, row: ContainerRow, trunc: bool, now: float) -> str:
    if name in ROW_FIELDS:
        return cell(name, row, s.image, trunc=trunc, now=now)
    from dockyard.cli.output import human_size

    r = s.record
    if name == "CreatedAt":
        from dockyard.timeutil import go_time_string

        return go_time_string(r.created)
    if name == "Labels":
        return ",".join(f"{k}={v}" for k, v in r.config.labels.items())
    if name == "LocalVolumes":
        return str(sum(1 for m in r.mounts if m.type.value == "volume"))
    if name == "Mounts":
        mounts = [m.source for m in r.mounts if m.type.value in ("volume", "bind")]
        return ",".join(ellipsis(m, 15) if trunc else m for m in mounts)
    if name == "Networks":
        from dockyard.engine.containers.listing import network_names

        return ",".join(network_names(r))
    if name == "Size":
        size = human_size(s.size_rw or 0)
        return f"{size} (virtual {human_size(s.size_root_fs)})" if s.size_root_fs else size
    return row.status_text(now)


def ps_rows(
    summaries: Sequence[ContainerSummary], *, trunc: bool, now: float, fields: Sequence[str] = FIELDS
) -> list[dict[str, Any]]:
    """docker's ps fields for each summary (only ``fields``: some cost more than others)."""
    from dockyard.engine.containers.rows import ContainerRow

    out = []
    for s in summaries:
        row = ContainerRow.of(s.record)
        out.append({name: _field(name, s, row, trunc, now) for name in fields})
    return out


def _wanted_fields(fmt: str | None, size: bool) -> tuple[str, ...]:
    if fmt in (None, "", "table"):
        return (*TABLE_FIELDS, *(("Size",) if size else ()))
    import re

    if fmt == "json" or re.search(r"{{\s*json\s+\.\s*}}", fmt):
        return FIELDS
    named = {m for m in re.findall(r"\.(\w+)", fmt) if m in FIELDS}
    return tuple(sorted(named | {"ID"}))


@click.command("ls", cls=DockerCommand)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option(
    "-f", "--filter", "filters", multiple=True, metavar="filter", help="Filter output based on conditions provided"
)
@click.option("--format", "fmt", metavar="string", help="Format output using a custom template")
@click.option(
    "-n",
    "--last",
    "last",
    type=int,
    default=-1,
    metavar="int",
    help="Show n last created containers (includes all states)",
)
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
def ls_cmd(all_: bool, filters: tuple[str, ...], fmt: str | None, last: int, latest: bool, no_trunc: bool,
           quiet: bool, size: bool) -> None:  # fmt: skip
    """List containers."""
    from dockyard.cli.output import render_rows

    limit = 1 if latest else last
    wants_size = size or bool(fmt and "Size" in fmt)
    summaries = service().list(all=all_, limit=limit, filters=filters, size=wants_size)
    fields = ("ID",) if quiet and not fmt else _wanted_fields(fmt, size)
    rows = ps_rows(summaries, trunc=not no_trunc, now=time.time(), fields=fields)
    headers = [*HEADERS, ("SIZE", "Size")] if size and not fmt else HEADERS
    if quiet and not fmt:
        for row in rows:
            sys.stdout.write(row["ID"] + "\n")
        return
    render_rows(fmt, rows, headers, headers=HEADER_NAMES)


@click.command("inspect", cls=DockerCommand)
@click.option("-f", "--format", "fmt", metavar="string", help="Format output using a custom template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.argument("containers", nargs=-1, required=True)
def inspect_cmd(fmt: str | None, size: bool, containers: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    from dockyard.cli.commands.inspect import print_inspect

    svc = service()
    print_inspect(list(containers), lambda name: svc.inspect(name, size=size), fmt)


@click.command("port", cls=DockerCommand)
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
def port_cmd(container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from dockyard.engine.containers.views import published_lines
    from dockyard.errors import DockyardError

    try:
        ports = service().port(container)
    except DockyardError as exc:
        click.echo(f"Error response from daemon: {exc.message}", err=True)
        sys.exit(1)
    if private_port:
        port = private_port.partition("/")[0]
        if not port.isdigit():
            click.echo(f'Error: invalid port ({port}): strconv.ParseUint: parsing "{port}": invalid syntax', err=True)
            sys.exit(1)
        lines = published_lines(ports, private_port)
        if not lines:
            click.echo(f"Error: No public port '{private_port}' published for {container}", err=True)
            sys.exit(1)
    else:
        lines = published_lines(ports)
    for line in lines:
        click.echo(line)
