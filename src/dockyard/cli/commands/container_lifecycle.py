"""``start``, ``stop``, ``restart``, ``kill``, ``pause``, ``unpause``, ``rm``, ``wait``, ``rename``, ``container
prune`` and the hidden ``container cleanup`` conmon runs. Batch commands print each name as given and, like
docker, report failures as ``Error response from daemon: ...`` and exit 1 once all names were tried."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from dockyard.cli.commands.container_cmd import DockerCommand, service

if TYPE_CHECKING:
    from dockyard.engine.containers import ItemReport

__all__ = [
    "cleanup_cmd",
    "kill_cmd",
    "pause_cmd",
    "prune_cmd",
    "rename_cmd",
    "restart_cmd",
    "rm_cmd",
    "start_cmd",
    "stop_cmd",
    "unpause_cmd",
    "update_cmd",
    "wait_cmd",
]


def daemon_error(message: str) -> None:
    click.echo(f"Error response from daemon: {message}", err=True)


def print_reports(reports: Sequence[ItemReport]) -> None:
    """Names that worked on stdout, errors on stderr; exit 1 if anything failed."""
    failed = False
    for report in reports:
        if report.ok:
            click.echo(report.name)
        else:
            daemon_error(report.error)
            failed = True
    if failed:
        sys.stdout.flush()
        sys.exit(1)


@click.command("start", cls=DockerCommand)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.option("--detach-keys", metavar="string", help="Override the key sequence for detaching a container")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@click.argument("containers", nargs=-1, required=True)
def start_cmd(attach: bool, detach_keys: str | None, interactive: bool, containers: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    svc = service()
    if not (attach or interactive):
        print_reports(svc.start_many(containers))
        return
    if len(containers) > 1:
        daemon_error("you cannot start and attach multiple containers at once")
        sys.exit(1)
    from dataclasses import replace

    from dockyard.cli.commands.container_run import run_foreground
    from dockyard.errors import DockyardError

    try:
        record = svc.get(containers[0])
    except DockyardError as exc:
        daemon_error(exc.message)
        sys.exit(1)
    options = replace(
        record.options,
        attach_stdin=interactive and record.config.open_stdin,
        attach_stdout=True,
        attach_stderr=True,
        tty=record.config.tty,
    )
    code = run_foreground(svc, record.id, options, sig_proxy=True, detach_keys=detach_keys)
    sys.stdout.flush()
    click.get_current_context().exit(code)


@click.command("stop", cls=DockerCommand)
@click.option("-s", "--signal", default="", metavar="string", help="Signal to send to the container")
@click.option("-t", "--time", "--timeout", "timeout", type=int, metavar="int",
              help="Seconds to wait before killing the container")  # fmt: skip
@click.argument("containers", nargs=-1, required=True)
def stop_cmd(signal: str, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    from dockyard.engine.containers import StopOptions

    print_reports(service().stop(containers, StopOptions(timeout=timeout, signal=signal)))


@click.command("restart", cls=DockerCommand)
@click.option("-s", "--signal", default="", metavar="string", help="Signal to send to the container")
@click.option("-t", "--time", "--timeout", "timeout", type=int, metavar="int",
              help="Seconds to wait before killing the container")  # fmt: skip
@click.argument("containers", nargs=-1, required=True)
def restart_cmd(signal: str, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    from dockyard.engine.containers import StopOptions

    print_reports(service().restart(containers, StopOptions(timeout=timeout, signal=signal)))


@click.command("kill", cls=DockerCommand)
@click.option("-s", "--signal", default="KILL", metavar="string", help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
def kill_cmd(signal: str, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    from dockyard.engine.containers import KillOptions

    print_reports(service().kill(containers, KillOptions(signal=signal)))


@click.command("pause", cls=DockerCommand)
@click.argument("containers", nargs=-1, required=True)
def pause_cmd(containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    print_reports(service().pause(containers))


@click.command("unpause", cls=DockerCommand)
@click.argument("containers", nargs=-1, required=True)
def unpause_cmd(containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    print_reports(service().unpause(containers))


@click.command("rm", cls=DockerCommand)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@click.option("-l", "--link", is_flag=True, help="Remove the specified link")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container")
@click.argument("containers", nargs=-1, required=True)
def rm_cmd(force: bool, link: bool, volumes: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    from dockyard.engine.containers import RemoveOptions

    print_reports(service().remove(containers, RemoveOptions(force=force, volumes=volumes)))


@click.command("wait", cls=DockerCommand)
@click.argument("containers", nargs=-1, required=True)
def wait_cmd(containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    from dockyard.errors import DockyardError

    svc = service()
    failed = False
    for name in containers:
        try:
            click.echo(svc.wait(name))
        except DockyardError as exc:
            daemon_error(exc.message)
            failed = True
    if failed:
        sys.exit(1)


@click.command("rename", cls=DockerCommand)
@click.argument("container")
@click.argument("new_name")
def rename_cmd(container: str, new_name: str) -> None:
    """Rename a container."""
    from dockyard.errors import DockyardError

    try:
        service().rename(container, new_name)
    except DockyardError as exc:
        daemon_error(exc.message)
        click.echo(f"Error: failed to rename container named {container}", err=True)
        sys.exit(1)


@click.command("update", cls=DockerCommand)
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("--blkio-weight", type=int, help="Block IO (relative weight), between 10 and 1000, or 0 to disable")
@click.option("--cpu-period", type=int, help="Limit CPU CFS (Completely Fair Scheduler) period")
@click.option("--cpu-quota", type=int, help="Limit CPU CFS (Completely Fair Scheduler) quota")
@click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
@click.option("--cpus", help="Number of CPUs")
@click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
@click.option("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
@click.option("-m", "--memory", help="Memory limit")
@click.option("--memory-reservation", help="Memory soft limit")
@click.option("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
@click.option("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
@click.option("--restart", help="Restart policy to apply when a container exits")
def update_cmd(
    containers: tuple[str, ...],
    blkio_weight: int | None,
    cpu_period: int | None,
    cpu_quota: int | None,
    cpu_shares: int | None,
    cpus: str | None,
    cpuset_cpus: str | None,
    cpuset_mems: str | None,
    memory: str | None,
    memory_reservation: str | None,
    memory_swap: str | None,
    pids_limit: int | None,
    restart: str | None,
) -> None:
    """Update configuration of one or more containers."""
    from dockyard.cli.commands.runflags import parse_bytes_flag, parse_cpus_flag
    from dockyard.engine.containers import RestartPolicy, UpdateOptions
    from dockyard.errors import DockyardError

    options = UpdateOptions(
        memory=None if memory is None else parse_bytes_flag(memory, "--memory"),
        memory_swap=None if memory_swap is None else parse_bytes_flag(memory_swap, "--memory-swap", True),
        memory_reservation=(
            None if memory_reservation is None else parse_bytes_flag(memory_reservation, "--memory-reservation")
        ),
        nano_cpus=None if cpus is None else parse_cpus_flag(cpus),
        cpu_shares=cpu_shares,
        cpu_period=cpu_period,
        cpu_quota=cpu_quota,
        cpuset_cpus=cpuset_cpus,
        cpuset_mems=cpuset_mems,
        pids_limit=pids_limit,
        blkio_weight=blkio_weight,
        restart_policy=None if restart is None else RestartPolicy.parse(restart),
    )
    if not options.changes():
        click.echo("you must provide one or more flags when using this command", err=True)  # docker's CLI check
        sys.exit(1)
    failed = False
    for name in containers:  # as docker: every container is tried, the names that worked on stdout
        try:
            for warning in service().update(name, options):
                click.echo(warning, err=True)
        except DockyardError as exc:
            daemon_error(exc.message)
            failed = True
            continue
        click.echo(name)
    if failed:
        sys.exit(1)


@click.command("prune", cls=DockerCommand)
@click.option(
    "--filter", "filters", multiple=True, metavar="filter", help="Provide filter values (e.g. 'until=<timestamp>')"
)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
def prune_cmd(filters: tuple[str, ...], force: bool) -> None:
    """Remove all stopped containers."""
    from dockyard.cli.output import human_size

    if not force:
        click.echo("WARNING! This will remove all stopped containers.")
        click.echo("Are you sure you want to continue? [y/N] ", nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return
    report = service().prune(filters)
    if report.deleted:
        click.echo("Deleted Containers:")
        for cid in report.deleted:
            click.echo(cid)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.space_reclaimed)}")


@click.command("cleanup", cls=DockerCommand, hidden=True)
@click.option("--token", default="", help="The run the exit belongs to")
@click.argument("container_id")
def cleanup_cmd(token: str, container_id: str) -> None:
    """Record a container's exit (run by its monitor when it ends)."""
    service().cleanup(container_id, token)
