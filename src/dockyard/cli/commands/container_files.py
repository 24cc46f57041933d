"""``cp``, ``diff``, ``commit`` and ``export``: a container's files, with the docker CLI's rules for where a
copy lands (docker/cli ``cp.go``: a file onto a file or into a directory, a directory's contents with ``/.``)."""

from __future__ import annotations

import os
import sys
import tarfile
import tempfile
from typing import IO

import click

from dockyard.cli.commands.container_cmd import DockerCommand, service
from dockyard.cli.commands.container_lifecycle import daemon_error

__all__ = ["commit_cmd", "cp_cmd", "diff_cmd", "export_cmd", "split_cp_arg"]


def split_cp_arg(arg: str) -> tuple[str, str]:
    """(container, path): ``c:/etc/hosts``; a local path is absolute, has no ``:`` or starts with ``.``."""
    if arg.startswith("/"):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep or container.startswith("."):
        return "", arg
    return container, path


def _fail(message: str) -> None:
    click.echo(f"Error: {message}" if not message.startswith("Error") else message, err=True)
    sys.exit(1)


class _Counter:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _copy_out(container: str, src: str, dst: str, quiet: bool) -> None:
    from dockyard.cli.output import human_size
    from dockyard.engine.containers.files import rebase_name
    from dockyard.errors import DockyardError

    svc = service()
    if dst == "-":
        try:
            svc.archive_get(container, src, sys.stdout.buffer)
        except DockyardError as exc:
            daemon_error(f"{exc.message} {container}" if exc.message.endswith("in container") else exc.message)
            sys.exit(1)
        return
    try:
        info = svc.archive_stat(container, src)
    except DockyardError as exc:
        daemon_error(f"{exc.message} {container}" if exc.message.endswith("in container") else exc.message)
        sys.exit(1)
    dst_exists = os.path.lexists(dst)
    dst_dir = os.path.isdir(dst)
    base = "." if src.endswith("/.") else os.path.basename(src.rstrip("/")) or "/"
    if info.is_dir and dst_exists and not dst_dir:
        _fail("cannot copy a directory to a file")
    if not dst_exists and dst.endswith("/"):
        _fail(f'destination "{dst}" must be a directory')
    if dst_exists and dst_dir:
        target, rename = dst, None
    else:
        target = os.path.dirname(os.path.abspath(dst))
        if not os.path.isdir(target):
            _fail(f"no such directory: {target}")
        rename = os.path.basename(dst.rstrip("/"))
    uid, gid = os.getuid(), os.getgid()

    def member_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        name = rebase_name(member.name, base, rename) if rename else member.name
        safe = tarfile.tar_filter(member.replace(name=name, deep=False), path)
        return safe.replace(uid=uid, gid=gid, uname="", gname="", deep=False) if safe else None

    with tempfile.TemporaryFile() as spool:
        counter = _Counter(spool)
        svc.archive_get(container, src, counter)  # type: ignore[arg-type]
        spool.seek(0)
        with tarfile.open(fileobj=spool, mode="r|") as tar:
            tar.extractall(target, filter=member_filter)
    if not quiet:
        click.echo(f"Successfully copied {human_size(counter.count)} to {dst}", err=True)


def _copy_in(src: str, container: str, dst: str, quiet: bool, follow: bool) -> None:
    from dockyard.cli.output import human_size
    from dockyard.errors import DockyardError, NotFound

    svc = service()
    if src == "-":
        try:
            svc.archive_put(container, dst, sys.stdin.buffer)
        except DockyardError as exc:
            daemon_error(exc.message)
            sys.exit(1)
        return
    if not os.path.lexists(src):
        _fail(f"lstat {os.path.abspath(src)}: no such file or directory")
    local = os.path.realpath(src) if follow else src
    src_dir = os.path.isdir(local) and not os.path.islink(local)
    try:
        dst_info = svc.archive_stat(container, dst)
    except NotFound:
        dst_info = None
    except DockyardError as exc:
        daemon_error(exc.message)
        sys.exit(1)
    if dst_info is not None and dst_info.is_dir:
        target = dst
        arcname = "." if src.endswith("/.") else os.path.basename(os.path.normpath(src))
    else:
        if dst_info is not None and src_dir:
            _fail("cannot copy a directory to a file")
        if dst_info is None and dst.endswith("/"):
            _fail(f'destination "{container}:{dst}" must be a directory')
        target = os.path.dirname(dst.rstrip("/")) or "/"
        arcname = os.path.basename(dst.rstrip("/"))
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tar.add(local, arcname=arcname)
        size = spool.tell()
        spool.seek(0)
        try:
            svc.archive_put(container, target, spool)
        except DockyardError as exc:
            daemon_error(exc.message)
            sys.exit(1)
    if not quiet:
        click.echo(f"Successfully copied {human_size(size)} to {container}:{dst}", err=True)


@click.command("cp", cls=DockerCommand)
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output during copy")
@click.argument("source", metavar="SRC_PATH")
@click.argument("destination", metavar="DEST_PATH")
def cp_cmd(archive: bool, follow_link: bool, quiet: bool, source: str, destination: str) -> None:
    """Copy files/folders between a container and the local filesystem.

    Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in a
    container. Use '-' as the destination to stream a tar archive of a container source to stdout.
    """
    src_container, src_path = split_cp_arg(source)
    dst_container, dst_path = split_cp_arg(destination)
    if src_container and dst_container:
        _fail("copying between containers is not supported")
    if not src_container and not dst_container:
        _fail("must specify at least one container source")
    if src_container:
        _copy_out(src_container, src_path, dst_path, quiet or dst_path == "-")
    else:
        _copy_in(src_path, dst_container, dst_path, quiet or src_path == "-", follow_link)


@click.command("diff", cls=DockerCommand)
@click.argument("container")
def diff_cmd(container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    from dockyard.errors import DockyardError

    try:
        changes = service().diff(container)
    except DockyardError as exc:
        daemon_error(exc.message)
        sys.exit(1)
    for change in changes:
        click.echo(f"{change.kind.letter} {change.path}")


@click.command("commit", cls=DockerCommand)
@click.option("-a", "--author", default="", metavar="string",
              help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')  # fmt: skip
@click.option(
    "-c", "--change", "changes", multiple=True, metavar="list", help="Apply Dockerfile instruction to the created image"
)
@click.option("-m", "--message", default="", metavar="string", help="Commit message")
@click.option("-p", "--pause/--no-pause", default=True, help="Pause container during commit")
@click.argument("container")
@click.argument("repository", required=False, metavar="[REPOSITORY[:TAG]]")
def commit_cmd(author: str, changes: tuple[str, ...], message: str, pause: bool, container: str,
               repository: str | None) -> None:  # fmt: skip
    """Create a new image from a container's changes."""
    from dockyard.engine.containers import CommitOptions

    image_id = service().commit(container, CommitOptions(repository, author, message, changes, pause))
    click.echo(image_id)


@click.command("export", cls=DockerCommand)
@click.option("-o", "--output", metavar="string", help="Write to a file, instead of STDOUT")
@click.argument("container")
def export_cmd(output: str | None, container: str) -> None:
    """Export a container's filesystem as a tar archive."""
    from dockyard.errors import DockyardError

    if not output and sys.stdout.isatty():
        _fail("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    svc = service()
    try:
        if output:
            tmp = f"{output}.tmp-{os.getpid()}"
            try:
                with open(tmp, "wb") as f:
                    svc.export(container, f)
                os.replace(tmp, output)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            svc.export(container, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except DockyardError as exc:
        daemon_error(exc.message)
        sys.exit(1)
