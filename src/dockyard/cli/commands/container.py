"""``dockyard container ...`` and its shortcuts (run, ps, stop, logs, exec...).

The commands live in ``container_*.py`` modules by theme; this module only names them, and imports a module when
one of its commands is used (``dockyard ps`` loads the listing module and nothing else).
"""

# ruff: noqa: F822  (the commands are module attributes resolved lazily by __getattr__)
from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from dockyard.cli.app import LazyGroup

__all__ = [
    "attach_cmd",
    "cleanup_cmd",
    "commit_cmd",
    "container_group",
    "cp_cmd",
    "create_cmd",
    "diff_cmd",
    "exec_cmd",
    "export_cmd",
    "inspect_cmd",
    "kill_cmd",
    "logs_cmd",
    "ls_cmd",
    "pause_cmd",
    "port_cmd",
    "prune_cmd",
    "rename_cmd",
    "restart_cmd",
    "rm_cmd",
    "run_cmd",
    "start_cmd",
    "stats_cmd",
    "stop_cmd",
    "top_cmd",
    "unpause_cmd",
    "update_cmd",
    "wait_cmd",
]

_BASE = "dockyard.cli.commands"
_MODULES = {
    "run_cmd": "container_run",
    "create_cmd": "container_run",
    "start_cmd": "container_lifecycle",
    "stop_cmd": "container_lifecycle",
    "restart_cmd": "container_lifecycle",
    "kill_cmd": "container_lifecycle",
    "pause_cmd": "container_lifecycle",
    "unpause_cmd": "container_lifecycle",
    "rm_cmd": "container_lifecycle",
    "wait_cmd": "container_lifecycle",
    "rename_cmd": "container_lifecycle",
    "update_cmd": "container_lifecycle",
    "prune_cmd": "container_lifecycle",
    "cleanup_cmd": "container_lifecycle",
    "ls_cmd": "container_ps",
    "inspect_cmd": "container_ps",
    "port_cmd": "container_ps",
    "logs_cmd": "container_io",
    "attach_cmd": "container_io",
    "exec_cmd": "container_io",
    "top_cmd": "container_io",
    "stats_cmd": "container_io",
    "cp_cmd": "container_files",
    "diff_cmd": "container_files",
    "commit_cmd": "container_files",
    "export_cmd": "container_files",
}
_SUBCOMMANDS = {
    name.removesuffix("_cmd"): f"{_BASE}.{module}:{name}" for name, module in _MODULES.items() if name != "ls_cmd"
}
_SUBCOMMANDS.update({"ls": f"{_BASE}.container_ps:ls_cmd", "ps": f"{_BASE}.container_ps:ls_cmd",
                     "list": f"{_BASE}.container_ps:ls_cmd", "rm": f"{_BASE}.container_lifecycle:rm_cmd",
                     "remove": f"{_BASE}.container_lifecycle:rm_cmd"})  # fmt: skip


class _ContainerGroup(LazyGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in super().list_commands(ctx) if n not in ("cleanup", "list", "remove")]


@click.group("container", cls=_ContainerGroup, lazy=_SUBCOMMANDS)
def container_group() -> None:
    """Manage containers."""


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{_BASE}.{module}"), name)
