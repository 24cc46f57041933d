"""Linux capabilities as Docker hands them out: the default 14, ``--cap-add``/``--cap-drop`` (``ALL``, with or
without ``CAP_``), and ``--privileged`` (every capability this process holds), after moby ``oci/caps``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dockyard.errors import InvalidArgument

__all__ = ["CAPABILITIES", "DEFAULT_CAPABILITIES", "all_capabilities", "cap_mask", "tweak_capabilities"]

# The kernel's capability names by number (include/uapi/linux/capability.h).
CAPABILITIES: tuple[str, ...] = tuple(
    "CAP_" + name
    for name in [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ]
)

# moby oci/caps/defaults.go, in Docker's order.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

_ALL = "ALL"


def all_capabilities(available: Iterable[int]) -> list[str]:
    """Every known capability this process can grant (Docker: the current process's set), by number."""
    have = set(available)
    return [name for number, name in enumerate(CAPABILITIES) if number in have]


def _normalize(caps: Sequence[str], available: set[int]) -> list[str]:
    out = []
    for cap in caps:
        c = cap.upper()
        if c == _ALL:
            out.append(c)
            continue
        if not c.startswith("CAP_"):
            c = "CAP_" + c
        if c not in CAPABILITIES:
            raise InvalidArgument(f'unknown capability: "{c}"')
        if CAPABILITIES.index(c) not in available:
            raise InvalidArgument(
                f'capability not supported by your kernel or not available in the current environment: "{c}"'
            )
        out.append(c)
    return out


def tweak_capabilities(
    adds: Sequence[str], drops: Sequence[str], *, privileged: bool, available: Iterable[int]
) -> list[str]:
    """moby ``caps.TweakCapabilities`` over the default set."""
    have = set(available)
    if privileged:
        return all_capabilities(have)
    if not adds and not drops:
        return list(DEFAULT_CAPABILITIES)
    cap_drop = _normalize(drops, have)
    cap_add = _normalize(adds, have)
    if _ALL in cap_add:
        return [c for c in all_capabilities(have) if c not in cap_drop]
    if _ALL in cap_drop:
        return [c for c in cap_add if c != _ALL]
    caps = [c for c in DEFAULT_CAPABILITIES if c not in cap_drop]
    caps += [c for c in cap_add if c not in caps]
    return caps


def cap_mask(names: Iterable[str]) -> int:
    """The bit mask ``/proc/<pid>/status`` shows for these capabilities (``CapBnd:`` etc.)."""
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITIES.index(name)
    return mask
