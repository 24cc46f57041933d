"""Resolve ``--user`` and ``--group-add`` against the container's ``/etc/passwd`` and ``/etc/group``, with the
semantics (and error wording) of runc's ``libcontainer/user.GetExecUser`` that Docker uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = ["ExecUser", "Group", "Passwd", "parse_group", "parse_passwd", "resolve_user", "resolve_user_in_rootfs"]

_MAX_ID = 2147483647
_RANGE = "uids and gids must be in range 0-2147483647"


@dataclass(frozen=True)
class Passwd:
    """One ``/etc/passwd`` entry of the image."""

    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class Group:
    """One ``/etc/group`` entry of the image."""

    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ExecUser:
    """The user a process runs as: IDs, supplementary groups and home directory."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...]  # as Docker puts them in the spec: gid first, then supplementary groups
    home: str = "/"


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_passwd(text: str) -> list[Passwd]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = [*line.split(":"), "", "", "", "", "", "", ""]
        out.append(Passwd(f[0], _int(f[2]) or 0, _int(f[3]) or 0, f[5]))
    return out


def parse_group(text: str) -> list[Group]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = [*line.split(":"), "", "", "", ""]
        members = tuple(m for m in f[3].split(",") if m)
        out.append(Group(f[0], _int(f[2]) or 0, members))
    return out


def _check_range(value: int) -> int:
    if not 0 <= value <= _MAX_ID:
        raise InvalidArgument(_RANGE)
    return value


def resolve_user(
    spec: str, passwd: list[Passwd] | None, groups: list[Group] | None, group_add: tuple[str, ...] = ()
) -> ExecUser:
    """``user``, ``user:group``, ``uid``, ``uid:gid`` (``None`` for a missing file), as runc and Docker do."""
    user_arg, _, group_arg = spec.partition(":")
    uid_arg, gid_arg = _int(user_arg), _int(group_arg)
    uid, gid, home = 0, 0, "/"
    matched_name = ""
    sgids: list[int] = []

    def wanted(u: Passwd) -> bool:
        if not user_arg:
            return u.uid == 0  # runc: the default user's own entry
        return u.uid == uid_arg if uid_arg is not None else u.name == user_arg

    entries = [u for u in passwd or [] if wanted(u)]
    if entries:
        matched_name, uid, gid, home = entries[0].name, entries[0].uid, entries[0].gid, entries[0].home
    elif user_arg:
        if uid_arg is None:
            raise InvalidArgument(f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = _check_range(uid_arg)

    if group_arg or matched_name:
        if group_arg:
            found = [g for g in groups or [] if (g.gid == gid_arg if gid_arg is not None else g.name == group_arg)]
            if found:
                gid = found[0].gid
            elif gid_arg is None:
                raise InvalidArgument(f"unable to find group {group_arg}: no matching entries in group file")
            else:
                gid = _check_range(gid_arg)
        else:
            sgids = [g.gid for g in groups or [] if matched_name in g.members]

    extra = []
    for name in group_add:
        found = [g for g in groups or [] if g.name == name or (_int(name) is not None and g.gid == _int(name))]
        if found:
            extra.append(found[0].gid)
        elif _int(name) is not None:
            extra.append(_check_range(int(name)))
        else:
            raise InvalidArgument(f"Unable to find group {name}: no matching entries in group file")
    return ExecUser(uid, gid, (gid, *sgids, *extra), home or "/")


def _read(rootfs: Path, name: str) -> str | None:
    path = rootfs / "etc" / name
    try:
        if path.is_symlink():
            return None  # never follow a link out of the rootfs; runc would resolve it inside
        return path.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise InvalidArgument(f"read {path}: {exc.strerror}") from None


def resolve_user_in_rootfs(rootfs: str | Path, spec: str, group_add: tuple[str, ...] = ()) -> ExecUser:
    """:func:`resolve_user` against ``<rootfs>/etc/passwd`` and ``<rootfs>/etc/group``."""
    root = Path(rootfs)
    passwd_text, group_text = _read(root, "passwd"), _read(root, "group")
    return resolve_user(
        spec,
        None if passwd_text is None else parse_passwd(passwd_text),
        None if group_text is None else parse_group(group_text),
        group_add,
    )
