"""The ``dockyard`` command line. Commands are imported lazily: ``dockyard ps`` loads only what ps needs.

Each entry of :data:`COMMANDS` maps a command name to ``"module:attribute"`` (a click command or group), and
:data:`SUMMARIES` gives its help text, so ``dockyard --help`` lists every command without importing any.
Top-level shortcuts (``images``, ``rmi``, ``ps``, ``run``...) point at the same click objects as the long
forms (``image ls``, ``image rm``, ``container ls``, ``container run``) so both behave identically.

Start-up cost is most of what short commands cost, so this module imports only ``os`` and ``sys``. ``main``
first hands the command line to the warm helper when one runs (:mod:`dockyard.cli.warmclient`: a process with
all of this imported already, which forks a child to run the command). Run here (:func:`run`), the command
line goes first to the fast paths of :mod:`dockyard.cli.fastpath` (``ps`` and ``--version`` without click or
the engine's classes); anything they do not take, exactly as given, goes to the click
application in :mod:`dockyard.cli.app`, with the dataclass compile cache (:mod:`dockyard.cli.dcache`) in place.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["COMMANDS", "GC_THRESHOLD", "SUMMARIES", "VERSION_MESSAGE", "main", "run"]

VERSION_MESSAGE = "dockyard version %(version)s"

COMMANDS: dict[str, str] = {
    # groups
    "image": "dockyard.cli.commands.image:image_group",
    "container": "dockyard.cli.commands.container:container_group",
    "network": "dockyard.cli.commands.network:network_group",
    "volume": "dockyard.cli.commands.volume:volume_group",
    "system": "dockyard.cli.commands.system:system_group",
    "builder": "dockyard.cli.commands.build:builder_group",
    "registry": "dockyard.cli.commands.registry:registry_group",
    # image shortcuts
    "images": "dockyard.cli.commands.image:ls_cmd",
    "rmi": "dockyard.cli.commands.image:rm_cmd",
    "tag": "dockyard.cli.commands.image:tag_cmd",
    "history": "dockyard.cli.commands.image:history_cmd",
    "import": "dockyard.cli.commands.image:import_cmd",
    "save": "dockyard.cli.commands.image:save_cmd",
    "load": "dockyard.cli.commands.image:load_cmd",
    "build": "dockyard.cli.commands.build:build_cmd",
    "pull": "dockyard.cli.commands.distribution:pull_cmd",
    "push": "dockyard.cli.commands.distribution:push_cmd",
    "login": "dockyard.cli.commands.distribution:login_cmd",
    "logout": "dockyard.cli.commands.distribution:logout_cmd",
    "search": "dockyard.cli.commands.distribution:search_cmd",
    # container shortcuts
    "run": "dockyard.cli.commands.container:run_cmd",
    "create": "dockyard.cli.commands.container:create_cmd",
    "start": "dockyard.cli.commands.container:start_cmd",
    "stop": "dockyard.cli.commands.container:stop_cmd",
    "restart": "dockyard.cli.commands.container:restart_cmd",
    "kill": "dockyard.cli.commands.container:kill_cmd",
    "pause": "dockyard.cli.commands.container:pause_cmd",
    "unpause": "dockyard.cli.commands.container:unpause_cmd",
    "rm": "dockyard.cli.commands.container:rm_cmd",
    "wait": "dockyard.cli.commands.container:wait_cmd",
    "logs": "dockyard.cli.commands.container:logs_cmd",
    "exec": "dockyard.cli.commands.container:exec_cmd",
    "attach": "dockyard.cli.commands.container:attach_cmd",
    "ps": "dockyard.cli.commands.container:ls_cmd",
    "top": "dockyard.cli.commands.container:top_cmd",
    "stats": "dockyard.cli.commands.container:stats_cmd",
    "port": "dockyard.cli.commands.container:port_cmd",
    "cp": "dockyard.cli.commands.container:cp_cmd",
    "rename": "dockyard.cli.commands.container:rename_cmd",
    "update": "dockyard.cli.commands.container:update_cmd",
    "diff": "dockyard.cli.commands.container:diff_cmd",
    "commit": "dockyard.cli.commands.container:commit_cmd",
    "export": "dockyard.cli.commands.container:export_cmd",
    # everything else
    "inspect": "dockyard.cli.commands.inspect:inspect_cmd",
    "info": "dockyard.cli.commands.system:info_cmd",
    "events": "dockyard.cli.commands.events:events_cmd",
    "version": "dockyard.cli.commands.system:version_cmd",
}

# The first paragraph of each command's help (tests/unit/cli/test_main.py checks them against the commands).
SUMMARIES: dict[str, str] = {
    "attach": "Attach local standard input, output, and error streams to a running container.",
    "build": "Build an image from a Dockerfile (PATH is a directory, or - for a tar or a Dockerfile on stdin).",
    "builder": "Manage builds.",
    "commit": "Create a new image from a container's changes.",
    "container": "Manage containers.",
    "cp": "Copy files/folders between a container and the local filesystem.",
    "create": "Create a new container.",
    "diff": "Inspect changes to files or directories on a container's filesystem.",
    "events": "Get real time events from the server.",
    "exec": "Execute a command in a running container.",
    "export": "Export a container's filesystem as a tar archive.",
    "history": "Show the history of an image.",
    "image": "Manage images.",
    "images": "List images.",
    "import": "Import the contents from a tarball to create a filesystem image.",
    "info": "Display system-wide information.",
    "inspect": "Return low-level information on dockyard objects.",
    "kill": "Kill one or more running containers.",
    "load": "Load an image from a tar archive or STDIN.",
    "login": "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
    "logout": "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
    "logs": "Fetch the logs of a container.",
    "network": "Manage networks.",
    "pause": "Pause all processes within one or more containers.",
    "port": "List port mappings or a specific mapping for the container.",
    "ps": "List containers.",
    "pull": "Download an image from a registry.",
    "push": "Upload an image to a registry.",
    "registry": "Run dockyard's own registry (OCI distribution spec, Docker registry API v2).",
    "rename": "Rename a container.",
    "update": "Update configuration of one or more containers.",
    "restart": "Restart one or more containers.",
    "rm": "Remove one or more containers.",
    "rmi": "Remove one or more images.",
    "run": "Create and run a new container from an image.",
    "search": "Search registries for images (Docker Hub by default; HOST[:PORT]/TERM searches that registry).",
    "save": "Save one or more images to a tar archive (streamed to STDOUT by default).",
    "start": "Start one or more stopped containers.",
    "stats": "Display a live stream of container(s) resource usage statistics.",
    "stop": "Stop one or more running containers.",
    "system": "Manage dockyard and check the host.",
    "tag": "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.",
    "top": "Display the running processes of a container.",
    "unpause": "Unpause all processes within one or more containers.",
    "version": "Show the dockyard version information.",
    "volume": "Manage volumes.",
    "wait": "Block until one or more containers stop, then print their exit codes.",
}


def _dispatch(argv: list[str] | None) -> object:
    """Run the command: a fast path when one takes it, else click (its return value: an exit code or None)."""
    args = sys.argv[1:] if argv is None else list(argv)
    from dockyard.cli.fastpath import run_fast

    handled = run_fast(args)
    if handled is not None:
        return handled
    if args not in ([], ["--help"], ["-h"]):  # the top-level help defines no dataclass
        from dockyard.cli.dcache import install

        install()  # before any dataclass is defined: most commands define dozens
    from dockyard.cli.app import cli

    return cli.main(args=argv, prog_name="dockyard", standalone_mode=False)


# Starting a command creates ~100,000 objects (modules, classes, functions) that all live to the end, and the cyclic
# garbage collector, run every 700 allocations, went through them ~40 times (5-7 ms of a short command) freeing
# nothing. Every 50,000 allocations instead: no collection in a short command, while a long-running one (the API
# server, ``logs -f``) still collects its young cycles regularly.
GC_THRESHOLD = 50_000


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn errors into one line on stderr and Docker's exit codes.

    The process's own command line (``argv`` None) is first offered to the warm helper (``cli/warmclient.py``):
    when it ran the command, its exit status is this process's."""
    if argv is None:
        from dockyard.cli.warmclient import handoff

        code = handoff(sys.argv[1:])
        if code is not None:
            os._exit(code)
    run(argv, os._exit if argv is None else None)


