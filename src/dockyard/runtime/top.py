"""``top``: the host's ``ps`` output, filtered to the container's processes (moby ``daemon/top_unix.go``)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.errors import FailedPrecondition, InvalidArgument

__all__ = ["TopResult", "parse_ps_output", "top"]

_PID_ASSIGN = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


@dataclass(frozen=True)
class TopResult:
    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


def _validate(ps_args: str) -> None:
    for key, value in _PID_ASSIGN.findall(ps_args):
        if key != "pid":
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')


def parse_ps_output(output: str, pids: Sequence[int]) -> TopResult:
    lines = output.split("\n")
    titles = tuple(lines[0].split())
    if "PID" not in titles:
        raise FailedPrecondition("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    wanted = set(pids)
    processes: list[tuple[str, ...]] = []
    previous_matched = False
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        if fields[pid_index] == "-":  # a thread line (ps -m): belongs to the process above
            if previous_matched:
                processes.append(_fit(fields, len(titles)))
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise FailedPrecondition(f"Unexpected pid '{fields[pid_index]}'") from None
        previous_matched = pid in wanted
        if previous_matched:
            processes.append(_fit(fields, len(titles)))
    return TopResult(titles, tuple(processes))


def _fit(fields: list[str], count: int) -> tuple[str, ...]:
    """Merge the overhanging fields (a command with spaces) into the last column."""
    return (*fields[: count - 1], " ".join(fields[count - 1 :]))


def top(pids: Sequence[int], ps_args: str = "") -> TopResult:
    """Run ``ps <ps_args>`` (default ``-ef``) on the host and keep the lines of ``pids``."""
    ps_args = ps_args or "-ef"
    _validate(ps_args)
    args = ps_args.split(" ")
    pid_arg = "-q" + ",".join(str(p) for p in pids)
    proc = subprocess.run(["ps", *args, pid_arg], capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # some options (f) cannot be combined with -q: filter ourselves
        proc = subprocess.run(["ps", *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            first = proc.stderr.split("\n", 1)[0]
            raise FailedPrecondition(f"ps: {first or f'exit status {proc.returncode}'}")
    return parse_ps_output(proc.stdout, pids)
