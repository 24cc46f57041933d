"""The process of an ``exec``: the container's own process (capabilities, rlimits, no_new_privs, user) with the
exec's command, environment, working directory, user and terminal, as moby's ``ContainerExecStart`` builds it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from dockyard.errors import InvalidArgument
from dockyard.runtime.caps import all_capabilities
from dockyard.runtime.host import HostInfo
from dockyard.runtime.spec import merge_env
from dockyard.runtime.users import resolve_user_in_rootfs

__all__ = ["ExecOptions", "exec_process"]


@dataclass(frozen=True)
class ExecOptions:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()  # merged over the container's environment
    cwd: str = ""  # empty: the container's working directory
    user: str = ""  # empty: the container's user
    tty: bool = False
    stdin: bool = False
    privileged: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)


def _dict(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidArgument(f"exec: the container's config.json has no {what}")
    return value


def exec_process(config: dict[str, object], opts: ExecOptions, host: HostInfo) -> dict[str, object]:
    """The OCI process object for ``runc exec --process``."""
    if not opts.args:
        raise InvalidArgument("exec: no command specified")
    process = copy.deepcopy(_dict(config.get("process"), "process"))
    process["args"] = list(opts.args)
    raw_env = process.get("env")
    env = [str(e) for e in raw_env] if isinstance(raw_env, list) else []
    if opts.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    process["env"] = merge_env(env, opts.env)
    if opts.cwd:
        process["cwd"] = opts.cwd
    process["terminal"] = opts.tty
    process.pop("consoleSize", None)
    if opts.tty and opts.console_size:
        process["consoleSize"] = {"height": opts.console_size[0], "width": opts.console_size[1]}
    if opts.user:
        root = _dict(config.get("root"), "root")
        user = resolve_user_in_rootfs(str(root.get("path", "")), opts.user)
        process["user"] = {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}
    if opts.privileged:
        caps = all_capabilities(host.capabilities)
        process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    return process
