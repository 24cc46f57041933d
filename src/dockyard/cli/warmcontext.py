"""The process context a warm helper's child takes on from its client, or declines for.

A cold ``dockyard`` process inherits more than its environment: namespaces, root directory, credentials and
capabilities, resource limits, nice value, CPU affinity, OOM score, cgroups. What it starts (conmon, runc, the
container's first settings) inherits them in turn. The helper was started by some earlier command, perhaps in
another session or service, so each child compares its own context with its client's (``/proc/<pid>``, the PID
from ``SO_PEERCRED``) and

* takes on what the kernel lets it change: resource limits, nice value, CPU affinity, OOM score adjustment and
  cgroup membership (so the command is accounted, limited and killed with its client's service or session);
* declines what it cannot (the client then runs the command itself): other namespaces or root directory, other
  credentials, supplementary groups, capabilities, no_new_privs or seccomp state, or security label — and any
  change that fails.

:func:`snapshot` reads the helper's own context once, when it starts (its children share it); :func:`adopt` runs
in each child, ~0.2 ms.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["NAMESPACES", "Context", "adopt", "beyond_reach", "snapshot"]

NAMESPACES = ("mnt", "net", "pid", "ipc", "uts", "user", "cgroup", "time")
_STATUS_FIELDS = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")


@dataclass(frozen=True)
class Context:
    """A process's context as far as the helper compares it."""

    namespaces: dict[str, tuple[int, int]]
    root: tuple[int, int]
    status: dict[str, str]
    label: str | None
    cgroups: dict[str, str]  # hierarchy ("memory", "name=systemd", "" for cgroup v2) -> path
    mounts: dict[str, tuple[str, str]]  # hierarchy -> (mount point, root of the mount)


