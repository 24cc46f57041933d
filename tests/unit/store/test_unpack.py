"""Layer extraction: hostile archives are refused and nothing is written outside the target."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard

from dockyard.errors import CorruptContent
from dockyard.oci import Digest
from dockyard.store.unpack import unpack_layer
from tests.support.tarballs import make_tar


def unpack(tmp_path: Path, data: bytes, **kw: object) -> tuple[Path, object]:
    target = tmp_path / "target"
    target.mkdir()
    result = unpack_layer(io.BytesIO(data), target, **kw)  # type: ignore[arg-type]
    return target, result


def test_plain_gzip_and_zstd_layers_give_the_same_diff_id(tmp_path: Path) -> None:
    raw = make_tar([("a", "dir", b""), ("a/f", "file", b"hello"), ("a/l", "sym", "f"), ("a/h", "hard", "a/f")])
    results = []
    for i, data in enumerate([raw, gzip.compress(raw), zstandard.ZstdCompressor().compress(raw)]):
        target = tmp_path / str(i)
        target.mkdir()
        results.append(unpack_layer(io.BytesIO(data), target))
        assert (target / "a/f").read_bytes() == b"hello"
        assert os.readlink(target / "a/l") == "f"
        assert os.stat(target / "a/h").st_ino == os.stat(target / "a/f").st_ino
    assert {r.diff_id for r in results} == {Digest.of(raw)}
    assert results[0].size == 5


def test_diff_id_mismatch_is_refused(tmp_path: Path) -> None:
    raw = make_tar([("f", "file", b"x")])
    with pytest.raises(CorruptContent, match="diff ID mismatch"):
        unpack(tmp_path, raw, expected_diff_id=Digest.of(b"other"))


@pytest.mark.parametrize(
    "entries",
    [
        [("../escape", "file", b"x")],
        [("a/../../escape", "file", b"x")],
        [("/abs", "file", b"x")],
        [("link", "sym", "../../escape")],
        [("d", "dir", b""), ("d/link", "sym", "../../escape")],
        [("h", "hard", "../outside")],
        [("h", "hard", "/etc/passwd")],
        [("dev", "chr", b"")],
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-up",
        "nested-symlink-up",
        "hardlink-up",
        "hardlink-abs",
        "device",
    ],
)
def test_hostile_entries_are_refused(tmp_path: Path, entries: list[tuple[str, str, bytes | str]]) -> None:
    outside = tmp_path / "escape"
    with pytest.raises(CorruptContent):
        unpack(tmp_path, make_tar(entries))
    assert not outside.exists()
    assert not (tmp_path / "outside").exists()


def test_writes_through_symlinks_stay_inside(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    # absolute and relative symlinks to the host's directories are followed *inside* the layer root
    raw = make_tar(
        [
            ("evil", "sym", str(victim)),
            ("evil/pwned", "file", b"x"),
            ("root", "sym", "/"),
            ("root/etc/owned", "file", b"y"),
        ]
    )
    target, _ = unpack(tmp_path, raw)
    assert list(victim.iterdir()) == []
    assert (target / str(victim).lstrip("/") / "pwned").read_bytes() == b"x"
    assert (target / "etc/owned").read_bytes() == b"y"
    assert os.readlink(target / "evil") == str(victim)


def test_truncated_and_garbage_archives(tmp_path: Path) -> None:
    raw = make_tar([("f", "file", os.urandom(10000))])
    gz = gzip.compress(raw)
    for i, bad in enumerate([raw[:3000], gz[: len(gz) // 2], b"\x1f\x8b" + b"garbage" * 10]):
        target = tmp_path / f"t{i}"
        target.mkdir()
        with pytest.raises(CorruptContent):
            unpack_layer(io.BytesIO(bad), target)


def test_later_entries_replace_earlier_ones(tmp_path: Path) -> None:
    raw = make_tar([("x", "dir", b""), ("x/a", "file", b"1"), ("x", "file", b"now a file"), ("f", "fifo", b"")])
    target, _ = unpack(tmp_path, raw)
    assert (target / "x").read_bytes() == b"now a file"
    assert stat.S_ISFIFO(os.lstat(target / "f").st_mode)


def _pax_tar(members: list[tuple[tarfile.TarInfo, bytes | None]], trailer: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue() + trailer


def _info(name: str, **kw: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    for key, value in kw.items():
        setattr(info, key, value)
    return info


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "gzip"])
def test_files_bigger_than_a_chunk_and_empty_ones(tmp_path: Path, compress: bool) -> None:
    big = os.urandom(3 * (1 << 20) + 17)
    raw = make_tar([("big", "file", big), ("empty", "file", b""), ("after", "file", b"tail")])
    target, result = unpack(tmp_path, gzip.compress(raw, 1) if compress else raw)
    assert (target / "big").read_bytes() == big
    assert (target / "empty").read_bytes() == b""
    assert (target / "after").read_bytes() == b"tail"
    assert result.diff_id == Digest.of(raw)  # type: ignore[attr-defined]
    assert result.size == len(big) + 4  # type: ignore[attr-defined]


def test_bytes_after_the_end_of_the_archive_are_part_of_the_diff_id(tmp_path: Path) -> None:
    raw = make_tar([("f", "file", b"x")]) + b"\0" * 4096
    _, result = unpack(tmp_path, raw)
    assert result.diff_id == Digest.of(raw)  # type: ignore[attr-defined]


def test_every_kind_of_entry_replaces_an_earlier_one(tmp_path: Path) -> None:
    raw = make_tar(
        [
            ("d2f", "dir", b""),
            ("d2f/inner", "file", b"i"),
            ("d2f", "file", b"dir became a file"),
            ("f2d", "file", b"f"),
            ("f2d", "dir", b""),
            ("f2d/x", "file", b"x"),
            ("f2l", "file", b"f"),
            ("f2l", "sym", "target"),
            ("l2f", "sym", "somewhere"),
            ("l2f", "file", b"now a file"),
            ("src", "file", b"linked"),
            ("h", "file", b"old"),
            ("h", "hard", "src"),
            ("twice", "file", b"first"),
            ("twice", "file", b"second"),
        ]
    )
    target, _ = unpack(tmp_path, raw)
    assert (target / "d2f").read_bytes() == b"dir became a file"
    assert (target / "f2d" / "x").read_bytes() == b"x"
    assert os.readlink(target / "f2l") == "target"
    assert (target / "l2f").read_bytes() == b"now a file"
    assert os.stat(target / "h").st_ino == os.stat(target / "src").st_ino
    assert (target / "twice").read_bytes() == b"second"


def test_a_directory_replaced_by_a_symlink_is_followed_by_later_entries(tmp_path: Path) -> None:
    """Cached directory handles must not outlive the directory: later entries go where the path now leads."""
    raw = make_tar(
        [
            ("a", "dir", b""),
            ("a/b", "dir", b""),
            ("a/b/f", "file", b"f"),
            ("c", "dir", b""),
            ("a", "sym", "c"),
            ("a/b/g", "file", b"g"),
        ]
    )
    target, _ = unpack(tmp_path, raw)
    assert os.readlink(target / "a") == "c"
    assert (target / "c" / "b" / "g").read_bytes() == b"g"
    assert not (target / "c" / "b" / "f").exists()


def test_metadata_of_files_and_directories(tmp_path: Path) -> None:
    mtime = 1_600_000_000
    members = [
        (_info("dir", type=tarfile.DIRTYPE, mode=0o750, mtime=mtime, uid=1000, gid=1001), None),
        (_info("dir/suid", size=2, mode=0o4755, mtime=mtime, uid=1000, gid=1001), b"#!"),
        (
            _info(
                "dir/attrs",
                size=1,
                mode=0o640,
                mtime=mtime,
                pax_headers={"SCHILY.xattr.user.dockyard": "yes", "SCHILY.xattr.trusted.overlay.opaque": "y"},
            ),
            b"a",
        ),
    ]
    target, _ = unpack(tmp_path, _pax_tar(members))
    st = os.stat(target / "dir" / "suid")
    assert stat.S_IMODE(st.st_mode) == 0o4755  # the mode is set after the owner (chown clears set-user-ID)
    assert int(st.st_mtime) == mtime
    assert stat.S_IMODE(os.stat(target / "dir").st_mode) == 0o750
    assert int(os.stat(target / "dir").st_mtime) == mtime  # set after its children were created
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1000, 1001)
    try:
        assert os.getxattr(target / "dir" / "attrs", "user.dockyard") == b"yes"
    except OSError:
        pytest.skip("no user xattrs on this filesystem")
    assert "trusted.overlay.opaque" not in os.listxattr(target / "dir" / "attrs")


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
def test_gnu_sparse_files_come_out_whole(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as f:
        f.write(b"head")
        f.seek(5 << 20)
        f.write(b"middle")
        f.seek(9 << 20)
        f.write(b"tail")
    archive = tmp_path / "sparse.tar"
    for fmt in ("gnu", "posix"):
        subprocess.run(
            ["tar", f"--format={fmt}", "--sparse", "-cf", str(archive), "-C", str(src), "sparse"], check=True
        )
        target = tmp_path / f"out-{fmt}"
        target.mkdir()
        with open(archive, "rb") as f:
            unpack_layer(f, target)  # type: ignore[arg-type]
        assert (target / "sparse").read_bytes() == (src / "sparse").read_bytes()
