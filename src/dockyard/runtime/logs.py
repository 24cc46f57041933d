"""Reading a container's log, written by conmon in the k8s-file format: one record per line,

    2026-11-28T01:04:07.916025086+00:00 stdout F hello

``F`` ends a line (the newline is the record's own), ``P`` is a partial line (the program wrote no newline yet,
or the line was longer than conmon's 8 KiB buffer). Records carry the container's bytes as they were.

``read_log`` gives entries with Docker's ``logs`` options: stream selection, ``tail`` (the last N records),
``since``/``until`` (nanoseconds since the epoch) and ``follow``, which waits with inotify for more and ends
when the container's monitor exits (all output is in the file by then).
"""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArgument
from dockyard.pids import pid_alive
from dockyard.runtime.attach import Stream
from dockyard.runtime.inotify import IN_MODIFY, Inotify, pidfd, wait_readable

__all__ = ["LogEntry", "LogOptions", "format_timestamp", "parse_log_line", "parse_timestamp", "read_log"]

_STREAMS = {b"stdout": Stream.STDOUT, b"stderr": Stream.STDERR}
_BLOCK = 65536


@dataclass(frozen=True)
class LogEntry:
    stream: Stream
    time_ns: int
    data: bytes  # with the trailing newline for a full line
    partial: bool


@dataclass(frozen=True)
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    tail: int | None = None  # None or negative: everything
    since_ns: int | None = None
    until_ns: int | None = None


def parse_timestamp(text: bytes | str) -> int:
    """RFC 3339 with up to nanoseconds and a ``Z`` or ``+hh:mm`` zone -> nanoseconds since the epoch."""
    s = text.decode() if isinstance(text, bytes) else text
    try:
        base = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
        rest = s[19:]
        frac = ""
        if rest.startswith("."):
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            frac, rest = rest[1:i], rest[i:]
        offset = 0
        if rest and rest not in ("Z", "z"):
            sign = 1 if rest[0] == "+" else -1
            offset = sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
    except (ValueError, IndexError):
        raise InvalidArgument(f"log: bad timestamp {s!r}") from None
    return (base - offset) * 1_000_000_000 + int((frac or "0")[:9].ljust(9, "0"))


def format_timestamp(ns: int) -> str:
    """Docker's ``logs -t`` format: RFC 3339 in UTC with exactly nine fractional digits."""
    secs, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


def parse_log_line(line: bytes) -> LogEntry | None:
    """One k8s-file record (without its terminating newline); None if it is not one."""
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in _STREAMS:
        return None
    content = parts[3] if len(parts) == 4 else b""
    partial = parts[2] == b"P"
    try:
        ts = parse_timestamp(parts[0])
    except InvalidArgument:
        return None
    return LogEntry(_STREAMS[parts[1]], ts, content if partial else content + b"\n", partial)


def _tail_offset(f: BinaryIO, size: int, lines: int) -> int:
    """The offset where the last ``lines`` records start (reading backwards in blocks)."""
    if lines == 0:
        return size
    pos = size
    count = 0
    end = size
    while pos > 0:
        start = max(0, pos - _BLOCK)
        f.seek(start)
        block = f.read(pos - start)
        i = len(block)
        while True:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            if start + i + 1 < end:  # a newline before a record (the last byte's newline ends the last one)
                count += 1
                if count == lines:
                    return start + i + 1
        pos = start
    return 0


def _wanted(entry: LogEntry, opts: LogOptions) -> bool:
    if entry.stream is Stream.STDOUT and not opts.stdout:
        return False
    if entry.stream is Stream.STDERR and not opts.stderr:
        return False
    return opts.since_ns is None or entry.time_ns >= opts.since_ns


def read_log(path: Path, opts: LogOptions = LogOptions(), *, monitor_pid: int | None = None) -> Iterator[LogEntry]:
    """The log's entries. With ``opts.follow``, keep waiting for new ones while ``monitor_pid`` (the container's
    conmon) lives; without a monitor PID, follow stops at the end of the file."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - the generator owns it
    except FileNotFoundError:
        return
    ino: Inotify | None = None
    monitor_fd: int | None = None
    try:
        if opts.tail is not None and opts.tail >= 0:
            size = os.fstat(f.fileno()).st_size
            f.seek(_tail_offset(f, size, opts.tail))
        following = opts.follow and monitor_pid is not None and pid_alive(monitor_pid)
        if following:
            assert monitor_pid is not None
            ino = Inotify()
            ino.watch(path, IN_MODIFY)
            monitor_fd = pidfd(monitor_pid)
            following = monitor_fd is not None
        pending = b""
        while True:
            chunk = f.read(_BLOCK)
            if chunk:
                pending += chunk
                lines = pending.split(b"\n")
                pending = lines.pop()
                for line in lines:
                    entry = parse_log_line(line)
                    if entry is None:
                        continue
                    if opts.until_ns is not None and entry.time_ns > opts.until_ns:
                        return
                    if _wanted(entry, opts):
                        yield entry
                continue
            if not following:
                return
            assert ino is not None and monitor_fd is not None
            ready = wait_readable([ino.fileno(), monitor_fd], None)
            ino.read()
            if monitor_fd in ready:
                following = False  # the monitor is gone: read what is left, then stop
    finally:
        f.close()
        if ino is not None:
            ino.close()
        if monitor_fd is not None:
            os.close(monitor_fd)
