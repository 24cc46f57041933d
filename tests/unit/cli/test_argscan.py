"""``cli/argscan.py`` on a small table of plain rows: the two parsing styles, and what it leaves to click. (Its
agreement with click on the real tables is in ``test_runflags.py``.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.cli.argscan import scan

TABLE = (
    (("-t", "--tag"), "tags", "multiple", (), (), (), "help text and any further columns are the table's own"),
    (("-n",), "count", "int", 1, (), ()),
    (("--mode",), "mode", "value", "a", (), ("a", "b")),
    (("-q",), "quiet", "flag", False, (), ()),
    (("--rm",), "rm", "flag", True, ("--no-rm",), ()),
)
DEFAULTS = {"tags": (), "count": 1, "mode": "a", "quiet": False, "rm": True}


@pytest.mark.parametrize(
    "args, docker, expected",
    [
        ([], False, (DEFAULTS, [])),
        (["x", "-qt", "a", "--tag=b", "-n3"], False, ({**DEFAULTS, "tags": ("a", "b"), "quiet": True, "count": 3},
                                                      ["x"])),
        (["--no-rm", "--mode", "b", "y"], False, ({**DEFAULTS, "rm": False, "mode": "b"}, ["y"])),
        (["-q", "x", "-n", "2"], True, ({**DEFAULTS, "quiet": True}, ["x", "-n", "2"])),  # docker: options end at x
        (["--rm=false", "-q=yes"], True, None),  # -q=yes: click keeps the "="
        (["--rm=false", "x"], True, ({**DEFAULTS, "rm": False}, ["x"])),
        (["--rm=false", "x"], False, None),  # click: a flag takes no value
    ],
)  # fmt: skip
def test_scan(args: list[str], docker: bool, expected: object) -> None:
    assert scan(TABLE, args, docker=docker) == expected


@pytest.mark.parametrize("args", [["--help"], ["-x"], ["-n", "many"], ["--mode", "c"], ["-t"], ["--", "x"]])
def test_scan_leaves_to_click(args: list[str]) -> None:
    assert scan(TABLE, args, docker=False) is None


def test_imports_nothing() -> None:
    """The build record parses with it on the way to a served build: no ``typing``, no ``dataclasses``."""
    code = "import sys, dockyard.cli; b = set(sys.modules); import dockyard.cli.argscan; print(*set(sys.modules) - b)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["dockyard.cli.argscan"]
