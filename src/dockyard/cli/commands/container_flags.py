"""The flags ``run`` and ``create`` share (docker's names, defaults and help), and their translation into the
container service's :class:`CreateOptions`, with the docker CLI's own checks and wording."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers import CreateOptions

__all__ = ["build_create_options", "create_flags", "parse_env_file", "parse_env_values"]

F = Callable[..., Any]

_FLAGS: list[Callable[[F], F]] = [
    click.option("--add-host", "add_host", multiple=True, metavar="list",
                 help="Add a custom host-to-IP mapping (host:ip)"),
    click.option("-a", "--attach", "attach", multiple=True, metavar="list", help="Attach to STDIN, STDOUT or STDERR"),
    click.option("--blkio-weight", type=int, default=0, metavar="uint16",
                 help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    click.option("--cap-add", multiple=True, metavar="list", help="Add Linux capabilities"),
    click.option("--cap-drop", multiple=True, metavar="list", help="Drop Linux capabilities"),
    click.option("--cidfile", metavar="string", help="Write the container ID to the file"),
    click.option("--cpu-period", type=int, default=0, metavar="int",
                 help="Limit CPU CFS (Completely Fair Scheduler) period"),
    click.option("--cpu-quota", type=int, default=0, metavar="int",
                 help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    click.option("-c", "--cpu-shares", type=int, default=0, metavar="int", help="CPU shares (relative weight)"),
    click.option("--cpus", metavar="decimal", help="Number of CPUs"),
    click.option("--cpuset-cpus", default="", metavar="string", help="CPUs in which to allow execution (0-3, 0,1)"),
    click.option("--cpuset-mems", default="", metavar="string", help="MEMs in which to allow execution (0-3, 0,1)"),
    click.option("--detach-keys", metavar="string", help="Override the key sequence for detaching a container"),
    click.option("--dns", multiple=True, metavar="list", help="Set custom DNS servers"),
    click.option("--dns-option", "--dns-opt", "dns_option", multiple=True, metavar="list", help="Set DNS options"),
    click.option("--dns-search", multiple=True, metavar="list", help="Set custom DNS search domains"),
    click.option("--domainname", default="", metavar="string", help="Container NIS domain name"),
    click.option("--entrypoint", metavar="string", help="Overwrite the default ENTRYPOINT of the image"),
    click.option("-e", "--env", multiple=True, metavar="list", help="Set environment variables"),
    click.option("--env-file", multiple=True, metavar="list", help="Read in a file of environment variables"),
    click.option("--expose", multiple=True, metavar="list", help="Expose a port or a range of ports"),
    click.option("--group-add", multiple=True, metavar="list", help="Add additional groups to join"),
    click.option("-h", "--hostname", default="", metavar="string", help="Container host name"),
    click.option("--init", is_flag=True,
                 help="Run an init inside the container that forwards signals and reaps processes"),
    click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
    click.option("--ip", default="", metavar="string", help="IPv4 address (e.g., 172.30.100.104)"),
    click.option("--ipc", default="", metavar="string", help="IPC mode to use"),
    click.option("-l", "--label", multiple=True, metavar="list", help="Set meta data on a container"),
    click.option("--label-file", multiple=True, metavar="list", help="Read in a line delimited file of labels"),
    click.option("--log-driver", metavar="string", help="Logging driver for the container"),
    click.option("--log-opt", multiple=True, metavar="list", help="Log driver options"),
    click.option("--mac-address", default="", metavar="string", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    click.option("-m", "--memory", metavar="bytes", help="Memory limit"),
    click.option("--memory-reservation", metavar="bytes", help="Memory soft limit"),
    click.option("--memory-swap", metavar="bytes",
                 help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    click.option("--mount", multiple=True, metavar="mount", help="Attach a filesystem mount to the container"),
    click.option("--name", default="", metavar="string", help="Assign a name to the container"),
    click.option("--network", "--net", "network", default="default", metavar="network",
                 help="Connect a container to a network"),
    click.option("--network-alias", "--net-alias", "network_alias", multiple=True, metavar="list",
                 help="Add network-scoped alias for the container"),
    click.option("--oom-kill-disable", is_flag=True, help="Disable OOM Killer"),
    click.option("--oom-score-adj", type=int, default=0, metavar="int",
                 help="Tune host's OOM preferences (-1000 to 1000)"),
    click.option("--pid", default="", metavar="string", help="PID namespace to use"),
    click.option("--pids-limit", type=int, metavar="int", help="Tune container pids limit (set -1 for unlimited)"),
    click.option("--platform", metavar="string", help="Set platform if server is multi-platform capable"),
    click.option("--privileged", is_flag=True, help="Give extended privileges to this container"),
    click.option("-p", "--publish", multiple=True, metavar="list", help="Publish a container's port(s) to the host"),
    click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports"),
    click.option("--pull", default="missing", metavar="string",
                 help='Pull image before running ("always", "missing", "never")'),
    click.option("-q", "--quiet", is_flag=True, help="Suppress the pull output"),
    click.option("--read-only", is_flag=True, help="Mount the container's root filesystem as read only"),
    click.option("--restart", default="no", metavar="string", help="Restart policy to apply when a container exits"),
    click.option("--rm", "auto_remove", is_flag=True, help="Automatically remove the container when it exits"),
    click.option("--runtime", default="", metavar="string", help="Runtime to use for this container"),
    click.option("--security-opt", multiple=True, metavar="list", help="Security Options"),
    click.option("--shm-size", metavar="bytes", help="Size of /dev/shm"),
    click.option("--stop-signal", default="", metavar="string", help="Signal to stop the container"),
    click.option("--stop-timeout", type=int, metavar="int", help="Timeout (in seconds) to stop a container"),
    click.option("--sysctl", multiple=True, metavar="map", help="Sysctl options"),
    click.option("--tmpfs", multiple=True, metavar="list", help="Mount a tmpfs directory"),
    click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
    click.option("--ulimit", multiple=True, metavar="ulimit", help="Ulimit options"),
    click.option("-u", "--user", default="", metavar="string",
                 help="Username or UID (format: <name|uid>[:<group|gid>])"),
    click.option("--uts", default="", metavar="string", help="UTS namespace to use"),
    click.option("-v", "--volume", multiple=True, metavar="list", help="Bind mount a volume"),
    click.option("-w", "--workdir", default="", metavar="string", help="Working directory inside the container"),
]  # fmt: skip


def create_flags(func: F) -> F:
    """Decorate a command with every flag ``create`` and ``run`` share."""
    for decorator in reversed(_FLAGS):
        func = decorator(func)
    return func


def parse_env_values(values: Sequence[str]) -> list[str]:
    """``-e K=V`` as given; ``-e K`` takes K's value from this process's environment (dropped if unset)."""
    out = []
    for value in values:
        key, sep, _ = value.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {value}")
        if sep:
            out.append(value)
        elif key in os.environ:
            out.append(f"{key}={os.environ[key]}")
        else:
            out.append(key)
    return out


def parse_env_file(path: str) -> list[str]:
    """docker's ``--env-file``: ``KEY=value`` lines (the value verbatim), ``KEY`` from the environment,
    ``#`` comments and blank lines skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InvalidArgument(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not key or re.search(r"\s", key):
            raise InvalidArgument(
                f"variable '{key}' contains whitespaces" if key else f"{path}:{number}: no variable name"
            )
        out.append(f"{key}={value}" if sep else (f"{key}={os.environ[key]}" if key in os.environ else ""))
    return [e for e in out if e]


