"""--user / --group-add resolution with runc's GetExecUser semantics and Docker's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.users import parse_group, parse_passwd, resolve_user, resolve_user_in_rootfs

PASSWD = parse_passwd(
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# comment\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUPS = parse_group("root:x:0:\nwheel:x:10:root\nstaff:x:50:app,daemon\napp:x:1000:\nnogroup:x:65534:\n")


def test_default_user_is_root_with_its_groups() -> None:
    u = resolve_user("", PASSWD, GROUPS)
    assert (u.uid, u.gid, u.additional_gids, u.home) == (0, 0, (0, 10), "/root")


def test_by_name_gets_supplementary_groups() -> None:
    u = resolve_user("app", PASSWD, GROUPS)
    assert (u.uid, u.gid, u.additional_gids, u.home) == (1000, 1000, (1000, 50), "/home/app")


def test_numeric_and_pairs() -> None:
    assert resolve_user("1000", PASSWD, GROUPS).additional_gids == (1000, 50)
    u = resolve_user("4242:4343", PASSWD, GROUPS)  # unknown numeric ids are fine
    assert (u.uid, u.gid, u.additional_gids) == (4242, 4343, (4343,))
    u = resolve_user("app:wheel", PASSWD, GROUPS)  # explicit group: no supplementary groups
    assert (u.uid, u.gid, u.additional_gids) == (1000, 10, (10,))
    assert resolve_user("nobody:0", PASSWD, GROUPS).gid == 0


def test_group_add() -> None:
    u = resolve_user("app", PASSWD, GROUPS, ("wheel", "777"))
    assert u.additional_gids == (1000, 50, 10, 777)
    with pytest.raises(InvalidArgument, match="Unable to find group nosuch: no matching entries in group file"):
        resolve_user("app", PASSWD, GROUPS, ("nosuch",))


def test_docker_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"^unable to find user foo: no matching entries in passwd file$"):
        resolve_user("foo", PASSWD, GROUPS)
    with pytest.raises(InvalidArgument, match=r"^unable to find group bar: no matching entries in group file$"):
        resolve_user("app:bar", PASSWD, GROUPS)
    with pytest.raises(InvalidArgument, match="uids and gids must be in range"):
        resolve_user("4294967296", PASSWD, GROUPS)


def test_missing_files(tmp_path: Path) -> None:
    u = resolve_user_in_rootfs(tmp_path, "")
    assert (u.uid, u.gid, u.additional_gids) == (0, 0, (0,))
    assert resolve_user_in_rootfs(tmp_path, "123:456").gid == 456
    with pytest.raises(InvalidArgument, match="unable to find user foo"):
        resolve_user_in_rootfs(tmp_path, "foo")


def test_rootfs_files(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nweb:x:33:\nadm:x:4:web\n")
    u = resolve_user_in_rootfs(tmp_path, "web")
    assert (u.uid, u.gid, u.additional_gids, u.home) == (33, 33, (33, 4), "/var/www")
