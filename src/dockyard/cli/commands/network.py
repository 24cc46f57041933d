"""``dockyard network ...``: create, ls, inspect, rm, prune, connect, disconnect (docker's flags and output)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.output import render_rows

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.network.types import Network

__all__ = ["network_group"]


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, _, value = item.partition("=")
        if not key:
            raise click.BadParameter(f"invalid {what}: {item}")
        out[key] = value
    return out


@click.group("network")
def network_group() -> None:
    """Manage networks."""


@network_group.command("create")
@click.argument("name")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Driver to manage the Network")
@click.option("--subnet", multiple=True, help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", multiple=True, help="IPv4 Gateway for the master subnet")
@click.option("--ip-range", multiple=True, help="Allocate container ip from a sub-range")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment")
@click.option("--ipv6", is_flag=True, help="Enable IPv6 networking")
@click.option("--label", multiple=True, help="Set metadata on a network")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--ipam-driver", default="default", help="IP Address Management Driver")
@click.option("--ipam-opt", multiple=True, help="Set IPAM driver specific options")
def create_cmd(
    name: str,
    driver: str,
    subnet: tuple[str, ...],
    gateway: tuple[str, ...],
    ip_range: tuple[str, ...],
    internal: bool,
    attachable: bool,
    ipv6: bool,
    label: tuple[str, ...],
    opt: tuple[str, ...],
    ipam_driver: str,
    ipam_opt: tuple[str, ...],
) -> None:
    """Create a network."""
    from dockyard.errors import InvalidArgument
    from dockyard.network.types import NetworkCreate

    if ipam_driver != "default":
        raise InvalidArgument(f'plugin "{ipam_driver}" not found')
    if len(subnet) > 1 or len(gateway) > 1 or len(ip_range) > 1:
        raise InvalidArgument("network create: only one subnet per network is supported")
    if gateway and not subnet:
        raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
    if ip_range and not subnet:
        raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
    request = NetworkCreate(
        name=name,
        driver=driver,
        subnet=subnet[0] if subnet else None,
        gateway=gateway[0] if gateway else None,
        ip_range=ip_range[0] if ip_range else None,
        internal=internal,
        attachable=attachable,
        ipv6=ipv6,
        labels=_pairs(label, "label"),
        options=_pairs(opt, "option"),
        ipam_options=_pairs(ipam_opt, "IPAM option"),
    )
    click.echo(_engine().networks.create(request).id)


def _row(net: Network, no_trunc: bool) -> dict[str, Any]:
    from dockyard.timeutil import go_time_string, parse_rfc3339

    return {
        "CreatedAt": go_time_string(parse_rfc3339(net.created)),
        "Driver": str(net.driver),
        "ID": net.id if no_trunc else net.id[:12],
        "IPv6": "true" if net.ipv6 else "false",
        "Internal": "true" if net.internal else "false",
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(net.labels.items())),
        "Name": net.name,
        "Scope": net.scope,
    }


@network_group.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'driver=bridge')")
@click.option("--format", "fmt", help="Format output using a custom template ('table', 'json', or a Go template)")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
def ls_cmd(filters: tuple[str, ...], fmt: str | None, no_trunc: bool, quiet: bool) -> None:
    """List networks."""
    from dockyard.engine.networks import NetworkFilters

    nets = _engine().networks.list(NetworkFilters.parse(filters))
    rows = [_row(n, no_trunc) for n in nets]
    headers = [("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver"), ("SCOPE", "Scope")]
    names = {"ID": "NETWORK ID", "CreatedAt": "CREATED AT"}
    render_rows(fmt, rows, headers, quiet_field="ID", quiet=quiet, headers=names)


network_group.add_command(ls_cmd, "list")


@network_group.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics")
def inspect_cmd(names: tuple[str, ...], fmt: str | None, verbose: bool) -> None:
    """Display detailed information on one or more networks."""
    from dockyard.cli.commands.inspect import print_inspect

    service = _engine().networks
    print_inspect(list(names), service.inspect, fmt)


@network_group.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist")
def rm_cmd(names: tuple[str, ...], force: bool) -> None:
    """Remove one or more networks."""
    failed = False
    for report in _engine().networks.delete(list(names)):
        if not report.error:
            click.echo(report.name)
        elif force and report.error.endswith("not found"):
            continue
        else:
            failed = True
            click.echo(f"Error response from daemon: {report.error}", err=True)
    if failed:
        sys.exit(1)


network_group.add_command(rm_cmd, "remove")


@network_group.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def prune_cmd(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    from dockyard.engine.networks import NetworkFilters

    parsed = NetworkFilters.parse(filters)
    if not force:
        click.echo("WARNING! This will remove all custom networks not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False, prompt_suffix=" "):
            return
    report = _engine().networks.prune(parsed)
    if report.deleted:
        click.echo("Deleted Networks:")
        for name in report.deleted:
            click.echo(name)


@network_group.command("connect")
@click.argument("network")
@click.argument("container")
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", help="IPv4 address (e.g., 172.30.100.104)")
def connect_cmd(network: str, container: str, alias: tuple[str, ...], ip: str | None) -> None:
    """Connect a container to a network."""
    from dockyard.engine.networks import ConnectOptions

    _engine().networks.connect(network, container, ConnectOptions(tuple(alias), ip))


@network_group.command("disconnect")
@click.argument("network")
@click.argument("container")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
def disconnect_cmd(network: str, container: str, force: bool) -> None:
    """Disconnect a container from a network."""
    _engine().networks.disconnect(network, container, force)