def _labels(values: Sequence[str], files: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    raw: list[str] = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                raw += [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]
        except OSError as exc:
            raise InvalidArgument(f"open {path}: {exc.strerror}") from None
    for item in [*raw, *values]:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid label: {item}")
        out[key] = value
    return out


def _bytes(value: str | None, flag: str, *, allow_unlimited: bool = False) -> int:
    if value is None or value == "":
        return 0
    if allow_unlimited and value == "-1":
        return -1
    from dockyard.runtime.parse import parse_bytes

    try:
        return parse_bytes(value)
    except InvalidArgument:
        raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: invalid size: \'{value}\'') from None


def _nano_cpus(value: str | None) -> int:
    if not value:
        return 0
    try:
        return round(float(value) * 1e9)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{value}" for "--cpus" flag: failed to parse {value} as a rational '
                              "number") from None  # fmt: skip


def _map(values: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f'invalid argument "{item}" for "{flag}" flag: invalid value for {flag}')
        out[key] = value
    return out


def _tmpfs(values: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in values:
        dest, _, options = item.partition(":")
        out[dest] = options
    return out


def _streams(attach: Sequence[str]) -> set[str]:
    out = set()
    for value in attach:
        name = value.lower()
        if name not in ("stdin", "stdout", "stderr"):
            raise InvalidArgument(f"invalid argument \"{value}\" for \"-a, --attach\" flag: valid streams are STDIN, "
                                  "STDOUT and STDERR")  # fmt: skip
        out.add(name)
    return out


def build_create_options(params: Mapping[str, Any], image: str, args: Sequence[str], *, detach: bool) -> CreateOptions:
    """The service's options for ``docker create/run`` flags (``params`` as click hands them over)."""
    from dockyard.engine.containers import CreateOptions, MountRequest, RestartPolicy, UlimitSpec
    from dockyard.runtime.parse import parse_ulimit

    p = params
    env = []
    for path in p["env_file"]:
        env += parse_env_file(path)
    env += parse_env_values(p["env"])
    streams = _streams(p["attach"])
    if detach and streams:
        raise InvalidArgument("Conflicting options: -a and -d")
    if streams:
        attach_stdin, attach_stdout, attach_stderr = ("stdin" in streams, "stdout" in streams, "stderr" in streams)
    else:
        attach_stdin, attach_stdout, attach_stderr = (p["interactive"] and not detach, not detach, not detach)
    entrypoint = None if p["entrypoint"] is None else (("",) if p["entrypoint"] == "" else (p["entrypoint"],))
    volumes: list[str] = []
    binds: list[str] = []
    for value in p["volume"]:
        parts = value.split(":")
        if len(parts) == 1 or (len(parts) == 2 and not parts[1].startswith("/")):
            if len(parts) == 2:
                binds.append(value)  # /dst:ro: an anonymous volume with options
            else:
                volumes.append(value)
        else:
            binds.append(value)
    ulimits = []
    for value in p["ulimit"]:
        u = parse_ulimit(value)
        ulimits.append(UlimitSpec(u.name, u.soft, u.hard))
    restart = RestartPolicy.parse(p["restart"])
    if p["auto_remove"] and str(restart) != "no":
        raise InvalidArgument("Conflicting options: --restart and --rm")
    return CreateOptions(
        image=image,
        name=p["name"],
        hostname=p["hostname"],
        domainname=p["domainname"],
        user=p["user"],
        attach_stdin=attach_stdin,
        attach_stdout=attach_stdout,
        attach_stderr=attach_stderr,
        tty=p["tty"],
        open_stdin=p["interactive"],
        stdin_once=p["interactive"] and attach_stdin,
        env=tuple(env),
        cmd=tuple(args) if args else None,
        entrypoint=entrypoint,
        working_dir=p["workdir"],
        labels=_labels(p["label"], p["label_file"]),
        exposed_ports=tuple(p["expose"]),
        volumes=tuple(volumes),
        stop_signal=p["stop_signal"],
        stop_timeout=p["stop_timeout"],
        binds=tuple(binds),
        mounts=tuple(MountRequest.parse(m) for m in p["mount"]),
        tmpfs=_tmpfs(p["tmpfs"]),
        network_mode=p["network"] or "default",
        publish=tuple(p["publish"]),
        publish_all=p["publish_all"],
        restart_policy=restart,
        auto_remove=p["auto_remove"],
        cap_add=tuple(p["cap_add"]),
        cap_drop=tuple(p["cap_drop"]),
        dns=tuple(p["dns"]),
        dns_options=tuple(p["dns_option"]),
        dns_search=tuple(p["dns_search"]),
        extra_hosts=tuple(p["add_host"]),
        group_add=tuple(p["group_add"]),
        privileged=p["privileged"],
        read_only=p["read_only"],
        security_opt=tuple(p["security_opt"]),
        ipc_mode=p["ipc"],
        pid_mode=p["pid"],
        uts_mode=p["uts"],
        shm_size=_bytes(p["shm_size"], "--shm-size"),
        sysctls=_map(p["sysctl"], "--sysctl"),
        init=p["init"],
        oom_score_adj=p["oom_score_adj"],
        memory=_bytes(p["memory"], "--memory"),
        memory_swap=_bytes(p["memory_swap"], "--memory-swap", allow_unlimited=True),
        memory_reservation=_bytes(p["memory_reservation"], "--memory-reservation"),
        nano_cpus=_nano_cpus(p["cpus"]),
        cpu_shares=p["cpu_shares"],
        cpu_period=p["cpu_period"],
        cpu_quota=p["cpu_quota"],
        cpuset_cpus=p["cpuset_cpus"],
        cpuset_mems=p["cpuset_mems"],
        pids_limit=p["pids_limit"],
        blkio_weight=p["blkio_weight"],
        oom_kill_disable=p["oom_kill_disable"],
        ulimits=tuple(ulimits),
        runtime=p["runtime"],
        network_aliases=tuple(p["network_alias"]),
        ip=p["ip"],
        mac_address=p["mac_address"],
    )
