"""Docker's seccomp profiles in the OCI ``linux.seccomp`` form, converted as moby's ``setupSeccomp`` does.

``seccomp_default.json`` is moby's ``profiles/seccomp/default.json`` unchanged (Apache-2.0, Docker, Inc.). A
profile's ``archMap`` becomes the native architecture plus its sub-architectures, and rules are kept or dropped by
their ``includes``/``excludes`` conditions: architecture, capabilities in the bounding set, minimum kernel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = ["default_profile", "load_profile", "native_arch", "to_oci_seccomp"]

_PROFILE = Path(__file__).with_name("seccomp_default.json")

# uname -m -> libseccomp's native architecture name (as in the profile's "arches")
_MACHINE_TO_NATIVE = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "x86",
    "i686": "x86",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "mips64": "mips64",
    "mips64el": "mipsel64",
    "ppc64": "ppc64",
    "ppc64le": "ppc64le",
    "s390": "s390",
    "s390x": "s390x",
    "riscv64": "riscv64",
}

# libseccomp native name -> SCMP_ARCH_* (moby nativeToSeccomp)
_NATIVE_TO_SECCOMP = {
    "x86": "SCMP_ARCH_X86",
    "amd64": "SCMP_ARCH_X86_64",
    "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
    "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
}


def native_arch(machine: str) -> str:
    """libseccomp's name for the host architecture (``amd64`` for ``x86_64``)."""
    return _MACHINE_TO_NATIVE.get(machine, machine)


@cache
def _default_text() -> str:
    return _PROFILE.read_text()


def default_profile() -> dict[str, object]:
    """A fresh copy of Docker's default profile (the Docker form, before conversion)."""
    loaded: dict[str, object] = json.loads(_default_text())
    return loaded


def _kernel_at_least(minimum: str, kernel: tuple[int, int]) -> bool:
    parts = minimum.split(".")
    try:
        wanted = (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except ValueError:
        raise InvalidArgument(f"seccomp profile: invalid minKernel {minimum!r}") from None
    return kernel >= wanted


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _condition(rule: dict[str, object], key: str) -> dict[str, object]:
    value = rule.get(key)
    return value if isinstance(value, dict) else {}


def _keep(rule: dict[str, object], arch: str, bounding: set[str], kernel: tuple[int, int]) -> bool:
    excludes = _condition(rule, "excludes")
    includes = _condition(rule, "includes")
    if arch in _as_list(excludes.get("arches")):
        return False
    if any(c in bounding for c in _as_list(excludes.get("caps"))):
        return False
    min_kernel = excludes.get("minKernel")
    if isinstance(min_kernel, str) and min_kernel and _kernel_at_least(min_kernel, kernel):
        return False
    arches = _as_list(includes.get("arches"))
    if arches and arch not in arches:
        return False
    if not all(c in bounding for c in _as_list(includes.get("caps"))):
        return False
    min_kernel = includes.get("minKernel")
    return not (isinstance(min_kernel, str) and min_kernel and not _kernel_at_least(min_kernel, kernel))


def _syscall(rule: dict[str, object]) -> dict[str, object]:
    name = rule.get("name")
    names = _as_list(rule.get("names"))
    if name and names:
        raise InvalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'")
    out: dict[str, object] = {"names": [str(name)] if name else names, "action": rule.get("action", "")}
    errno = rule.get("errnoRet", rule.get("errno"))
    if errno is not None:
        out["errnoRet"] = errno
    args = rule.get("args")
    if isinstance(args, list) and args:
        converted = []
        for a in args:
            if not isinstance(a, dict):
                raise InvalidArgument("seccomp profile: each of a rule's args must be an object")
            arg: dict[str, object] = {"index": a.get("index", 0), "value": a.get("value", 0)}
            if a.get("valueTwo"):
                arg["valueTwo"] = a["valueTwo"]
            arg["op"] = a.get("op", "")
            converted.append(arg)
        out["args"] = converted
    return out


def to_oci_seccomp(
    profile: dict[str, object], *, machine: str, bounding: Iterable[str], kernel: tuple[int, int]
) -> dict[str, object] | None:
    """moby ``setupSeccomp``: the OCI ``linux.seccomp`` object for ``profile`` on this host, or None (disabled)."""
    syscalls = profile.get("syscalls")
    rules = syscalls if isinstance(syscalls, list) else []
    if not profile.get("defaultAction") and not rules:
        return None
    architectures = _as_list(profile.get("architectures"))
    arch_map = profile.get("archMap")
    if architectures and arch_map:
        raise InvalidArgument(
            "'architectures' and 'archMap' were specified in the seccomp profile, "
            "use either 'architectures' or 'archMap'"
        )
    arch = native_arch(machine)
    out: dict[str, object] = {"defaultAction": profile.get("defaultAction", "")}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    seccomp_arch = _NATIVE_TO_SECCOMP.get(arch)
    if isinstance(arch_map, list) and seccomp_arch:
        for entry in arch_map:
            if isinstance(entry, dict) and entry.get("architecture") == seccomp_arch:
                architectures = [seccomp_arch, *_as_list(entry.get("subArchitectures"))]
                break
    if architectures:
        out["architectures"] = architectures
    for key in ("listenerPath", "listenerMetadata"):
        if profile.get(key):
            out[key] = profile[key]
    flags = _as_list(profile.get("flags"))
    if flags:
        out["flags"] = flags
    caps = set(bounding)
    out["syscalls"] = [_syscall(r) for r in rules if isinstance(r, dict) and _keep(r, arch, caps, kernel)]
    return out


def load_profile(text: str) -> dict[str, object]:
    """A user's profile (``--security-opt seccomp=<file>``) as JSON text."""
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"Decoding seccomp profile failed: {exc}") from None
    if not isinstance(loaded, dict):
        raise InvalidArgument("Decoding seccomp profile failed: expected a JSON object")
    return loaded
