"""``dockyard inspect``: any object by name or ID, trying containers, images, networks, volumes in turn."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from dockyard.errors import DockyardError, NotFound

__all__ = ["inspect_cmd", "print_inspect"]


def _go_indent(value: Any) -> str:
    text = json.dumps(value, indent=4, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def print_inspect(names: Sequence[str], fetch: Callable[[str], Any], fmt: str | None) -> None:
    """Print like docker inspect: a JSON array (4-space indent), or one ``--format`` line per object."""
    found: list[Any] = []
    errors: list[str] = []
    for name in names:
        try:
            found.append(fetch(name))
        except DockyardError as exc:
            errors.append(exc.message)
    if fmt:
        from dockyard.cli.output import Template

        tmpl = Template(fmt)
        for obj in found:
            click.echo(tmpl.render(obj))
    else:
        click.echo(_go_indent(found))
    if errors:
        for message in errors:
            # docker's own "No such object" (no type had the name) is the CLI's; the rest are the daemon's answers
            source = "Error" if message.startswith("No such object:") else "Error response from daemon"
            click.echo(f"{source}: {message}", err=True)
        sys.exit(1)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is container")
@click.option(
    "--type", "kind", type=click.Choice(["container", "image", "network", "volume"]), help="Only this type of object"
)
def inspect_cmd(names: tuple[str, ...], fmt: str | None, size: bool, kind: str | None) -> None:
    """Return low-level information on dockyard objects."""
    engine = click.get_current_context().obj.engine
    fetchers: list[tuple[str, Callable[[str], Any]]] = []

    def image(name: str) -> Any:
        from dockyard.api.schemas.images import image_inspect

        img = engine.images.get(name)
        return image_inspect(img, engine.store.layers.chain(img.record.top_layer), str(engine.store.layers.root))

    def container(name: str) -> Any:
        return engine.containers.inspect(name, size=size)

    def network(name: str) -> Any:
        return engine.networks.inspect(name)

    def volume(name: str) -> Any:
        return engine.volumes.inspect(name)

    for k, f in (("container", container), ("image", image), ("network", network), ("volume", volume)):
        if kind is None or kind == k:
            fetchers.append((k, f))

    def fetch(name: str) -> Any:
        for _k, f in fetchers:
            try:
                return f(name)
            except (NotFound, ImportError, AttributeError):
                continue
        raise NotFound(f"No such object: {name}")

    print_inspect(list(names), fetch, fmt)
