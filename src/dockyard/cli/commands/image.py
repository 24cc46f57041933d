"""``dockyard image ...`` and its shortcuts (images, rmi, tag, history, import, save, load). ``image ls``'s flags and
listing are in ``imageflow.py`` (the command line's fast path serves ``images`` from there without click)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.app import LazyGroup
from dockyard.cli.commands.imageflow import IMAGE_LS_FLAGS, list_images
from dockyard.cli.flagtable import click_options
from dockyard.cli.output import human_duration, human_size, render_rows

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.images import PruneReport

__all__ = [
    "deleted_lines",
    "history_cmd",
    "image_group",
    "import_cmd",
    "inspect_cmd",
    "load_cmd",
    "ls_cmd",
    "prune_cmd",
    "rm_cmd",
    "save_cmd",
    "tag_cmd",
]


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


@click.group(
    "image",
    cls=LazyGroup,
    lazy={
        "pull": "dockyard.cli.commands.distribution:pull_cmd",
        "push": "dockyard.cli.commands.distribution:push_cmd",
        "build": "dockyard.cli.commands.build:build_cmd",
    },
)
def image_group() -> None:
    """Manage images."""


# -- ls ---------------------------------------------------------------------------------------------------
@image_group.command("ls")
@click.argument("repository", required=False)
@click_options(IMAGE_LS_FLAGS)
def ls_cmd(repository: str | None, **params: Any) -> None:
    """List images."""
    list_images(click.get_current_context().obj, repository, params)


image_group.add_command(ls_cmd, "list")


# -- tag / rm ---------------------------------------------------------------------------------------------
@click.command("tag")
@click.argument("source")
@click.argument("target")
def tag_cmd(source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    _engine().images.tag(source, target)


image_group.add_command(tag_cmd)


@click.command("rm")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents")
def rm_cmd(images: tuple[str, ...], force: bool, no_prune: bool) -> None:
    """Remove one or more images."""
    from dockyard.engine.images import RemoveOptions
    from dockyard.errors import DockyardError

    try:
        reports = _engine().images.remove(list(images), RemoveOptions(force=force, prune_parents=not no_prune))
    except DockyardError as exc:
        for r in getattr(exc, "reports", []):
            click.echo(f"Untagged: {r.untagged}" if r.untagged else f"Deleted: {r.deleted}")
        raise
    for r in reports:
        click.echo(f"Untagged: {r.untagged}" if r.untagged else f"Deleted: {r.deleted}")


image_group.add_command(rm_cmd)
image_group.add_command(rm_cmd, "remove")


# -- inspect ----------------------------------------------------------------------------------------------
@click.command("inspect")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
def inspect_cmd(images: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more images."""
    from dockyard.cli.commands.inspect import print_inspect

    engine = _engine()

    def fetch(name: str) -> dict[str, Any]:
        from dockyard.api.schemas.images import image_inspect

        image = engine.images.get(name)
        layers = engine.store.layers.chain(image.record.top_layer)
        return image_inspect(image, layers, str(engine.store.layers.root))

    print_inspect(list(images), fetch, fmt)


image_group.add_command(inspect_cmd)