def run(argv: list[str] | None, end: Callable[[int], object] | None = None) -> None:
    """Run a command line (``sys.argv[1:]`` when ``argv`` is None) here: what a fresh process does, and what the
    warm helper's child does for its client. ``end`` ends the process once the command is done (``os._exit``; the
    helper's child reports the status first), see :func:`_exit_now`; without it a failing command raises
    ``SystemExit`` and a successful one returns (tests, embedding)."""
    import gc

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    debug = bool(os.environ.get("DOCKYARD_DEBUG")) or any(a in ("--debug", "-D") for a in (argv or sys.argv[1:]))
    try:
        rc = _dispatch(argv)
    except SystemExit:
        raise
    except BaseException as exc:
        _fail(exc, debug, sys.argv[1:] if argv is None else argv)
    code = rc if isinstance(rc, int) else 0  # ctx.exit(n) returns n when standalone_mode is off
    if end is not None:
        _exit_now(code, end)  # the process's own command line: done, no interpreter teardown
    if code:
        sys.exit(code)


def _exit_now(code: int, end: Callable[[int], object] = os._exit) -> None:
    """End the process as the interpreter would, without its teardown: freeing every module, class and function
    a command created costs more than some commands (~20-30 ms after a ``run``). What the teardown would do that
    matters is done here: the ``atexit`` functions (logging's flush, the dataclass cache...), closing the database
    (the last connection checkpoints and removes the WAL, as at any exit: every commit was already synced), and
    flushing stdout and stderr. A thread that is not a daemon still running means the normal way (it is waited
    for); so do a profiler or tracer (cProfile, coverage) and a failure to flush (the reader went away: ``_fail``
    says what to do)."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return  # a profiler, coverage or a debugger: they write their results at the interpreter's exit
    threading = sys.modules.get("threading")
    if threading is not None:
        main_thread = threading.main_thread()
        if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
            return
    import atexit

    atexit._run_exitfuncs()
    db = sys.modules.get("dockyard.store.db")
    if db is not None:
        db.close_all()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # closed by the caller (``>&-``)
                stream.flush()
    except BaseException as exc:
        _fail(exc, debug=False)
        return
    end(code)


def _fail(exc: BaseException, debug: bool, args: list[str] | None = None) -> None:
    """Exit as the error asks: click's usage errors and aborts, dockyard's errors, interrupts, OS errors.

    What the engine refused is reported as the docker CLI reports the daemon's refusals: ``Error response from
    daemon: <message>`` and exit status 1 — except for ``run``, where 125 tells the engine's failure from the
    container's own exit status (Docker's ``run`` exit codes: 125, 126, 127), and for the registry server's own
    commands (``Error: ...``, 125). Usage errors are 125 everywhere.
    click is only consulted when it was loaded (an error from a fast path cannot be one of its exceptions)."""
    from dockyard.errors import DockyardError

    click = sys.modules.get("click")
    if click is not None:
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(125 if exc.exit_code in (1, 2) else exc.exit_code)
    if isinstance(exc, DockyardError):
        if debug:
            import traceback

            traceback.print_exc()
        from dockyard.cli.output import print_error

        if _is_run(args):
            _report_run_error(exc)
            sys.exit(getattr(exc, "exit_code", 125))
        if _engine_errors_are_125(args):
            print_error(exc)
            sys.exit(getattr(exc, "exit_code", 125))
        print_error(exc, prefix="Error response from daemon")
        sys.exit(getattr(exc, "exit_code", 1))
    if isinstance(exc, KeyboardInterrupt):
        sys.exit(130)
    if isinstance(exc, BrokenPipeError):
        # The reader went away (``dockyard images | head``): stop quietly, as docker does on SIGPIPE, and keep the
        # interpreter from complaining again when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(141)
    if isinstance(exc, OSError):
        if debug:
            raise exc
        from dockyard.cli.output import print_error

        where = f"{exc.filename}: " if exc.filename else ""
        print_error(DockyardError(f"{where}{exc.strerror or exc}"))
        sys.exit(125)
    raise exc


def _is_run(args: list[str] | None) -> bool:
    if args is None:
        return False
    from dockyard.cli.warmclient import command_words

    words = command_words(args)
    return words[:1] == ["run"] or words[:2] == ["container", "run"]


def _report_run_error(exc: BaseException) -> None:
    """What ``run`` could not do, in the docker CLI's words: ``dockyard: Error response from daemon: <message>.``,
    and ``See 'dockyard run --help'.`` when the container was never started (exit 125; a command that could not
    start, 126 or 127, gets no help line). A reference the client itself cannot parse is not the daemon's answer."""
    message = (getattr(exc, "message", None) or str(exc)).rstrip(".")
    if not message.startswith("invalid reference format"):
        message = f"Error response from daemon: {message}"
    lines = [f"dockyard: {message}."]
    if getattr(exc, "exit_code", 125) == 125:
        lines.append("See 'dockyard run --help'.")
    hint = getattr(exc, "hint", None)
    if hint:
        lines.append(f"Hint: {hint}")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def _engine_errors_are_125(args: list[str] | None) -> bool:
    """``run`` and ``container run`` (Docker's run exit codes), and ``registry`` (the registry server's own
    commands, no daemon's answers); an unknown command line too."""
    if args is None:
        return True
    from dockyard.cli.warmclient import command_words

    words = command_words(args)
    return words[:1] in (["run"], ["registry"]) or words[:2] == ["container", "run"]
