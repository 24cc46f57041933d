"""store.fsutil.resolve_scoped: paths resolved inside a root as if it were ``/`` (moby's FollowSymlinkInScope)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.store.fsutil import resolve_scoped


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")  # relative
    os.symlink("/usr", tmp_path / "abs")  # absolute: from the root, not the host's /
    os.symlink("../../../../etc", tmp_path / "usr" / "up")  # climbs past the root
    os.symlink("loop", tmp_path / "loop")
    return tmp_path


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("lib/x.so", ["usr", "lib", "x.so"]),
        ("/abs/lib", ["usr", "lib"]),
        ("usr/up/passwd", ["etc", "passwd"]),  # .. stops at the root
        ("../../etc/shadow", ["etc", "shadow"]),
        ("./usr//lib/./", ["usr", "lib"]),
        ("missing/dir/file", ["missing", "dir", "file"]),  # kept as written
        ("", []),
    ],
)
def test_resolved_inside_the_root(root: Path, path: str, parts: list[str]) -> None:
    assert resolve_scoped(root, path) == parts


def test_a_symlink_loop_is_refused(root: Path) -> None:
    with pytest.raises(InvalidArgument, match="too many levels of symbolic links in loop/x"):
        resolve_scoped(root, "loop/x")
