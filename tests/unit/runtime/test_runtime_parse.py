"""--ulimit, --tmpfs, --security-opt, -v and sizes, with Docker's wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.options import MountType, Propagation, SeccompMode, Ulimit
from dockyard.runtime.parse import (
    merge_tmpfs_options,
    parse_bytes,
    parse_security_opts,
    parse_tmpfs,
    parse_ulimit,
    parse_volume,
)


def test_ulimit() -> None:
    assert parse_ulimit("nofile=1024:2048") == Ulimit("nofile", 1024, 2048)
    assert parse_ulimit("nproc=100") == Ulimit("nproc", 100, 100)
    assert parse_ulimit("core=-1") == Ulimit("core", -1, -1)
    for bad, message in [
        ("nofile", "invalid ulimit argument: nofile"),
        ("foo=1", "invalid ulimit type: foo"),
        ("nofile=1:2:3", "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"),
        ("nofile=20:10", "ulimit soft limit must be less than or equal to hard limit: 20 > 10"),
        ("nofile=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ]:
        with pytest.raises(InvalidArgument) as err:
            parse_ulimit(bad)
        assert str(err.value) == message


def test_bytes() -> None:
    assert parse_bytes("64m") == 64 << 20
    assert parse_bytes("1g") == 1 << 30
    assert parse_bytes("512k") == 512 << 10
    assert parse_bytes("100") == 100
    assert parse_bytes("1.5g") == int(1.5 * (1 << 30))
    with pytest.raises(InvalidArgument, match="invalid size: 'lots'"):
        parse_bytes("lots")


def test_tmpfs() -> None:
    m = parse_tmpfs("/run:rw,size=64m,exec")
    assert (m.destination, m.type, m.tmpfs_options) == ("/run", MountType.TMPFS, ("rw", "size=64m", "exec"))
    assert parse_tmpfs("/tmp").tmpfs_options == ()
    with pytest.raises(InvalidArgument, match=r'invalid tmpfs option \["foo"\]'):
        parse_tmpfs("/tmp:foo")
    with pytest.raises(InvalidArgument, match="must be absolute"):
        parse_tmpfs("tmp")


def test_merge_tmpfs_options_later_wins() -> None:
    assert merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", "exec", "size=1m", "size=2m", "rshared"]) == [
        "nosuid",
        "nodev",
        "exec",
        "size=2m",
        "rshared",
    ]
    assert merge_tmpfs_options(["defaults", "ro", "rw"]) == ["rw"]


def test_volume() -> None:
    m = parse_volume("/host:/data:ro,rshared")
    assert (m.source, m.destination, m.type, m.read_only, m.propagation) == (
        "/host", "/data", MountType.BIND, True, Propagation.RSHARED,
    )  # fmt: skip
    named = parse_volume("cache:/cache")
    assert (named.source, named.type, named.read_only) == ("cache", MountType.VOLUME, False)
    anon = parse_volume("/data")
    assert (anon.source, anon.destination, anon.type) == ("", "/data", MountType.VOLUME)
    assert parse_volume("/data:ro").read_only is True
    with pytest.raises(InvalidArgument, match="invalid mode: bogus"):
        parse_volume("/a:/b:bogus")
    with pytest.raises(InvalidArgument, match="invalid volume specification"):
        parse_volume("a:b:c:d")


def test_security_opts(tmp_path: Path) -> None:
    s = parse_security_opts(["no-new-privileges", "seccomp=unconfined"])
    assert s.no_new_privileges and s.seccomp is SeccompMode.UNCONFINED
    assert parse_security_opts(["no-new-privileges=false"]).no_new_privileges is False
    profile = tmp_path / "p.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    custom = parse_security_opts([f"seccomp={profile}"])
    assert custom.seccomp is SeccompMode.CUSTOM and "SCMP_ACT_ALLOW" in custom.seccomp_profile
    assert parse_security_opts(["systempaths=unconfined"]).masked_paths == ()
    with pytest.raises(InvalidArgument, match='invalid --security-opt 1: "bogus"'):
        parse_security_opts(["bogus"])
    with pytest.raises(InvalidArgument, match='invalid --security-opt 2: "foo=bar"'):
        parse_security_opts(["foo=bar"])
    with pytest.raises(InvalidArgument, match=r"opening seccomp profile \(/nonexistent\) failed"):
        parse_security_opts(["seccomp=/nonexistent"])
