"""Resolving a container path inside a root filesystem, volume sizes, and ls's natural sort."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.cli.commands.volume import natural_key
from dockyard.engine.volumes import dir_size, resolve_in_root
from dockyard.errors import InvalidArgument


def _tree(root: Path) -> Path:
    (root / "usr/share/data").mkdir(parents=True)
    (root / "srv").symlink_to("usr/share")  # relative link
    (root / "abs").symlink_to("/usr/share/data")  # absolute link: means root/usr/share/data
    (root / "escape").symlink_to("../../../../etc")  # cannot leave the root
    (root / "usr/share/up").symlink_to("../..")
    return root


def test_plain_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert resolve_in_root(root, "/usr/share/data") == root / "usr/share/data"
    assert resolve_in_root(root, "usr//share/./data/") == root / "usr/share/data"
    assert resolve_in_root(root, "/") == root
    assert resolve_in_root(root, "/missing/dir") == root / "missing/dir"


def test_symlinks_resolve_inside_the_root(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert resolve_in_root(root, "/srv/data") == root / "usr/share/data"
    assert resolve_in_root(root, "/abs") == root / "usr/share/data"
    assert resolve_in_root(root, "/escape") == root / "etc"
    assert resolve_in_root(root, "/usr/share/up/srv") == root / "usr/share"
    assert resolve_in_root(root, "/../../usr") == root / "usr"


def test_symlink_loops_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(InvalidArgument, match="too many levels of symbolic links"):
        resolve_in_root(tmp_path, "/a")


def test_dir_size_counts_files_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/a").write_bytes(b"x" * 5000)
    (tmp_path / "b").write_bytes(b"y" * 7000)
    os.link(tmp_path / "b", tmp_path / "d/b-again")
    (tmp_path / "empty").touch()
    (tmp_path / "link").symlink_to("d/a")  # counted as its own length, like Go's Lstat size
    assert dir_size(tmp_path) == 12000 + len("d/a")
    assert dir_size(tmp_path / "missing") == 0


def test_natural_sort() -> None:
    names = ["v10", "v2", "a", "v1", "B", "v02x"]
    assert sorted(names, key=natural_key) == ["B", "a", "v1", "v2", "v02x", "v10"]
