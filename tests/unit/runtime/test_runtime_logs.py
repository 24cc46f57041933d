"""The k8s-file log reader: records, partial lines, tail, since/until, stream selection, follow."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dockyard.runtime.attach import Stream
from dockyard.runtime.logs import LogOptions, format_timestamp, parse_log_line, parse_timestamp, read_log

LOG = (
    b"2026-11-27T23:38:51.200000000+00:00 stdout F out1\n"
    b"2026-11-27T23:38:51.222926144+00:00 stderr F err1\n"
    b"2026-11-27T23:38:51.230000000+00:00 stdout F out2\n"
    b"2026-11-27T23:38:51.240000000+00:00 stdout P long-\n"
    b"2026-11-27T23:38:51.250000000+00:00 stdout F line\n"
    b"2026-11-27T23:38:51.255429497+00:00 stdout P no-newline\n"
)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "ctr.log"
    path.write_bytes(LOG)
    return path


def test_timestamps() -> None:
    ns = parse_timestamp("2026-11-27T23:38:51.255429497+00:00")
    assert format_timestamp(ns) == "2026-11-27T23:38:51.255429497Z"
    assert parse_timestamp("2026-11-28T00:38:51.255429497+01:00") == ns
    assert parse_timestamp("2026-11-27T23:38:51Z") == ns - 255429497
    assert format_timestamp(parse_timestamp("2026-11-27T23:38:51.5Z")) == "2026-11-27T23:38:51.500000000Z"


def test_parse_line() -> None:
    e = parse_log_line(b"2026-11-27T23:38:51.2+00:00 stderr F hello world")
    assert e is not None and (e.stream, e.data, e.partial) == (Stream.STDERR, b"hello world\n", False)
    p = parse_log_line(b"2026-11-27T23:38:51.2+00:00 stdout P ")
    assert p is not None and (p.data, p.partial) == (b"", True)
    assert parse_log_line(b"garbage") is None


def test_read_all_and_partial(log: Path) -> None:
    entries = list(read_log(log))
    assert b"".join(e.data for e in entries if e.stream is Stream.STDOUT) == b"out1\nout2\nlong-line\nno-newline"
    assert [e.data for e in entries if e.stream is Stream.STDERR] == [b"err1\n"]


def test_tail_like_docker(log: Path) -> None:
    assert [e.data for e in read_log(log, LogOptions(tail=2))] == [b"line\n", b"no-newline"]
    assert [e.data for e in read_log(log, LogOptions(tail=0))] == []
    assert len(list(read_log(log, LogOptions(tail=100)))) == 6
    big = log.with_name("big.log")
    big.write_bytes(b"".join(b"2026-11-27T23:38:51.2+00:00 stdout F line%06d\n" % i for i in range(20000)))
    assert [e.data for e in read_log(big, LogOptions(tail=3))] == [b"line019997\n", b"line019998\n", b"line019999\n"]


def test_streams_since_until(log: Path) -> None:
    assert [e.data for e in read_log(log, LogOptions(stdout=False))] == [b"err1\n"]
    since = parse_timestamp("2026-11-27T23:38:51.23Z")
    until = parse_timestamp("2026-11-27T23:38:51.245Z")
    assert [e.data for e in read_log(log, LogOptions(since_ns=since, until_ns=until))] == [b"out2\n", b"long-"]


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert list(read_log(tmp_path / "none")) == []


def test_follow_until_the_monitor_exits(log: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; time.sleep(0.3); "
         "open(sys.argv[1],'ab').write(b'2026-11-27T23:38:52.0+00:00 stdout F later\\n'); time.sleep(0.2)", str(log)]
    )  # fmt: skip
    try:
        start = time.monotonic()
        got = [e.data for e in read_log(log, LogOptions(follow=True, tail=1), monitor_pid=writer.pid)]
        assert got == [b"no-newline", b"later\n"]
        assert 0.3 < time.monotonic() - start < 5
    finally:
        writer.kill()
        writer.wait()


def test_follow_without_monitor_stops_at_end(log: Path) -> None:
    done = threading.Event()
    result: list[bytes] = []

    def run() -> None:
        result.extend(e.data for e in read_log(log, LogOptions(follow=True), monitor_pid=None))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(5)
    assert len(result) == 6
