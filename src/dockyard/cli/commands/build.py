"""``dockyard build`` (Docker's classic builder output) and ``dockyard builder prune``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from dockyard.cli.app import LazyGroup

if TYPE_CHECKING:
    from dockyard.engine import Engine

__all__ = ["build_cmd", "builder_group", "prune_cmd"]


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


def _build_args(values: tuple[str, ...]) -> dict[str, str | None]:
    """``--build-arg K=V``; a bare ``K`` takes the value of the environment variable (unset if there is none)."""
    out: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition("=")
        out[key] = value if sep else os.environ.get(key)
    return out


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = value
    return out


@click.command("build")
@click.argument("path")
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag in the 'name:tag' format")
@click.option("-f", "--file", "dockerfile", default="", help="Name of the Dockerfile (default: 'PATH/Dockerfile')")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables")
@click.option("--target", default="", help="Set the target build stage to build")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print image ID on success")
@click.option("--iidfile", default="", help="Write the image ID to the file")
@click.option("--network", default="default", help="Networking mode for the RUN instructions: default, host, none")
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain", "tty", "quiet"]),
    default="auto",
    help="Type of progress output: plain (the classic builder's), quiet (only the image ID)",
)
@click.option(
    "--host-ca/--no-host-ca",
    default=None,
    help="Trust the host's CA certificates in RUN steps (mounted read-only, never stored in the image)",
)
@click.option("--explain-cache", is_flag=True, help="Say for every step why it was (not) taken from the cache")
@click.option("--rm/--no-rm", "remove", default=True, help="Remove intermediate containers after a successful build")
@click.option("--force-rm", is_flag=True, help="Always remove intermediate containers")
@click.option("--platform", default="", help="Set platform if server is multi-platform capable")
@click.option("--add-host", "add_hosts", multiple=True, help="Add a custom host-to-IP mapping (host:ip)")
def build_cmd(
    path: str,
    tags: tuple[str, ...],
    dockerfile: str,
    build_args: tuple[str, ...],
    target: str,
    no_cache: bool,
    pull: bool,
    labels: tuple[str, ...],
    quiet: bool,
    iidfile: str,
    network: str,
    progress: str,
    host_ca: bool | None,
    explain_cache: bool,
    remove: bool,
    force_rm: bool,
    platform: str,
    add_hosts: tuple[str, ...],
) -> None:
    """Build an image from a Dockerfile (PATH is a directory, or - for a tar or a Dockerfile on stdin)."""
    from dockyard.cli.output import human_size, print_error
    from dockyard.engine.builds import BuildNetwork, BuildOptions, context_transfer_size
    from dockyard.errors import DockyardError

    ctx = click.get_current_context()
    quiet = quiet or progress == "quiet"
    try:
        options = BuildOptions(
            tags=tags,
            dockerfile=dockerfile or "Dockerfile",
            build_args=_build_args(build_args),
            target=target,
            no_cache=no_cache,
            pull=pull,
            labels=_labels(labels),
            quiet=quiet,
            network=BuildNetwork.parse(network),
            host_ca=host_ca,
            explain_cache=explain_cache,
            remove=remove,
            force_remove=force_rm,
            platform=platform,
            extra_hosts=add_hosts,
        )
        service = _engine().builds
        if path == "-":
            context = service.open_stream(sys.stdin.buffer, dockerfile or "Dockerfile")
            context_id = ""
        else:
            context = service.open_directory(path, dockerfile)
            context_id = context.root
        with context:
            if not quiet:
                size = context_transfer_size(context)
                click.echo(f"Sending build context to Docker daemon  {human_size(size, 4)}\n")
            from dockyard.cli.progress import ProgressPrinter

            printer = ProgressPrinter(sys.stdout)
            result = service.build(context, options, printer, context_id=context_id)
    except DockyardError as exc:
        if ctx.obj.debug:
            import traceback

            traceback.print_exc()
        sys.stdout.flush()
        print_error(exc)
        ctx.exit(1)  # docker build exits 1 whatever failed
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(str(result.image_id))
    if quiet:
        click.echo(str(result.image_id))


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
    report = _engine().builds.prune(BuildPruneOptions(all=all_, until=until))
    if report.deleted:
        click.echo("Deleted build cache objects:")
        for key in report.deleted:
            click.echo(key.removeprefix("sha256:")[:25])
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.space_reclaimed)}")
