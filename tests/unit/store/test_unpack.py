"""Layer extraction: hostile archives are refused and nothing is written outside the target."""

from __future__ import annotations

import gzip
import io
import os
import stat
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
