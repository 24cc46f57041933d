"""The ``local`` driver's options, as Docker's: ``type``, ``device``, ``o`` (and ``size``, refused: no quota here).

``--opt type=tmpfs --opt device=tmpfs --opt o=size=64m,uid=1000`` mounts a tmpfs on the volume's ``_data`` and
``--opt type=none --opt device=/srv/data --opt o=bind`` bind-mounts a host directory there. The ``o`` string is
split like moby/sys/mount's ``parseOptions``: names it knows become mount flags, the rest is the data string.
The mount happens when a container that uses the volume starts, and goes when the last such container stops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

from dockyard.engine.volumes.types import DEFAULT_DRIVER
from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound

__all__ = ["check_driver", "mount_flags", "mount_volume", "needs_mount", "unmount_volume", "validate_options"]

log = logging.getLogger(__name__)

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE

# name -> (clear, flag): moby/sys/mount flags_linux.go
_FLAGS: dict[str, tuple[bool, int]] = {
    "defaults": (False, 0),
    "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY),
    "suid": (True, MS_NOSUID),
    "nosuid": (False, MS_NOSUID),
    "dev": (True, MS_NODEV),
    "nodev": (False, MS_NODEV),
    "exec": (True, MS_NOEXEC),
    "noexec": (False, MS_NOEXEC),
    "sync": (False, MS_SYNCHRONOUS),
    "async": (True, MS_SYNCHRONOUS),
    "dirsync": (False, MS_DIRSYNC),
    "remount": (False, MS_REMOUNT),
    "mand": (False, MS_MANDLOCK),
    "nomand": (True, MS_MANDLOCK),
    "atime": (True, MS_NOATIME),
    "noatime": (False, MS_NOATIME),
    "diratime": (True, MS_NODIRATIME),
    "nodiratime": (False, MS_NODIRATIME),
    "bind": (False, MS_BIND),
    "rbind": (False, MS_BIND | MS_REC),
    "unbindable": (False, MS_UNBINDABLE),
    "runbindable": (False, MS_UNBINDABLE | MS_REC),
    "private": (False, MS_PRIVATE),
    "rprivate": (False, MS_PRIVATE | MS_REC),
    "shared": (False, MS_SHARED),
    "rshared": (False, MS_SHARED | MS_REC),
    "slave": (False, MS_SLAVE),
    "rslave": (False, MS_SLAVE | MS_REC),
    "relatime": (False, MS_RELATIME),
    "norelatime": (True, MS_RELATIME),
    "strictatime": (False, MS_STRICTATIME),
    "nostrictatime": (True, MS_STRICTATIME),
}

_VALID = ("type", "o", "device", "size")
_MANDATORY = (("device", ("type",)), ("type", ("device",)), ("o", ("device", "type")))
_RAM = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtpKMGTP]?)[iI]?[bB]?$")


def check_driver(name: str, driver: str) -> None:
    """Only the built-in ``local`` driver exists: anything else is a plugin we cannot find."""
    if driver != DEFAULT_DRIVER:
        raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')


def _ram_in_bytes(value: str) -> int:
    m = _RAM.match(value.strip())
    if not m:
        raise InvalidArgument(f"invalid size: '{value}'")
    number, unit = float(m.group(1)), m.group(2).lower()
    return int(number * 1024 ** ("kmgtp".index(unit) + 1 if unit else 0))


def validate_options(name: str, options: Mapping[str, str] | None) -> None:
    """Docker's ``validateOpts`` for the local driver (errors under ``create <name>:``)."""
    if not options:
        return
    for key in sorted(options):
        if key not in _VALID:
            raise InvalidArgument(f'create {name}: invalid option: "{key}"')
    if "size" in options and _ram_in_bytes(options["size"]) > 0:
        raise InvalidArgument(f"create {name}: quota size requested but no quota support")
    for key, required in _MANDATORY:
        if key in options:
            for other in required:
                if other not in options:
                    raise InvalidArgument(f'create {name}: missing required option: "{other}"')


def needs_mount(options: Mapping[str, str] | None) -> bool:
    if not options:
        return False
    return bool(options.get("device") or options.get("type"))


def mount_flags(o: str) -> tuple[int, str]:
    """moby/sys/mount ``parseOptions``: ``"bind,ro"`` -> (MS_BIND|MS_RDONLY, ""); unknown names go to data."""
    flags = 0
    data: list[str] = []
    for item in o.split(","):
        known = _FLAGS.get(item)
        if known is not None and known[1] != 0:
            clear, flag = known
            flags = flags & ~flag if clear else flags | flag
        else:
            data.append(item)
    return flags, ",".join(data)


def _mount_error(op: str, source: str, target: Path, flags: int, data: str, exc: DockyardError) -> FailedPrecondition:
    cause = exc.message.rsplit(": ", 1)[-1]
    cause = cause[:1].lower() + cause[1:]
    where = f"{source}:{target}" if source else str(target)
    text = f"{op} {where}"
    if flags:
        text += f", flags: 0x{flags:x}"
    if data:
        text += f", data: {data}"
    return FailedPrecondition(
        f"error while mounting volume '{target}': failed to mount local volume: {text}: {cause}",
        hint="check the volume's device and o= options (docker volume inspect shows them)",
    )


def mount_volume(options: Mapping[str, str], target: Path) -> None:
    """Mount the volume's device on ``target`` the way moby/sys/mount ``Mount`` does (three calls at most)."""
    from dockyard.store.mounts import mount

    device = options.get("device", "")
    if not device:
        raise FailedPrecondition(f"error while mounting volume '{target}': missing device in volume options")
    fstype = options.get("type", "")
    flags, data = mount_flags(options.get("o", ""))
    plain = flags & ~_PROPAGATION
    try:
        if not (flags & MS_REMOUNT) or data:
            mount(device, target, fstype, plain, data)
    except DockyardError as exc:
        raise _mount_error("mount", device, target, plain, data, exc) from exc
    try:
        if flags & _PROPAGATION:
            mount("", target, "", flags & (_PROPAGATION | MS_REC), "")
        if plain & (MS_BIND | MS_RDONLY) == MS_BIND | MS_RDONLY:
            mount("", target, "", plain | MS_REMOUNT, "")
    except DockyardError as exc:
        unmount_volume(target)
        raise _mount_error("remount", "", target, plain | MS_REMOUNT, "", exc) from exc
    log.debug("mounted volume %s (%s %s)", target, fstype, options.get("o", ""))


def unmount_volume(target: Path) -> bool:
    """Detach whatever is mounted on ``target`` (stacked mounts too); True if something was."""
    from dockyard.store.mounts import umount

    found = False
    for _ in range(16):
        if not umount(target):
            break
        found = True
    return found
