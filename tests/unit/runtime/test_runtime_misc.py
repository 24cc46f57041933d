"""Capabilities, ps parsing for top, signals, etc files."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.runtime.caps import DEFAULT_CAPABILITIES, cap_mask, tweak_capabilities
from dockyard.runtime.etcfiles import host_resolv_conf_path, write_etc_files
from dockyard.runtime.options import EtcFiles
from dockyard.runtime.runtime import parse_signal
from dockyard.runtime.top import parse_ps_output, top

ALL = range(41)


def test_default_cap_mask_matches_docker() -> None:
    assert cap_mask(DEFAULT_CAPABILITIES) == 0x00000000A80425FB  # CapBnd in a default Docker container


def test_tweak_capabilities() -> None:
    assert tweak_capabilities(["ALL"], ["CHOWN"], privileged=False, available=ALL)[0] == "CAP_DAC_OVERRIDE"
    assert len(tweak_capabilities([], [], privileged=True, available=ALL)) == 41
    assert tweak_capabilities([], ["all"], privileged=False, available=ALL) == []


def test_parse_ps_output() -> None:
    output = (
        "UID          PID    PPID  C STIME TTY          TIME CMD\n"
        "root           1       0  0 10:00 ?        00:00:01 /sbin/init splash\n"
        "root        4242    4240  0 10:01 ?        00:00:00 sleep 100\n"
        "root        4243    4242  0 10:01 ?        00:00:00 sh -c echo hi there\n"
    )
    result = parse_ps_output(output, [4242, 4243])
    assert result.titles == ("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD")
    assert result.processes == (
        ("root", "4242", "4240", "0", "10:01", "?", "00:00:00", "sleep 100"),
        ("root", "4243", "4242", "0", "10:01", "?", "00:00:00", "sh -c echo hi there"),
    )
    with pytest.raises(FailedPrecondition, match="Couldn't find PID field"):
        parse_ps_output("USER CMD\n", [1])


def test_top_refuses_pid_renaming() -> None:
    with pytest.raises(InvalidArgument, match='specifying "user=PID" is not allowed'):
        top([1], "-o user=PID")


def test_parse_signal() -> None:
    assert parse_signal("SIGTERM") == parse_signal("term") == parse_signal("15") == 15
    assert parse_signal("KILL") == 9
    assert parse_signal("SIGRTMIN+3") == signal.SIGRTMIN + 3
    with pytest.raises(InvalidArgument, match="Invalid signal: SIGFOO"):
        parse_signal("SIGFOO")


def test_write_etc_files(tmp_path: Path) -> None:
    pairs = write_etc_files(tmp_path, EtcFiles(hostname="box", hosts="127.0.0.1\tlocalhost\n"))
    assert pairs == (("/etc/hostname", str(tmp_path / "hostname")), ("/etc/hosts", str(tmp_path / "hosts")))
    assert (tmp_path / "hostname").read_text() == "box\n"
    assert not (tmp_path / "resolv.conf").exists()


def test_host_resolv_conf_path(tmp_path: Path) -> None:
    etc = tmp_path / "resolv.conf"
    etc.write_text("nameserver 10.0.0.2\n")
    assert host_resolv_conf_path(etc) == etc
    etc.write_text("nameserver 127.0.0.53\noptions edns0\n")
    assert host_resolv_conf_path(etc) in (etc, Path("/run/systemd/resolve/resolv.conf"))


def test_raw_terminal_and_size() -> None:
    import fcntl
    import os
    import struct
    import termios

    from dockyard.runtime.terminal import raw_terminal, terminal_size

    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
        assert terminal_size(slave) == (33, 111)
        before = termios.tcgetattr(slave)
        assert before[3] & termios.ECHO
        with raw_terminal(slave):
            raw = termios.tcgetattr(slave)
            assert not raw[3] & (termios.ECHO | termios.ICANON | termios.ISIG)
            assert not raw[1] & termios.OPOST
        assert termios.tcgetattr(slave) == before
        r, w = os.pipe()
        with raw_terminal(r):  # not a terminal: nothing to do
            pass
        assert terminal_size(r) is None
        os.close(r)
        os.close(w)
    finally:
        os.close(master)
        os.close(slave)
