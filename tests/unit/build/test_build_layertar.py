"""The OCI layer tar written from an overlay upper directory: whiteouts, opaque directories, hard links, xattrs,
order and Docker's empty layer."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.build.layertar import EMPTY_LAYER_DIFF_ID, write_layer_tar
from dockyard.store.unpack import unpack_layer

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts (mknod 0/0) and trusted.* xattrs need root")


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        return t.getmembers()


def tar_of(root: Path) -> bytes:
    out = io.BytesIO()
    write_layer_tar(root, out)
    return out.getvalue()


def test_empty_upper_is_dockers_empty_layer(tmp_path: Path) -> None:
    data = tar_of(tmp_path)
    assert data == b"\0" * 1024
    assert hashlib.sha256(data).hexdigest() == EMPTY_LAYER_DIFF_ID.hex
    assert EMPTY_LAYER_DIFF_ID.hex == "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def test_entries_sorted_dirs_first_times_in_seconds_no_names(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("zz")
    (tmp_path / "a.txt").write_text("hello")
    os.symlink("a.txt", tmp_path / "c")
    os.mkfifo(tmp_path / "fifo")
    os.utime(tmp_path / "a.txt", (1_700_000_000.75, 1_700_000_000.75))
    os.chmod(tmp_path / "a.txt", 0o4755)
    out = io.BytesIO()
    stats = write_layer_tar(tmp_path, out)
    ms = members(out.getvalue())
    assert [m.name for m in ms] == ["a.txt", "b", "b/z.txt", "c", "fifo"]
    a = ms[0]
    assert a.mtime == 1_700_000_000 and a.mode == 0o4755 and a.uname == "" and a.gname == "" and a.size == 5
    assert ms[1].isdir() and ms[3].issym() and ms[3].linkname == "a.txt" and ms[4].isfifo()
    assert stats.size == 7 and stats.entries == 5 and stats.tar_bytes == len(out.getvalue())
    assert out.getvalue().endswith(b"\0" * 1024) and len(out.getvalue()) % 512 == 0


def test_hard_links_are_kept(tmp_path: Path) -> None:
    (tmp_path / "one").write_text("data")
    os.link(tmp_path / "one", tmp_path / "two")
    ms = members(tar_of(tmp_path))
    assert ms[0].name == "one" and ms[0].isreg()
    assert ms[1].name == "two" and ms[1].islnk() and ms[1].linkname == "one"


def test_long_names_and_non_ascii(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    (deep / "ünïcode-file.txt").write_text("x")
    names = [m.name for m in members(tar_of(tmp_path))]
    assert names[-1] == f"{'d' * 60}/{'e' * 60}/ünïcode-file.txt"


@root_only
def test_overlay_whiteouts_become_oci_whiteouts(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc" / "group", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (upper / "opq").mkdir()
    os.setxattr(upper / "opq", "trusted.overlay.opaque", b"y")
    (upper / "opq" / "y").write_text("y")
    os.mknod(upper / "gone", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    ms = members(tar_of(upper))
    assert [(m.name, m.type) for m in ms] == [
        ("etc", tarfile.DIRTYPE),
        ("etc/.wh.group", tarfile.REGTYPE),
        (".wh.gone", tarfile.REGTYPE),
        ("opq", tarfile.DIRTYPE),
        ("opq/.wh..wh..opq", tarfile.REGTYPE),
        ("opq/y", tarfile.REGTYPE),
    ]


@root_only
def test_whiteout_order_is_lexical(tmp_path: Path) -> None:
    os.mknod(tmp_path / "gone", stat.S_IFCHR, os.makedev(0, 0))
    (tmp_path / "a").write_text("a")
    assert [m.name for m in members(tar_of(tmp_path))] == ["a", ".wh.gone"]


@root_only
def test_round_trip_through_the_unpacker(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "dir").mkdir(parents=True)
    os.setxattr(upper / "dir", "trusted.overlay.opaque", b"y")
    (upper / "dir" / "f").write_text("content")
    os.mknod(upper / "wh", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "cap").write_text("#!/bin/sh\n")
    os.setxattr(upper / "cap", "user.note", b"\xff\x00binary")
    target = tmp_path / "unpacked"
    target.mkdir()
    data = tar_of(upper)
    result = unpack_layer(io.BytesIO(data), target)
    assert result.diff_id.hex == hashlib.sha256(data).hexdigest()
    assert os.getxattr(target / "dir", "trusted.overlay.opaque") == b"y"
    st = os.lstat(target / "wh")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert (target / "dir" / "f").read_text() == "content"
    assert os.getxattr(target / "cap", "user.note") == b"\xff\x00binary"


def test_trusted_xattrs_never_reach_the_tar(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    try:
        os.setxattr(tmp_path / "d", "trusted.overlay.origin", b"x")
    except OSError:
        pytest.skip("cannot set trusted xattrs here")
    ms = members(tar_of(tmp_path))
    assert ms[0].pax_headers == {}
