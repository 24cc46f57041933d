"""``dockyard system service``: serve the Docker Engine API for docker, docker-py, compose, testcontainers."""

from __future__ import annotations

import click

__all__ = ["DEFAULT_SOCKET", "service_cmd"]

DEFAULT_SOCKET = "unix:///var/run/dockyard.sock"


@click.command("service")
@click.argument("listen", nargs=-1)
@click.option("-H", "--host", "hosts", multiple=True, help="Where to listen: unix:///path or tcp://host:port")
def service_cmd(listen: tuple[str, ...], hosts: tuple[str, ...]) -> None:
    """Serve the Docker Engine API (default unix:///var/run/dockyard.sock).

    Point Docker clients at it: DOCKER_HOST=unix:///var/run/dockyard.sock docker ps
    """
    from dockyard.api import serve

    engine = click.get_current_context().obj.engine
    uris = list(listen) + list(hosts) or [DEFAULT_SOCKET]
    try:
        start = engine.containers.service_started
    except (ImportError, AttributeError):
        start = None
    if start is not None:
        start()

    def ready(uri: str) -> None:
        click.echo(f"API listening on {uri}", err=True)

    serve(engine, uris, ready)
