"""Check the container's command before handing it to runc: it must exist in the root filesystem, be executable
and be built for this machine. The errors are Docker's (``exec: "foo": executable file not found in $PATH``,
exit code 127; ``permission denied``, 126), plus a plain one for the wrong architecture, which runc would only
report as ``exec format error`` from inside the started container.

Paths are resolved *inside* the root filesystem (absolute symlinks are relative to it), as the container sees
them. When a path falls under a mount the rootfs does not show (a volume, a bind), the check gives up silently
and runc decides.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Sequence
from pathlib import Path

from dockyard.runtime.errors import ContainerStartError

__all__ = ["check_entrypoint", "elf_machine", "resolve_in_root"]

# ELF e_machine -> (Docker platform name, uname -m)
_MACHINES: dict[int, tuple[str, str]] = {
    3: ("386", "i686"),
    8: ("mips64", "mips64"),
    20: ("ppc", "ppc"),
    21: ("ppc64le", "ppc64le"),
    22: ("s390x", "s390x"),
    40: ("arm", "armv7l"),
    62: ("amd64", "x86_64"),
    183: ("arm64", "aarch64"),
    243: ("riscv64", "riscv64"),
}
# what each host machine can run natively
_RUNS: dict[str, frozenset[int]] = {
    "x86_64": frozenset({62, 3}),
    "i686": frozenset({3}),
    "aarch64": frozenset({183, 40}),
    "armv7l": frozenset({40}),
    "ppc64le": frozenset({21}),
    "s390x": frozenset({22}),
    "riscv64": frozenset({243}),
}
_HOST_PLATFORM = {uname: platform for platform, uname in _MACHINES.values()}
_MAX_LINKS = 40


class _Unverifiable(Exception):
    """The path leaves what the root filesystem directory can show (a mount, a loop): let runc decide."""


def resolve_in_root(root: Path, path: str, mounts: Sequence[str] = ()) -> Path | None:
    """The host path of container path ``path`` with every symlink resolved inside ``root``; None if missing.
    Raises _Unverifiable when the path crosses one of ``mounts`` (container paths the rootfs does not show)."""

    def under_mount(p: str) -> bool:
        return any(p == m or p.startswith(m.rstrip("/") + "/") for m in mounts)

    full = posixpath.normpath("/" + path)
    if under_mount(full):
        raise _Unverifiable(full)
    parts = [p for p in full.split("/") if p]
    current = "/"
    links = 0
    while parts:
        name = parts.pop(0)
        candidate = posixpath.normpath(posixpath.join(current, name))
        if under_mount(candidate) or under_mount(posixpath.join(candidate, *parts)):
            raise _Unverifiable(candidate)
        host = root / candidate.lstrip("/")
        try:
            st = os.lstat(host)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise _Unverifiable(candidate)
            target = os.readlink(host)
            base = "/" if target.startswith("/") else current
            parts = [p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p] + parts
            current = "/"
            continue
        current = candidate
    return root / current.lstrip("/")


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of the file, or None when it is not an ELF file."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def _emulated(machine: int) -> bool:
    """A binfmt_misc handler (qemu-user) is registered for this architecture."""
    uname = _MACHINES.get(machine, ("", ""))[1]
    names = {uname, {"aarch64": "aarch64", "armv7l": "arm", "x86_64": "x86_64", "i686": "i386"}.get(uname, "")}
    try:
        entries = os.listdir("/proc/sys/fs/binfmt_misc")
    except OSError:
        return False
    names.discard("")
    return any(e.startswith("qemu-") and e.removeprefix("qemu-") in names for e in entries)


def _is_executable(st: os.stat_result) -> bool:
    return not stat.S_ISDIR(st.st_mode) and bool(st.st_mode & 0o111)


def _find(root: Path, name: str, env: Sequence[str], cwd: str, mounts: Sequence[str]) -> Path:
    if "/" in name:
        container_path = name if name.startswith("/") else posixpath.join(cwd or "/", name)
        found = resolve_in_root(root, container_path, mounts)
        if found is None:
            raise ContainerStartError(f'exec: "{name}": stat {name}: no such file or directory', exit_code=127)
        if not _is_executable(found.stat()):
            raise ContainerStartError(f'exec: "{name}": permission denied', exit_code=126)
        return found
    path_env = next((e[5:] for e in reversed(env) if e.startswith("PATH=")), "")
    unverifiable = False
    for directory in path_env.split(":"):
        try:
            found = resolve_in_root(root, posixpath.join(directory or cwd or "/", name), mounts)
        except _Unverifiable:
            unverifiable = True
            continue
        if found is not None and _is_executable(found.stat()):
            return found
    if unverifiable:
        raise _Unverifiable(name)
    raise ContainerStartError(f'exec: "{name}": executable file not found in $PATH', exit_code=127)


def check_entrypoint(
    rootfs: str | Path, args: Sequence[str], env: Sequence[str], cwd: str, mounts: Sequence[str], machine: str
) -> None:
    """Raise ContainerStartError when ``args[0]`` cannot run in the container; return quietly when it can (or
    when the answer depends on a mount the rootfs directory does not show)."""
    if not args:
        return
    try:
        found = _find(Path(rootfs), args[0], env, cwd, mounts)
    except _Unverifiable:
        return
    binary = elf_machine(found)
    runs = _RUNS.get(machine)
    if binary is None or runs is None or binary in runs or _emulated(binary):
        return
    theirs = _MACHINES.get(binary, (f"machine {binary}", ""))[0]
    ours = _HOST_PLATFORM.get(machine, machine)
    raise ContainerStartError(
        f'exec "{args[0]}": exec format error: the program is built for linux/{theirs} and this host is linux/{ours}',
        exit_code=126,
        hint=f"use an image built for linux/{ours}, or register a binfmt_misc emulator (qemu-user-static) for {theirs}",
    )
