"""What ``run`` and ``create`` do once their flags are parsed: the image pulled when missing (docker's ``--pull``
policy and messages), the container created, and for ``run`` started — detached (the full ID printed) or in the
foreground (output, stdin, a TTY, signals, detach keys, the container's exit code as ours).

No click here: the click commands (``container_run.py``) and the command line's fast path (``cli/fastpath.py``,
which parses the common forms itself) both call :func:`run_container` and :func:`create_container`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.cli.commands.runflags import build_create_options
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.cli.state import CliState
    from dockyard.engine.containers import ContainerService, CreateOptions, CreateResult
    from dockyard.runtime import AttachSocket, Bundle

__all__ = ["create_container", "create_with_pull", "kill", "run_container", "run_foreground"]


def _say(text: str, *, err: bool = False) -> None:
    """``click.echo``: the line, flushed (the messages here carry no ANSI styles for click to strip)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _pull(state: CliState, image: str, quiet: bool) -> None:
    """``docker pull`` as ``run``/``create`` do it: progress on stderr."""
    from dockyard.cli.progress import ProgressPrinter
    from dockyard.engine.distribution import PullOptions

    printer = None
    if not quiet:
        printer = ProgressPrinter(sys.stderr)
    state.engine.distribution.pull(image, PullOptions(quiet=quiet), printer)
    if printer is not None:
        printer.close()


def _familiar(image: str) -> str:
    from dockyard.oci.reference import parse_reference

    try:
        ref = parse_reference(image)
    except InvalidArgument:
        return image
    return ref.familiar if ref.digest is not None else ref.with_default_tag().familiar


def create_with_pull(state: CliState, options: CreateOptions, pull: str, quiet: bool) -> CreateResult:
    from dockyard.engine.containers import NoSuchImage

    svc = state.engine.containers
    if pull not in ("always", "missing", "never"):
        raise InvalidArgument(f'invalid pull option: \'{pull}\': must be one of "always", "missing" or "never"')
    if pull == "always":
        _pull(state, options.image, quiet)
    try:
        return svc.create(options)
    except NoSuchImage:
        if pull != "missing":
            raise
    _say(f"Unable to find image '{_familiar(options.image)}' locally", err=True)
    _pull(state, options.image, quiet)
    return svc.create(options)


def _write_cidfile(path: str | None, container_id: str) -> None:
    if not path:
        return
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InvalidArgument(f"Container ID file found, make sure the other container isn't running or delete "
                              f"{path}") from None  # fmt: skip
    with os.fdopen(fd, "w") as f:
        f.write(container_id)


def create_container(state: CliState, params: Mapping[str, Any], image: str, args: Sequence[str]) -> None:
    """``docker create``: the new container's ID on stdout."""
    options = build_create_options(params, image, args, detach=False)  # docker create attaches like run
    result = create_with_pull(state, options, params["pull"], params["quiet"])
    _write_cidfile(params["cidfile"], result.id)
    for warning in result.warnings:
        _say(f"WARNING: {warning}", err=True)
    _say(result.id)


def run_container(
    state: CliState, params: Mapping[str, Any], image: str, args: Sequence[str], *, detach: bool, sig_proxy: bool
) -> int:
    """``docker run``: the exit code to exit with (the container's, in the foreground)."""
    options = build_create_options(params, image, args, detach=detach)
    result = create_with_pull(state, options, params["pull"], params["quiet"])
    _write_cidfile(params["cidfile"], result.id)
    for warning in result.warnings:
        _say(f"WARNING: {warning}", err=True)
    svc = state.engine.containers
    if detach:
        svc.start(result.id)
        _say(result.id)
        return 0
    code = run_foreground(svc, result.id, options, sig_proxy=sig_proxy, detach_keys=params["detach_keys"])
    sys.stdout.flush()
    return code


def kill(svc: ContainerService, container_id: str, signal: str) -> None:
    from dockyard.engine.containers import KillOptions

    svc.kill([container_id], KillOptions(signal))


def run_foreground(
    svc: ContainerService, container_id: str, options: CreateOptions, *, sig_proxy: bool, detach_keys: str | None
) -> int:
    """Attach, start, pump until the output ends, then the exit code (``--rm``: once the container is gone)."""
    from dockyard.runtime import AttachSocket

    sockets: list[AttachSocket] = []

    def attach(bundle: Bundle) -> None:
        sockets.append(AttachSocket.connect(bundle.attach_socket))

    def prepare() -> None:
        """What attaching and waiting need, imported while runc creates the container (off the critical path)."""
        import dockyard.cli.commands.container_attach  # noqa: F401
        from dockyard.engine.containers import WaitCondition  # noqa: F401
        from dockyard.runtime import PumpResult  # noqa: F401

    tty = options.tty
    stdin = options.attach_stdin
    console = None
    if tty:
        from dockyard.cli.commands.container_attach import terminal_size

        console = terminal_size()
    started = svc.start(container_id, attachers=[attach], console_size=console, while_creating=prepare)
    from dockyard.cli.commands.container_attach import forward_signals, pump_attached, raw_terminal, watch_resize
    from dockyard.engine.containers import WaitCondition
    from dockyard.runtime import PumpResult

    conn = sockets[0]
    interactive_tty = tty and stdin and sys.stdin.isatty()
    with (
        conn,
        raw_terminal(sys.stdin.fileno(), interactive_tty),
        watch_resize(lambda h, w: svc.resize(container_id, h, w), tty and console is not None),
        forward_signals(lambda sig: kill(svc, container_id, sig), sig_proxy and not tty),
    ):
        result = pump_attached(
            conn,
            stdin=stdin,
            tty=tty,
            stdout=options.attach_stdout,
            stderr=options.attach_stderr,
            detach_keys=detach_keys,
        )
    if result is PumpResult.DETACHED:
        return 0
    condition = WaitCondition.REMOVED if options.auto_remove else WaitCondition.NEXT_EXIT
    return svc.wait(container_id, condition, run_token=started.run_token)