def _stat_id(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _status(pid: str) -> dict[str, str]:
    text = _read(f"/proc/{pid}/status") or ""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in _STATUS_FIELDS:
            fields[name] = " ".join(value.split())
    return fields


def _cgroups(pid: str) -> dict[str, str]:
    groups = {}
    for line in (_read(f"/proc/{pid}/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        groups[controllers] = path
    return groups


def _cgroup_mounts() -> dict[str, tuple[str, str]]:
    """Where each hierarchy is mounted (``/proc/self/mountinfo``), by the names ``/proc/<pid>/cgroup`` uses."""
    mounts: dict[str, tuple[str, str]] = {}
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        fields = line.split()
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        fstype, options = fields[sep + 1], fields[sep + 3].split(",")
        root, point = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            mounts.setdefault("", (point, root))
        elif fstype == "cgroup":
            known = [o for o in options if (o not in ("rw", "ro") and "=" not in o) or o.startswith("name=")]
            for name in known:
                mounts.setdefault(name, (point, root))
    return mounts


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _context(pid: str) -> Context:
    namespaces = {}
    for ns in NAMESPACES:
        try:
            namespaces[ns] = _stat_id(f"/proc/{pid}/ns/{ns}")
        except FileNotFoundError:
            continue  # a kernel without this namespace
    label = _read(f"/proc/{pid}/attr/current")
    return Context(
        namespaces=namespaces,
        root=_stat_id(f"/proc/{pid}/root"),
        status=_status(pid),
        label=label.strip("\0\n") if label is not None else None,
        cgroups=_cgroups(pid),
        mounts={},
    )


def snapshot() -> Context:
    """The helper's own context (read when it starts, not at import)."""
    own = _context("self")
    return Context(own.namespaces, own.root, own.status, own.label, own.cgroups, _cgroup_mounts())


def adopt(own: Context, peer: int) -> str | None:
    """Make this process's context the client's; why not, when it cannot (then nothing of the command ran)."""
    if peer <= 0:
        return "the client's process is not visible"
    try:
        theirs = _context(str(peer))
    except OSError as exc:
        return f"cannot inspect the client: {exc.strerror}"
    for ns, ident in own.namespaces.items():
        if theirs.namespaces.get(ns) != ident:
            return f"the client runs in another {ns} namespace"
    if theirs.root != own.root:
        return "the client has another root directory"
    if not theirs.status or theirs.status != own.status:
        changed = sorted(k for k in _STATUS_FIELDS if theirs.status.get(k) != own.status.get(k))
        return f"the client has other credentials ({', '.join(changed)})"
    if theirs.label != own.label:
        return "the client has another security label"
    try:
        _limits(peer)
        _scheduling(peer)
        _oom_score(peer)
    except (OSError, ValueError) as exc:
        return f"cannot take on the client's limits: {exc}"
    return _join_cgroups(own, theirs.cgroups)


_CAP_SYS_NICE = 1 << 23
_CAP_SYS_RESOURCE = 1 << 24


def _above(mine: int, theirs: int) -> bool:
    """``theirs`` is a higher limit than ``mine`` (-1 is unlimited)."""
    return mine != -1 and (theirs == -1 or theirs > mine)


def beyond_reach(own: Context, peer: int) -> str | None:
    """What the client has that no child of this helper can take on: a higher hard resource limit or a lower OOM
    score adjustment without CAP_SYS_RESOURCE, a lower nice value without CAP_SYS_NICE. A helper started from
    this client can (and serves clients with lower limits too): the caller makes way for one."""
    import resource

    caps = int(own.status.get("CapEff", "0") or "0", 16)
    try:
        if not caps & _CAP_SYS_RESOURCE:
            for name in dir(resource):
                if name.startswith("RLIMIT_"):
                    which = getattr(resource, name)
                    if _above(resource.getrlimit(which)[1], resource.prlimit(peer, which)[1]):
                        return f"the client has a higher {name} limit"
            theirs, mine = _read(f"/proc/{peer}/oom_score_adj"), _read("/proc/self/oom_score_adj")
            if theirs is not None and mine is not None and int(theirs) < int(mine):
                return "the client has a lower OOM score adjustment"
        if not caps & _CAP_SYS_NICE and os.getpriority(os.PRIO_PROCESS, peer) < os.getpriority(os.PRIO_PROCESS, 0):
            return "the client has a lower nice value"
    except (OSError, ValueError):
        return None  # the child finds out, and declines
    return None


def _limits(peer: int) -> None:
    import resource

    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            which = getattr(resource, name)
            wanted = resource.prlimit(peer, which)
            if resource.getrlimit(which) != wanted:
                resource.setrlimit(which, wanted)


def _scheduling(peer: int) -> None:
    nice = os.getpriority(os.PRIO_PROCESS, peer)
    if os.getpriority(os.PRIO_PROCESS, 0) != nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    cpus = os.sched_getaffinity(peer)
    if os.sched_getaffinity(0) != cpus:
        os.sched_setaffinity(0, cpus)


def _oom_score(peer: int) -> None:
    wanted = _read(f"/proc/{peer}/oom_score_adj")
    if wanted is not None and wanted != _read("/proc/self/oom_score_adj"):
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(wanted)


def _join_cgroups(own: Context, theirs: dict[str, str]) -> str | None:
    if theirs == own.cgroups:
        return None
    if set(theirs) != set(own.cgroups):
        return "the client sees other cgroup hierarchies"
    me = str(os.getpid())
    for hierarchy, path in theirs.items():
        if own.cgroups[hierarchy] == path:
            continue
        names = hierarchy.split(",") if hierarchy else [""]
        mount = next((own.mounts[n] for n in names if n in own.mounts), None)
        if mount is None:
            return f"cgroup hierarchy {hierarchy or 'v2'} is not mounted here"
        point, root = mount
        if root != "/" and not (path == root or path.startswith(root.rstrip("/") + "/")):
            return f"the client's cgroup {path} is outside the mounted {hierarchy or 'v2'} hierarchy"
        relative = path[len(root.rstrip("/")) :] if root != "/" else path
        try:
            with open(os.path.join(point, relative.lstrip("/"), "cgroup.procs"), "w") as f:
                f.write(me)
        except OSError as exc:
            return f"cannot join the client's cgroup {path}: {exc.strerror}"
    return None
