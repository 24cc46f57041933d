"""``dockyard registry serve|gc``: dockyard's own OCI registry."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

__all__ = ["registry_group"]

_STORAGE_HELP = "Where the registry keeps its data (default /var/lib/dockyard-registry)."


def _size(n: int) -> str:
    """Docker's decimal units: ``512B``, ``1.5kB``, ``210MB``."""
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}GB"


@click.group("registry")
def registry_group() -> None:
    """Run dockyard's own registry (OCI distribution spec, Docker registry API v2)."""


@registry_group.command("serve")
@click.option("--addr", default="127.0.0.1:5000", show_default=True, help="Address to listen on (HOST:PORT).")
@click.option("--storage", type=click.Path(path_type=Path), envvar="DOCKYARD_REGISTRY_STORAGE", help=_STORAGE_HELP)
@click.option("--htpasswd", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="bcrypt htpasswd file.")
@click.option("--realm", default="dockyard-registry", show_default=True, help="Realm of the Basic auth challenge.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS private key.")
@click.option("--read-only", is_flag=True, help="Refuse pushes and deletes.")
@click.option("--allow-anonymous-push", is_flag=True, help="Let anyone push (only for throw-away registries).")
@click.option("--allow-anonymous-pull", is_flag=True, help="With --htpasswd, let anonymous users pull.")
@click.option("--token-auth", is_flag=True, help="Challenge with Bearer tokens from the registry's own /token.")
@click.option("--token-ttl", type=click.IntRange(60), default=300, show_default=True, help="Token lifetime (s).")
def serve_cmd(
    addr: str,
    storage: Path | None,
    htpasswd: Path | None,
    realm: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    read_only: bool,
    allow_anonymous_push: bool,
    allow_anonymous_pull: bool,
    token_auth: bool,
    token_ttl: int,
) -> None:
    """Serve a registry until SIGTERM or SIGINT.

    Without --htpasswd, anyone may pull and nobody may push (unless --allow-anonymous-push).
    Make users with: htpasswd -Bbn USER PASSWORD >> FILE
    """
    from dockyard.registry.server import DEFAULT_STORAGE, RegistryConfig, parse_addr, serve

    host, port = parse_addr(addr)
    config = RegistryConfig(
        storage=(storage or DEFAULT_STORAGE).absolute(),
        host=host,
        port=port,
        htpasswd=htpasswd,
        realm=realm,
        tls_cert=tls_cert,
        tls_key=tls_key,
        read_only=read_only,
        allow_anonymous_push=allow_anonymous_push,
        allow_anonymous_pull=allow_anonymous_pull,
        token_auth=token_auth,
        token_ttl=token_ttl,
    )
    server_log = logging.getLogger("dockyard.registry.server")
    if server_log.getEffectiveLevel() > logging.INFO:
        server_log.setLevel(logging.INFO)  # requests are logged at info level
    if allow_anonymous_push and not read_only:
        click.echo("WARNING: --allow-anonymous-push: anyone who can reach this registry can push to it", err=True)
    if htpasswd is None and not allow_anonymous_push and not read_only:
        click.echo("Pushes are refused: no --htpasswd file was given", err=True)

    def ready(url: str) -> None:
        click.echo(f"dockyard registry listening on {url} (storage {config.storage})")
        sys.stdout.flush()

    serve(config, ready)


@registry_group.command("gc")
@click.option("--storage", type=click.Path(path_type=Path), envvar="DOCKYARD_REGISTRY_STORAGE", help=_STORAGE_HELP)
@click.option("--dry-run", "-d", is_flag=True, help="Only print what would be deleted.")
@click.option("--delete-untagged", "-m", is_flag=True, help="Also delete manifests that no tag reaches.")
def gc_cmd(storage: Path | None, dry_run: bool, delete_untagged: bool) -> None:
    """Delete blobs that no manifest references (run it with the registry stopped)."""
    from dockyard.registry.server import DEFAULT_STORAGE, collect_garbage, lock_storage
    from dockyard.registry.server.config import UPLOAD_EXPIRY

    root = (storage or DEFAULT_STORAGE).absolute()
    if not root.is_dir():
        from dockyard.errors import NotFound

        raise NotFound(f"registry gc: no registry storage at {root}")
    with lock_storage(root, "registry gc"):
        report = collect_garbage(root, dry_run=dry_run, delete_untagged=delete_untagged, upload_expiry=UPLOAD_EXPIRY)
    verb = "would delete" if dry_run else "deleted"
    for name, digest in report.deleted_manifests:
        click.echo(f"{name}: {verb} manifest {digest}")
    for digest in report.deleted_blobs:
        click.echo(f"{verb} blob {digest}")
    click.echo(
        f"{report.marked} blobs marked, {len(report.deleted_blobs)} blobs and "
        f"{len(report.deleted_manifests)} manifests {verb}, {_size(report.freed_bytes)} freed"
        + (" (dry run)" if dry_run else "")
    )
