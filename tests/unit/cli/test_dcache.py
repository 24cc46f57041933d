"""The dataclass compile cache: same classes as without it, reused code across processes, bad files ignored."""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.cli import dcache as dcc

SCRIPT = textwrap.dedent(
    """
    import sys
    from dockyard.cli import dcache as dcc
    dcc.CACHE_FILE = sys.argv[1]
    dcc.install()
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2

    p = Point(1)
    assert p == Point(1, 2) and hash(p) == hash(Point(1, 2)) and repr(p) == "Point(x=1, y=2)"
    try:
        p.x = 3
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("not frozen")
    dcc._save(force=True)
    print(sum(len(t) for t in dcc._tables.values()), sum(len(v) for v in dcc._new.values()))
    """
)


def _run(cache: Path) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(cache)], capture_output=True, text=True, check=True)
    total, new = out.stdout.split()
    return int(total), int(new)


def test_cached_code_is_reused_by_the_next_process(tmp_path: Path) -> None:
    cache = tmp_path / "fns.marshal"
    total, new = _run(cache)
    assert total == new > 0 and cache.exists()
    total2, new2 = _run(cache)
    assert (total2, new2) == (total, 0)  # nothing compiled the second time


def test_a_damaged_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "fns.marshal"
    cache.write_bytes(b"\x00garbage")
    assert _run(cache)[1] > 0
    cache.write_bytes(marshal.dumps({"def __create_fn__(): pass": b"not code"}))
    assert _run(cache)[1] > 0


def test_install_is_a_no_op_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_NO_DATACLASS_CACHE", "1")
    before = dataclasses._create_fn  # type: ignore[attr-defined]
    monkeypatch.setattr(dcc, "_installed", False)
    dcc.install()
    assert dataclasses._create_fn is before  # type: ignore[attr-defined]