# -- prune ------------------------------------------------------------------------------------------------
def deleted_lines(report: PruneReport) -> list[str]:
    """What an image prune removed, as docker lists it: ``untagged: <ref>`` and ``deleted: <id>`` lines."""
    return [f"untagged: {r.untagged}" if r.untagged else f"deleted: {r.deleted}" for r in report.deleted]


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
def prune_cmd(all_: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused images."""
    from dockyard.engine.images import ImageFilters

    if not force:
        warning = (
            "WARNING! This will remove all images without at least one container associated to them."
            if all_
            else "WARNING! This will remove all dangling images."
        )
        click.echo(warning)
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    report = _engine().images.prune(all=all_, filters=ImageFilters.parse(filters))
    if report.deleted:
        click.echo("\n".join(["Deleted Images:", *deleted_lines(report), ""]))
    click.echo(f"Total reclaimed space: {human_size(report.space_reclaimed)}")


image_group.add_command(prune_cmd)


# -- history ----------------------------------------------------------------------------------------------
@click.command("history")
@click.argument("image")
@click.option("--format", "fmt", help="Format output using a custom template")
@click.option("-H", "--human", type=bool, default=True, show_default=True, help="Print sizes and dates in human form")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
def history_cmd(image: str, fmt: str | None, human: bool, no_trunc: bool, quiet: bool) -> None:
    """Show the history of an image."""
    from dockyard.timeutil import parse_rfc3339

    entries = _engine().images.history(image)
    now = time.time()
    rows = []
    for e in entries:
        image_id = e.id if (no_trunc or e.id == "<missing>") else e.id.removeprefix("sha256:")[:12]
        created_by = e.created_by.replace("\t", " ")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        ts = parse_rfc3339(e.created)
        rows.append(
            {
                "ID": image_id,
                "CreatedSince": (f"{human_duration(max(0.0, now - ts))} ago" if human else e.created) if ts else "N/A",
                "CreatedAt": e.created,
                "CreatedBy": created_by,
                "Size": human_size(e.size) if human else str(e.size),
                "Comment": e.comment,
            }
        )
    if quiet:
        for row in rows:
            click.echo(row["ID"])
        return
    headers = [
        ("IMAGE", "ID"),
        ("CREATED", "CreatedSince"),
        ("CREATED BY", "CreatedBy"),
        ("SIZE", "Size"),
        ("COMMENT", "Comment"),
    ]
    render_rows(fmt, rows, headers, headers={"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY"})


image_group.add_command(history_cmd)


# -- import / save / load / bootstrap ------------------------------------------------------------------
@click.command("import")
@click.argument("source")
@click.argument("repository", required=False)
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Set commit message for imported image")
@click.option("--platform", help="Set platform if server is multi-platform capable")
def import_cmd(
    source: str, repository: str | None, changes: tuple[str, ...], message: str, platform: str | None
) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    from dockyard.engine.archive import import_rootfs

    image_id = import_rootfs(_engine(), source, repository, list(changes), message, platform)
    click.echo(image_id)


image_group.add_command(import_cmd)


@click.command("save")
@click.argument("images", nargs=-1, required=True)
@click.option("-o", "--output", help="Write to a file, instead of STDOUT")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["docker-archive", "oci-archive"]),
    default="docker-archive",
    show_default=True,
    help="Archive format",
)
def save_cmd(images: tuple[str, ...], output: str | None, fmt: str) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    from dockyard.engine.archive import save_images
    from dockyard.errors import InvalidArgument

    if output is None and sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    save_images(_engine(), list(images), output, fmt)


image_group.add_command(save_cmd)


@click.command("load")
@click.option("-i", "--input", "input_", help="Read from tar archive file, instead of STDIN")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output")
def load_cmd(input_: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    from dockyard.engine.archive import load_images
    from dockyard.errors import InvalidArgument

    if input_ is None and sys.stdin.isatty():
        raise InvalidArgument("requested load from stdin, but stdin is empty")
    for line in load_images(_engine(), input_):
        click.echo(line)


image_group.add_command(load_cmd)


@image_group.command("bootstrap")
@click.argument("names", nargs=-1, required=True)
@click.option("--refresh", is_flag=True, help="Rebuild the cached root filesystem instead of reusing it")
def bootstrap_cmd(names: tuple[str, ...], refresh: bool) -> None:
    """Make base images without a registry: busybox (busybox-static), debian:<suite>[-slim] (mmdebstrap)."""
    from dockyard.engine.bootstrap import bootstrap

    engine = _engine()
    for name in names:
        started = time.monotonic()
        report = bootstrap(engine, name, refresh=refresh, log_line=lambda s: click.echo(s, err=True))
        took = time.monotonic() - started
        click.echo(f"{report.reference.familiar}: {report.image_id} ({took:.1f}s)")
