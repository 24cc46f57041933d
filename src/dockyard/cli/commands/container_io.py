"""``logs``, ``attach``, ``exec``, ``top`` and ``stats``: a container's output and processes, as the docker CLI
shows them."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.commands.container_cmd import DockerCommand, service
from dockyard.cli.commands.container_lifecycle import daemon_error

if TYPE_CHECKING:
    from dockyard.engine.containers.streams import StatsSample

__all__ = ["attach_cmd", "exec_cmd", "logs_cmd", "stats_cmd", "top_cmd"]


def _fail(exc: Exception) -> None:
    from dockyard.errors import DockyardError

    daemon_error(exc.message if isinstance(exc, DockyardError) else str(exc))
    sys.exit(1)


@click.command("logs", cls=DockerCommand)
@click.option("--details", is_flag=True, help="Show extra details provided to logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--since", metavar="string", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
              "(e.g. 42m for 42 minutes)")  # fmt: skip
@click.option("-n", "--tail", default="all", metavar="string", help="Number of lines to show from the end of the logs")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("--until", metavar="string", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
              "(e.g. 42m for 42 minutes)")  # fmt: skip
@click.argument("container")
def logs_cmd(details: bool, follow: bool, since: str | None, tail: str, timestamps: bool, until: str | None,
             container: str) -> None:  # fmt: skip
    """Fetch the logs of a container."""
    from dockyard.errors import DockyardError, InvalidArgument
    from dockyard.runtime import LogOptions, Stream, format_timestamp
    from dockyard.timeutil import parse_timestamp

    svc = service()
    try:
        record = svc.get(container)
        if tail != "all" and not tail.lstrip("-").isdigit():
            raise InvalidArgument(f'invalid value for "tail": "{tail}"')
        options = LogOptions(
            follow=follow,
            tail=None if tail == "all" else int(tail),
            since_ns=int(parse_timestamp(since) * 1e9) if since else None,
            until_ns=int(parse_timestamp(until) * 1e9) if until else None,
        )
        entries = svc.logs(record.id, options)
    except (DockyardError, ValueError) as exc:
        _fail(exc)
        return
    out = sys.stdout.buffer
    err = out if record.config.tty else sys.stderr.buffer
    try:
        for entry in entries:
            target = out if entry.stream is Stream.STDOUT else err
            if timestamps:
                target.write(format_timestamp(entry.time_ns).encode() + b" ")
            target.write(entry.data)
            if follow:
                target.flush()
    finally:
        out.flush()
        err.flush()


@click.command("attach", cls=DockerCommand)
@click.option("--detach-keys", metavar="string", help="Override the key sequence for detaching a container")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.option("--sig-proxy/--no-sig-proxy", default=True, help="Proxy all received signals to the process")
@click.argument("container")
def attach_cmd(detach_keys: str | None, no_stdin: bool, sig_proxy: bool, container: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    from dockyard.cli.commands.container_attach import (
        forward_signals,
        pump_attached,
        raw_terminal,
        watch_resize,
    )
    from dockyard.cli.commands.container_run import _kill
    from dockyard.engine.containers import ContainerStatus, WaitCondition
    from dockyard.errors import DockyardError
    from dockyard.runtime import PumpResult

    svc = service()
    try:
        record = svc.get(container)
        if record.status is not ContainerStatus.RUNNING:
            if record.status is ContainerStatus.PAUSED:
                raise DockyardError("You cannot attach to a paused container, unpause it first")
            raise DockyardError("You cannot attach to a stopped container, start it first")
        conn = svc.attach(record.id).wait(10)
    except (DockyardError, TimeoutError) as exc:
        _fail(exc)
        return
    tty = record.config.tty
    stdin = record.config.open_stdin and not no_stdin
    with (
        conn,
        raw_terminal(sys.stdin.fileno(), tty and stdin and sys.stdin.isatty()),
        watch_resize(lambda h, w: svc.resize(record.id, h, w), tty and sys.stdout.isatty()),
        forward_signals(lambda sig: _kill(svc, record.id, sig), sig_proxy and not tty),
    ):
        result = pump_attached(conn, stdin=stdin, tty=tty, detach_keys=detach_keys)
    if result is PumpResult.DETACHED:
        click.echo("read escape sequence", err=True)
        return
    code = svc.wait(record.id, WaitCondition.NEXT_EXIT, run_token=record.run_token)
    sys.stdout.flush()
    click.get_current_context().exit(code)


@click.command("exec", cls=DockerCommand)
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@click.option("--detach-keys", metavar="string", help="Override the key sequence for detaching a container")
@click.option("-e", "--env", multiple=True, metavar="list", help="Set environment variables")
@click.option("--env-file", multiple=True, metavar="list", help="Read in a file of environment variables")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-u", "--user", default="", metavar="string",
              help='Username or UID (format: "<name|uid>[:<group|gid>]")')  # fmt: skip
@click.option("-w", "--workdir", default="", metavar="string", help="Working directory inside the container")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(detach: bool, detach_keys: str | None, env: tuple[str, ...], env_file: tuple[str, ...],
             interactive: bool, privileged: bool, tty: bool, user: str, workdir: str, container: str,
             command: tuple[str, ...]) -> None:  # fmt: skip
    """Execute a command in a running container."""
    from dockyard.cli.commands.container_attach import pump_attached, raw_terminal, terminal_size, watch_resize
    from dockyard.cli.commands.container_flags import parse_env_file, parse_env_values
    from dockyard.engine.containers import ExecCreateOptions
    from dockyard.errors import Conflict, DockyardError, NotFound
    from dockyard.runtime import AttachSocket

    environment: list[str] = []
    for path in env_file:
        environment += parse_env_file(path)
    environment += parse_env_values(env)
    options = ExecCreateOptions(
        cmd=command,
        env=tuple(environment),
        working_dir=workdir,
        user=user,
        tty=tty,
        attach_stdin=interactive and not detach,
        attach_stdout=not detach,
        attach_stderr=not detach,
        privileged=privileged,
        detach_keys=detach_keys or "",
    )
    svc = service()
    try:
        exec_id = svc.exec_create(container, options)
    except (NotFound, Conflict) as exc:
        _fail(exc)
        return
    console = terminal_size() if tty else None
    try:
        handle = svc.exec_start(exec_id, detach=detach, console_size=console)
    except DockyardError as exc:  # the process could not be started: 127 not found, else 126, as docker exec
        daemon_error(exc.message)
        sys.exit(getattr(exc, "exit_code", 126))
    if detach:
        handle.close()
        return
    with AttachSocket.connect(handle.attach_socket) as conn:
        handle.start()
        with (
            raw_terminal(sys.stdin.fileno(), tty and interactive and sys.stdin.isatty()),
            watch_resize(handle.resize, tty and console is not None),
        ):
            pump_attached(conn, stdin=interactive, tty=tty, detach_keys=detach_keys)
    code = handle.wait()
    sys.stdout.flush()
    click.get_current_context().exit(code if code is not None else 0)


@click.command("top", cls=DockerCommand)
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
def top_cmd(container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    from dockyard.cli.output import render_table
    from dockyard.errors import DockyardError

    try:
        result = service().top(container, " ".join(ps_args))
    except DockyardError as exc:
        _fail(exc)
        return
    render_table(list(result.titles), [list(p) for p in result.processes])


def _stats_row(now: StatsSample, before: StatsSample | None, trunc: bool) -> dict[str, Any]:
    from dockyard.cli.output import binary_size, human_size

    row: dict[str, Any] = {"Container": now.id[:12] if trunc else now.id, "ID": now.id[:12] if trunc else now.id,
                           "Name": now.name}  # fmt: skip
    cg = now.cgroup
    if cg is None:
        row.update({"CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%", "NetIO": "0B / 0B",
                    "BlockIO": "0B / 0B", "PIDs": "0"})  # fmt: skip
        return row
    cpu = 0.0
    if before is not None and before.cgroup is not None:
        cpu_delta = cg.cpu.total_ns - before.cgroup.cpu.total_ns
        system_delta = cg.system_cpu_ns - before.cgroup.system_cpu_ns
        if cpu_delta > 0 and system_delta > 0:
            cpu = cpu_delta / system_delta * cg.online_cpus * 100.0
    stats = dict(cg.memory.stats)
    usage = cg.memory.usage
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    if inactive < usage:
        usage -= inactive
    limit = cg.memory.limit or now.memory_total
    if now.memory_total:
        limit = min(limit, now.memory_total)
    read = sum(e.value for e in cg.blkio if e.op.lower() == "read")
    write = sum(e.value for e in cg.blkio if e.op.lower() == "write")
    row.update(
        {
            "CPUPerc": f"{cpu:.2f}%",
            "MemUsage": f"{binary_size(usage)} / {binary_size(limit)}",
            "MemPerc": f"{(usage / limit * 100.0) if limit else 0.0:.2f}%",
            "NetIO": f"{human_size(now.rx_bytes)} / {human_size(now.tx_bytes)}",
            "BlockIO": f"{human_size(read)} / {human_size(write)}",
            "PIDs": str(cg.pids.current),
        }
    )
    return row


STATS_HEADERS = [("CONTAINER ID", "ID"), ("NAME", "Name"), ("CPU %", "CPUPerc"), ("MEM USAGE / LIMIT", "MemUsage"),
                 ("MEM %", "MemPerc"), ("NET I/O", "NetIO"), ("BLOCK I/O", "BlockIO"), ("PIDS", "PIDs")]  # fmt: skip
STATS_NAMES = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
               "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
               "PIDs": "PIDS"}  # fmt: skip


def _sample(names: Sequence[str]) -> list[StatsSample]:
    svc = service()
    out = []
    for name in names:
        try:
            out.append(svc.stats(name))
        except Exception:  # gone meanwhile
            continue
    return out


@click.command("stats", cls=DockerCommand)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("--format", "fmt", metavar="string", help="Format output using a custom template")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output")
@click.argument("containers", nargs=-1)
def stats_cmd(all_: bool, fmt: str | None, no_stream: bool, no_trunc: bool, containers: tuple[str, ...]) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    from dockyard.cli.output import render_rows
    from dockyard.errors import DockyardError

    svc = service()
    if containers:
        names = list(containers)
        try:
            for name in names:
                svc.get(name)
        except DockyardError as exc:
            _fail(exc)
            return
    else:
        names = [s.record.id for s in svc.list(all=all_)]
    before = {s.id: s for s in _sample(names)}
    while True:
        time.sleep(1.0)
        samples = _sample(names)
        rows = [_stats_row(s, before.get(s.id), not no_trunc) for s in samples]
        if not no_stream:
            sys.stdout.write("\x1b[2J\x1b[H")
        render_rows(fmt, rows, STATS_HEADERS, headers=STATS_NAMES)
        sys.stdout.flush()
        if no_stream:
            return
        before = {s.id: s for s in samples}
