"""``system df`` and ``system prune``: docker's summaries of what the engine keeps on disk, and the one prune of it
all (containers, networks, images, build cache and, with ``--volumes``, volumes), in docker's words."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dockyard.cli.output import render_rows
from dockyard.cli.tables import human_size

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.diskusage import DiskUsage

__all__ = ["df_cmd", "disk_usage_rows", "system_prune_cmd"]

_DF_HEADERS = [("TYPE", "Type"), ("TOTAL", "TotalCount"), ("ACTIVE", "Active"), ("SIZE", "Size"),
               ("RECLAIMABLE", "Reclaimable")]  # fmt: skip


def _engine() -> Engine:
    engine: Engine = click.get_current_context().obj.engine
    return engine


def _reclaimable(reclaimable: int, total: int, percent: bool = True) -> str:
    """docker's RECLAIMABLE cell: the size, and the share of the total (integer division, as Go's)."""
    text = human_size(reclaimable, 4)
    return f"{text} ({reclaimable * 100 // total}%)" if percent and total > 0 else text


def disk_usage_rows(usage: DiskUsage) -> list[dict[str, str]]:
    """The four rows of ``docker system df`` (cli/command/formatter/disk_usage.go), cells as docker prints them."""
    used_by_images = sum(i.size - i.shared_size for i in usage.images if i.containers)
    running = [c for c in usage.containers if c.record.status.value == "running"]
    container_size = sum(c.size_rw or 0 for c in usage.containers)
    stopped_size = sum(c.size_rw or 0 for c in usage.containers if c.record.status.value != "running")
    volume_size = sum(v.size for v in usage.volumes)
    unused_volume_size = sum(v.size for v in usage.volumes if not v.ref_count)
    rows = [
        ("Images", len(usage.images), sum(1 for i in usage.images if i.containers), usage.layers_size,
         _reclaimable(usage.layers_size - used_by_images, usage.layers_size)),
        ("Containers", len(usage.containers), len(running), container_size,
         _reclaimable(stopped_size, container_size)),
        ("Local Volumes", len(usage.volumes), sum(1 for v in usage.volumes if v.ref_count), volume_size,
         _reclaimable(unused_volume_size, volume_size)),
        ("Build Cache", 0, 0, 0, _reclaimable(0, 0, percent=False)),
    ]  # fmt: skip
    return [
        {"Type": kind, "TotalCount": str(total), "Active": str(active), "Size": human_size(size, 4),
         "Reclaimable": reclaimable}
        for kind, total, active, size, reclaimable in rows
    ]  # fmt: skip


@click.command("df")
@click.option("--format", "fmt", help="Pretty-print images using a Go template")
def df_cmd(fmt: str | None) -> None:
    """Show docker disk usage."""
    render_rows(fmt, disk_usage_rows(_engine().system.disk_usage()), _DF_HEADERS)


def _warnings(all_: bool, volumes: bool) -> list[str]:
    out = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        out.append("all anonymous volumes not used by at least one container")  # docker 23 on: named ones stay
    if all_:
        out += ["all images without at least one container associated to them", "all build cache"]
    else:
        out += ["all dangling images", "all dangling build cache"]
    return out


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images not just dangling ones")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<key>=<value>')")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--volumes", is_flag=True, help="Prune volumes")
def system_prune_cmd(all_: bool, filters: tuple[str, ...], force: bool, volumes: bool) -> None:
    """Remove unused data."""
    from dockyard.cli.commands.image import deleted_lines
    from dockyard.engine.builds import BuildPruneOptions
    from dockyard.engine.images import ImageFilters
    from dockyard.engine.networks import NetworkFilters
    from dockyard.engine.volumes import VolumeFilters

    if not force:
        lines = ["WARNING! This will remove:", *(f"  - {w}" for w in _warnings(all_, volumes))]
        if filters:
            lines += ["", "  Items to be pruned will be filtered with:", *(f"  - {f}" for f in filters)]
        click.echo("\n".join(lines) + "\n")
        click.echo("Are you sure you want to continue? [y/N] ", nl=False)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return
    engine = _engine()
    reclaimed = 0

    def section(title: str, items: list[str]) -> None:
        if items:
            click.echo("\n".join([title, *items, ""]))

    containers = engine.containers.prune(filters)
    reclaimed += containers.space_reclaimed
    section("Deleted Containers:", list(containers.deleted))
    section("Deleted Networks:", list(engine.networks.prune(NetworkFilters.parse(filters)).deleted))
    if volumes:
        pruned = engine.volumes.prune(VolumeFilters.parse(filters))
        reclaimed += pruned.space_reclaimed
        section("Deleted Volumes:", list(pruned.deleted))
    images = engine.images.prune(all=all_, filters=ImageFilters.parse(filters))
    reclaimed += images.space_reclaimed
    section("Deleted Images:", deleted_lines(images))
    cache = engine.builds.prune(BuildPruneOptions(all=all_))
    if cache.deleted:
        from dockyard.cli.buildrecord.record import drop_all

        drop_all(engine.settings.layout.root)
    reclaimed += cache.space_reclaimed
    section("Deleted build cache objects:", [key.removeprefix("sha256:")[:25] for key in cache.deleted])
    click.echo(f"Total reclaimed space: {human_size(reclaimed, 4)}")
