"""``ps``/``container ls``, ``container inspect`` and ``port``: the docker CLI's columns, truncation, ``--format``
fields and port display, from the service's summaries (``ps`` imports no runtime or network code)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.commands.container_cmd import DockerCommand, service

if TYPE_CHECKING:
    from dockyard.engine.containers.listing import ContainerSummary
    from dockyard.engine.containers.records import PublishedPort

__all__ = ["displayable_ports", "go_quote", "inspect_cmd", "ls_cmd", "port_cmd", "ps_rows"]

HEADERS = [
    ("CONTAINER ID", "ID"),
    ("IMAGE", "Image"),
    ("COMMAND", "Command"),
    ("CREATED", "RunningFor"),
    ("STATUS", "Status"),
    ("PORTS", "Ports"),
    ("NAMES", "Names"),
]
HEADER_NAMES = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
}  # fmt: skip


def ellipsis(text: str, limit: int) -> str:
    """docker's ``stringutils.Ellipsis``: at most ``limit`` characters, the last one ``…`` when cut."""
    if len(text) <= limit:
        return text
    if limit <= 3:
        return text[:limit]
    return text[: limit - 1] + "…"


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: double quotes, Go escapes for control characters, printable Unicode kept."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def displayable_ports(ports: Sequence[PublishedPort], exposed: Sequence[str] = ()) -> str:
    """docker/cli ``DisplayablePorts``: ``0.0.0.0:4000->80/tcp``, exposed-only ports as ``80/tcp``, runs of
    same-numbered ports folded into ranges."""
    entries: list[tuple[int, str, int, str]] = [(p.container_port, p.host_ip, p.host_port, p.protocol) for p in ports]
    published = {(p.container_port, p.protocol) for p in ports}
    for key in exposed:
        port, _, proto = key.partition("/")
        if port.isdigit() and (int(port), proto or "tcp") not in published:
            entries.append((int(port), "", 0, proto or "tcp"))
    entries.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(key: str, first: int, last: int) -> str:
        ip, _, kind = key.rpartition("/")
        group = str(first) if first == last else f"{first}-{last}"
        if ip:
            group = f"{ip}:{group}->{group}"
        return f"{group}/{kind}"

    for private, ip, public, proto in entries:
        key = proto
        if ip:
            if public != private:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{public}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
            order.append(key)
            continue
        if private == group[1] + 1:
            group[1] = private
            continue
        result.append(form(key, group[0], group[1]))
        groups[key] = [private, private]
    result += [form(k, *groups[k]) for k in order]
    return ", ".join(result + mappings)


def _image_column(image: str, image_id: str, trunc: bool) -> str:
    if not image:
        return "<no image>"
    if not trunc:
        return image
    short = image_id.removeprefix("sha256:")[:12]
    if image.removeprefix("sha256:")[:12] == short:
        return short
    from dockyard.engine.containers.listing import split_reference

    domain, path, tag, _ = split_reference(image)
    name = path.removeprefix("library/") if domain == "docker.io" else f"{domain}/{path}"
    typed_tag = ":" in image.partition("@")[0].rpartition("/")[2]
    return f"{name}:{tag}" if typed_tag else name  # docker: the tag only when one was given


FIELDS = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports",
          "RunningFor", "Size", "State", "Status")  # fmt: skip


def _field(name: str, s: ContainerSummary, trunc: bool, now: float) -> str:
    from dockyard.cli.output import human_duration, human_size

    r = s.record
    if name == "Command":
        return go_quote(ellipsis(s.command, 20) if trunc else s.command)
    if name == "CreatedAt":
        from dockyard.timeutil import go_time_string

        return go_time_string(r.created)
    if name == "ID":
        return r.id[:12] if trunc else r.id
    if name == "Image":
        return _image_column(s.image, r.image_id, trunc)
    if name == "Labels":
        return ",".join(f"{k}={v}" for k, v in r.config.labels.items())
    if name == "LocalVolumes":
        return str(sum(1 for m in r.mounts if m.type.value == "volume"))
    if name == "Mounts":
        mounts = [m.source for m in r.mounts if m.type.value in ("volume", "bind")]
        return ",".join(ellipsis(m, 15) if trunc else m for m in mounts)
    if name == "Names":
        return r.name
    if name == "Networks":
        from dockyard.engine.containers.listing import network_names

        return ",".join(network_names(r))
    if name == "Ports":
        running = r.status.value in ("running", "paused")
        return displayable_ports(r.ports, r.config.exposed_ports) if running else ""
    if name == "RunningFor":
        return f"{human_duration(max(0.0, now - r.created))} ago"
    if name == "Size":
        size = human_size(s.size_rw or 0)
        return f"{size} (virtual {human_size(s.size_root_fs)})" if s.size_root_fs else size
    if name == "State":
        return str(r.status)
    from dockyard.engine.containers.listing import status_text

    return status_text(r, now)


def ps_rows(
    summaries: Sequence[ContainerSummary], *, trunc: bool, now: float, fields: Sequence[str] = FIELDS
) -> list[dict[str, Any]]:
    """docker's ps fields for each summary (only ``fields``: some cost more than others)."""
    return [{name: _field(name, s, trunc, now) for name in fields} for s in summaries]


def _wanted_fields(fmt: str | None, size: bool) -> tuple[str, ...]:
    if fmt in (None, "", "table"):
        return ("ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names", *(("Size",) if size else ()))
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
        port, _, proto = private_port.partition("/")
        if not port.isdigit():
            click.echo(f'Error: invalid port ({port}): strconv.ParseUint: parsing "{port}": invalid syntax', err=True)
            sys.exit(1)
        lines = published_lines(ports, private_port)
        if not lines:
            click.echo(f"Error: No public port '{port}/{proto or 'tcp'}' published for {container}", err=True)
            sys.exit(1)
    else:
        lines = published_lines(ports)
    for line in lines:
        click.echo(line)
