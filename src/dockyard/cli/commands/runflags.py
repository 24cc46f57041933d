"""The flags ``run`` and ``create`` take, as data (``cli/flagtable.py``): docker's names, defaults and help in one
table that both the click commands (``container_flags.create_flags`` makes their options from it) and the command
line's fast path (``cli/fastpath.py``, which parses the common forms without importing click: ~15 ms) read, with
``DockerCommand``'s parsing rules (options end at the first argument, ``--flag=false``).

Also here, click-free: the translation of the parsed flags into the service's ``CreateOptions``
(:func:`build_create_options`, with the docker CLI's checks and wording) and ``--env``/``--env-file`` parsing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.cli import flagtable as ft
from dockyard.cli.flagtable import FlagSpec
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers import CreateOptions

__all__ = [
    "CREATE_FLAGS",
    "RUN_FLAGS",
    "build_create_options",
    "parse_bytes_flag",
    "parse_cpus_flag",
    "parse_docker_args",
    "parse_env_file",
    "parse_env_values",
]

CREATE_FLAGS: tuple[FlagSpec, ...] = (
    ft.multiple("--add-host", help="Add a custom host-to-IP mapping (host:ip)"),
    ft.multiple("-a", "--attach", help="Attach to STDIN, STDOUT or STDERR"),
    ft.number("--blkio-weight", default=0, metavar="uint16",
              help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    ft.multiple("--cap-add", help="Add Linux capabilities"),
    ft.multiple("--cap-drop", help="Drop Linux capabilities"),
    ft.value("--cidfile", help="Write the container ID to the file"),
    ft.number("--cpu-period", default=0, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    ft.number("--cpu-quota", default=0, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    ft.number("-c", "--cpu-shares", default=0, help="CPU shares (relative weight)"),
    ft.value("--cpus", metavar="decimal", help="Number of CPUs"),
    ft.value("--cpuset-cpus", default="", help="CPUs in which to allow execution (0-3, 0,1)"),
    ft.value("--cpuset-mems", default="", help="MEMs in which to allow execution (0-3, 0,1)"),
    ft.value("--detach-keys", help="Override the key sequence for detaching a container"),
    ft.multiple("--dns", help="Set custom DNS servers"),
    ft.multiple("--dns-option", "--dns-opt", dest="dns_option", help="Set DNS options"),
    ft.multiple("--dns-search", help="Set custom DNS search domains"),
    ft.value("--domainname", default="", help="Container NIS domain name"),
    ft.value("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
    ft.multiple("-e", "--env", help="Set environment variables"),
    ft.multiple("--env-file", help="Read in a file of environment variables"),
    ft.multiple("--expose", help="Expose a port or a range of ports"),
    ft.multiple("--group-add", help="Add additional groups to join"),
    ft.value("-h", "--hostname", default="", help="Container host name"),
    ft.flag("--init", help="Run an init inside the container that forwards signals and reaps processes"),
    ft.flag("-i", "--interactive", help="Keep STDIN open even if not attached"),
    ft.value("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)"),
    ft.value("--ipc", default="", help="IPC mode to use"),
    ft.multiple("-l", "--label", help="Set meta data on a container"),
    ft.multiple("--label-file", help="Read in a line delimited file of labels"),
    ft.value("--log-driver", help="Logging driver for the container"),
    ft.multiple("--log-opt", help="Log driver options"),
    ft.value("--mac-address", default="", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    ft.value("-m", "--memory", metavar="bytes", help="Memory limit"),
    ft.value("--memory-reservation", metavar="bytes", help="Memory soft limit"),
    ft.value("--memory-swap", metavar="bytes",
             help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    ft.multiple("--mount", metavar="mount", help="Attach a filesystem mount to the container"),
    ft.value("--name", default="", help="Assign a name to the container"),
    ft.value("--network", "--net", dest="network", default="default", metavar="network",
             help="Connect a container to a network"),
    ft.multiple("--network-alias", "--net-alias", dest="network_alias",
                help="Add network-scoped alias for the container"),
    ft.flag("--oom-kill-disable", help="Disable OOM Killer"),
    ft.number("--oom-score-adj", default=0, help="Tune host's OOM preferences (-1000 to 1000)"),
    ft.value("--pid", default="", help="PID namespace to use"),
    ft.number("--pids-limit", help="Tune container pids limit (set -1 for unlimited)"),
    ft.value("--platform", help="Set platform if server is multi-platform capable"),
    ft.flag("--privileged", help="Give extended privileges to this container"),
    ft.multiple("-p", "--publish", help="Publish a container's port(s) to the host"),
    ft.flag("-P", "--publish-all", help="Publish all exposed ports to random ports"),
    ft.value("--pull", default="missing", help='Pull image before running ("always", "missing", "never")'),
    ft.flag("-q", "--quiet", help="Suppress the pull output"),
    ft.flag("--read-only", help="Mount the container's root filesystem as read only"),
    ft.value("--restart", default="no", help="Restart policy to apply when a container exits"),
    ft.flag("--rm", dest="auto_remove", help="Automatically remove the container when it exits"),
    ft.value("--runtime", default="", help="Runtime to use for this container"),
    ft.multiple("--security-opt", help="Security Options"),
    ft.value("--shm-size", metavar="bytes", help="Size of /dev/shm"),
    ft.value("--stop-signal", default="", help="Signal to stop the container"),
    ft.number("--stop-timeout", help="Timeout (in seconds) to stop a container"),
    ft.multiple("--sysctl", metavar="map", help="Sysctl options"),
    ft.multiple("--tmpfs", help="Mount a tmpfs directory"),
    ft.flag("-t", "--tty", help="Allocate a pseudo-TTY"),
    ft.multiple("--ulimit", metavar="ulimit", help="Ulimit options"),
    ft.value("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    ft.value("--uts", default="", help="UTS namespace to use"),
    ft.multiple("-v", "--volume", help="Bind mount a volume"),
    ft.value("-w", "--workdir", default="", help="Working directory inside the container"),
)  # fmt: skip

RUN_FLAGS: tuple[FlagSpec, ...] = (
    *CREATE_FLAGS,
    ft.flag("-d", "--detach", help="Run container in background and print container ID"),
    ft.flag("--sig-proxy", help="Proxy received signals to the process", off=("--no-sig-proxy",), default=True),
)  # fmt: skip


def parse_docker_args(table: Sequence[FlagSpec], args: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """``(params, positional)`` as the ``DockerCommand`` built from ``table`` would parse ``args``, or ``None``."""
    return ft.parse_args(table, args, docker=True)


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


def parse_bytes_flag(value: str | None, flag: str, allow_unlimited: bool = False) -> int:
    if value is None or value == "":
        return 0
    if allow_unlimited and value == "-1":
        return -1
    from dockyard.runtime.parse import parse_bytes

    try:
        return parse_bytes(value)
    except InvalidArgument:
        raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: invalid size: \'{value}\'') from None


def parse_cpus_flag(value: str | None) -> int:
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
        shm_size=parse_bytes_flag(p["shm_size"], "--shm-size"),
        sysctls=_map(p["sysctl"], "--sysctl"),
        init=p["init"],
        oom_score_adj=p["oom_score_adj"],
        memory=parse_bytes_flag(p["memory"], "--memory"),
        memory_swap=parse_bytes_flag(p["memory_swap"], "--memory-swap", True),
        memory_reservation=parse_bytes_flag(p["memory_reservation"], "--memory-reservation"),
        nano_cpus=parse_cpus_flag(p["cpus"]),
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
