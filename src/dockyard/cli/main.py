"""The ``dockyard`` command line. Commands are imported lazily: ``dockyard ps`` loads only what ps needs.

Each entry of :data:`COMMANDS` maps a command name to ``"module:attribute"`` (a click command or group).
Top-level shortcuts (``images``, ``rmi``, ``ps``, ``run``...) point at the same click objects as the long
forms (``image ls``, ``image rm``, ``container ls``, ``container run``) so both behave identically.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from dockyard import __version__

__all__ = ["COMMANDS", "main"]

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
    "diff": "dockyard.cli.commands.container:diff_cmd",
    "commit": "dockyard.cli.commands.container:commit_cmd",
    "export": "dockyard.cli.commands.container:export_cmd",
    # everything else
    "inspect": "dockyard.cli.commands.inspect:inspect_cmd",
    "info": "dockyard.cli.commands.system:info_cmd",
    "version": "dockyard.cli.commands.system:version_cmd",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, from a ``name -> "mod:attr"`` table."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | {n for n in self.lazy if self._available(n)}
        return sorted(names)

    def _available(self, name: str) -> bool:
        module = self.lazy[name].partition(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self.lazy.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        cmd = getattr(module, attr, None)
        if not isinstance(cmd, click.Command):
            return None
        return cmd


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.option("--root", envvar="DOCKYARD_ROOT", metavar="DIR", help="State root (default /var/lib/dockyard).")
@click.option("--debug", "-D", is_flag=True, envvar="DOCKYARD_DEBUG", help="Show tracebacks and debug logs.")
@click.option(
    "--log-level",
    "-l",
    type=click.Choice(["debug", "info", "warn", "error", "fatal"]),
    default="warn",
    help="Logging level.",
)
@click.version_option(__version__, "--version", "-v", message="dockyard version %(version)s")
@click.pass_context
def cli(ctx: click.Context, root: str | None, debug: bool, log_level: str) -> None:
    """A Docker-compatible container engine.

    Use it as you would use docker: dockyard build, dockyard run, dockyard push...
    """
    from dockyard.cli.state import CliState

    ctx.obj = CliState(root=root, debug=debug, log_level="debug" if debug else log_level)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn errors into one line on stderr and Docker's exit codes."""
    from dockyard.errors import DockyardError

    debug = bool(os.environ.get("DOCKYARD_DEBUG")) or any(a in ("--debug", "-D") for a in (argv or sys.argv[1:]))
    try:
        rc = cli.main(args=argv, prog_name="dockyard", standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)  # ctx.exit(n) returns n when standalone_mode is off
    except click.exceptions.Abort:
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(125 if exc.exit_code in (1, 2) else exc.exit_code)
    except DockyardError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        from dockyard.cli.output import print_error

        print_error(exc)
        sys.exit(getattr(exc, "exit_code", 125))
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if debug or isinstance(exc, BrokenPipeError):
            raise
        from dockyard.cli.output import print_error

        where = f"{exc.filename}: " if exc.filename else ""
        print_error(DockyardError(f"{where}{exc.strerror or exc}"))
        sys.exit(125)
    except BrokenPipeError:
        # stdout closed early (dockyard images | head): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
