"""Parsers for the user strings that become runtime options, with Docker's rules and error wording:
``--ulimit``, ``--tmpfs`` (and tmpfs option merging), ``--security-opt``, ``-v``, sizes like ``64m``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.runtime.options import Mount, MountType, Propagation, SeccompMode, SecurityOptions, Ulimit

__all__ = [
    "ULIMIT_NAMES",
    "merge_tmpfs_options",
    "parse_bytes",
    "parse_security_opts",
    "parse_tmpfs",
    "parse_ulimit",
    "parse_volume",
]

ULIMIT_NAMES = frozenset(
    [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
)


def _go_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise InvalidArgument(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


def parse_ulimit(value: str) -> Ulimit:
    """go-units ``ParseUlimit``: ``name=soft[:hard]`` (hard defaults to soft; -1 is unlimited)."""
    name, sep, limits = value.partition("=")
    if not sep:
        raise InvalidArgument(f"invalid ulimit argument: {value}")
    if name not in ULIMIT_NAMES:
        raise InvalidArgument(f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")
    hard = _go_int(parts[1]) if len(parts) == 2 else None
    soft = _go_int(parts[0])
    hard = soft if hard is None else hard
    if hard != -1 and soft > hard:
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Ulimit(name, soft, hard)


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")


def parse_bytes(value: str) -> int:
    """go-units ``RAMInBytes``: ``64m``, ``1g``, ``512k``, ``100`` (binary multiples)."""
    m = _SIZE.match(value)
    if not m:
        raise InvalidArgument(f"invalid size: '{value}'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


# moby/sys/mount flags: option -> key (options sharing a key override each other); propagation shares one key.
_FLAG_KEYS = {
    **dict.fromkeys(("ro", "rw"), "rdonly"),
    **dict.fromkeys(("exec", "noexec"), "noexec"),
    **dict.fromkeys(("suid", "nosuid"), "nosuid"),
    **dict.fromkeys(("dev", "nodev"), "nodev"),
    **dict.fromkeys(("sync", "async"), "sync"),
    **dict.fromkeys(("atime", "noatime"), "noatime"),
    **dict.fromkeys(("diratime", "nodiratime"), "nodiratime"),
    **dict.fromkeys(("relatime", "norelatime"), "relatime"),
    **dict.fromkeys(("strictatime", "nostrictatime"), "strictatime"),
    **dict.fromkeys(("mand", "nomand"), "mand"),
    "dirsync": "dirsync",
    "remount": "remount",
    **dict.fromkeys(("bind", "rbind"), "bind"),
    **dict.fromkeys(
        ("private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"), "propagation"
    ),
}
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """moby ``mount.MergeTmpfsOptions``: later options win, duplicates dropped, unknown data options refused."""
    flags_seen: set[str] = set()
    data_seen: set[str] = set()
    out: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        key = _FLAG_KEYS.get(option)
        if key is not None:
            if key not in flags_seen:
                out.insert(0, option)
                flags_seen.add(key)
            continue
        name, sep, _ = option.partition("=")
        if not sep or name not in _TMPFS_DATA:
            shown = f'["{name}"]' if not sep else f'["{name}" "{option.partition("=")[2]}"]'
            raise InvalidArgument(f"invalid tmpfs option {shown}")
        if name not in data_seen:
            out.insert(0, option)
            data_seen.add(name)
    return out


def parse_tmpfs(value: str) -> Mount:
    """``--tmpfs /run[:opts]``."""
    destination, _, options = value.partition(":")
    if not destination.startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{destination}' mount path must be absolute")
    opts = tuple(o for o in options.split(",") if o) if options else ()
    merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", *opts])  # validate early
    return Mount(destination=destination, type=MountType.TMPFS, tmpfs_options=opts)


def parse_volume(value: str) -> Mount:
    """``-v [source:]destination[:mode]``. A source that is not an absolute path is a volume name (empty for an
    anonymous volume): the caller resolves it to a directory and passes ``Mount(type=VOLUME, source=dir)``."""
    parts = value.split(":")
    if len(parts) == 1:
        source, destination, mode = "", parts[0], ""
    elif len(parts) == 2:
        if parts[1].startswith("/"):
            source, destination, mode = parts[0], parts[1], ""
        else:
            source, destination, mode = "", parts[0], parts[1]
    elif len(parts) == 3:
        source, destination, mode = parts
    else:
        raise InvalidArgument(f"invalid volume specification: '{value}'")
    if not destination.startswith("/") or not destination:
        raise InvalidArgument(f"invalid volume specification: '{value}'")
    if destination == "/":
        raise InvalidArgument(
            f"invalid volume specification: '{value}': invalid mount config for type \"bind\": "
            "invalid specification: destination can't be '/'"
        )
    read_only = False
    propagation = Propagation.RPRIVATE
    for opt in (o for o in mode.split(",") if o):
        if opt in ("ro", "rw"):
            read_only = opt == "ro"
        elif opt in Propagation.__members__.values():
            propagation = Propagation(opt)
        elif opt in ("z", "Z", "nocopy", "consistent", "cached", "delegated"):
            continue
        else:
            raise InvalidArgument(f"invalid mode: {mode}")
    kind = MountType.BIND if source.startswith("/") else MountType.VOLUME
    return Mount(destination, source, kind, read_only, propagation)


def parse_security_opts(opts: list[str] | tuple[str, ...], base: SecurityOptions | None = None) -> SecurityOptions:
    """``--security-opt`` values as Docker's CLI and daemon read them; ``seccomp=<file>`` reads the file."""
    security = base or SecurityOptions()
    for opt in opts:
        if opt == "no-new-privileges":
            security = dataclasses.replace(security, no_new_privileges=True)
            continue
        if opt == "disable":
            continue  # SELinux labels: not supported on this host, accepted as Docker does
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        key, _, value = opt.partition(sep)
        if key == "seccomp":
            security = _seccomp_option(security, value)
        elif key == "no-new-privileges":
            if value.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
            security = dataclasses.replace(security, no_new_privileges=value.lower() in ("1", "t", "true"))
        elif key == "systempaths" and value == "unconfined":
            security = dataclasses.replace(security, masked_paths=(), readonly_paths=())
        elif key in ("label", "apparmor"):
            continue  # no SELinux/AppArmor on this host; Docker also ignores them when the LSM is absent
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return security


def _seccomp_option(security: SecurityOptions, value: str) -> SecurityOptions:
    if value == "unconfined":
        return dataclasses.replace(security, seccomp=SeccompMode.UNCONFINED, seccomp_profile="")
    if value in ("builtin", "default", ""):
        return dataclasses.replace(security, seccomp=SeccompMode.DEFAULT, seccomp_profile="")
    if value.lstrip().startswith("{"):
        text = value
    else:
        try:
            text = Path(value).read_text()
        except OSError as exc:
            raise InvalidArgument(f"opening seccomp profile ({value}) failed: {exc.strerror}") from None
    return dataclasses.replace(security, seccomp=SeccompMode.CUSTOM, seccomp_profile=text)
