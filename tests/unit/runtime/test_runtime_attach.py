"""Attach framing (conmon packets, Docker frames), detach keys, and the blocking pump against a fake conmon."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.attach import (
    AttachSocket,
    DetachKeys,
    FrameDecoder,
    PumpResult,
    Stream,
    decode_packet,
    docker_frame,
    pump,
)


def test_conmon_packets() -> None:
    assert decode_packet(b"\x02hi\n") == (Stream.STDOUT, b"hi\n")
    assert decode_packet(b"\x03oops") == (Stream.STDERR, b"oops")
    with pytest.raises(InvalidArgument):
        decode_packet(b"\x09x")


def test_docker_frames_round_trip() -> None:
    frame = docker_frame(Stream.STDOUT, b"hi\n")
    assert frame == bytes.fromhex("0100000000000003") + b"hi\n"  # the capture in 04-run-foreground-attach.md
    decoder = FrameDecoder()
    data = frame + docker_frame(Stream.STDERR, b"err") + docker_frame(Stream.STDOUT, b"")
    assert decoder.feed(data[:5]) == []
    assert decoder.feed(data[5:]) == [(Stream.STDOUT, b"hi\n"), (Stream.STDERR, b"err"), (Stream.STDOUT, b"")]
    assert decoder.pending == 0


def test_detach_keys() -> None:
    keys = DetachKeys()
    assert keys.sequence == b"\x10\x11"
    assert keys.feed(b"abc") == (b"abc", False)
    assert keys.feed(b"x\x10") == (b"x", False)  # held back: may be the start of the sequence
    assert keys.feed(b"y") == (b"\x10y", False)
    assert keys.feed(b"\x10\x11rest") == (b"", True)
    assert DetachKeys("ctrl-a,d").sequence == b"\x01d"
    with pytest.raises(InvalidArgument, match="Unknown character"):
        DetachKeys("ctrl-foo")


class FakeConmon:
    """The server side of a SOCK_SEQPACKET pair, speaking conmon's attach protocol."""

    def __init__(self) -> None:
        self.server, client = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.conn = AttachSocket(client)
        self.stdin = b""
        self.stdin_closed = threading.Event()

    def serve(self, outputs: list[bytes]) -> None:
        while True:
            data = self.server.recv(65536)
            if not data:
                break
            self.stdin += data
        self.stdin_closed.set()  # the client half-closed: the container sees EOF on stdin
        for packet in outputs:
            self.server.send(packet)
        self.server.close()


def test_pump_stdin_eof_then_output() -> None:
    fake = FakeConmon()
    server = threading.Thread(target=fake.serve, args=([b"\x02out\n", b"\x03err\n", b"\x02" + b"x" * 8192],),
                              daemon=True)  # fmt: skip
    server.start()
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(stdin_w, b"hello\n" * 10000)  # more than one conmon stdin packet
    os.close(stdin_w)
    result = pump(fake.conn, stdin=stdin_r, stdout=out_w, stderr=err_w)
    assert result is PumpResult.EXITED
    os.close(out_w)
    os.close(err_w)
    assert fake.stdin == b"hello\n" * 10000
    assert os.read(out_r, 100000) == b"out\n" + b"x" * 8192
    assert os.read(err_r, 100) == b"err\n"
    for fd in (stdin_r, out_r, err_r):
        os.close(fd)


def test_pump_detach() -> None:
    fake = FakeConmon()
    stdin_r, stdin_w = os.pipe()
    os.write(stdin_w, b"ls\n\x10\x11")
    result = pump(fake.conn, stdin=stdin_r, stdout=None, stderr=None, detach_keys=DetachKeys())
    assert result is PumpResult.DETACHED
    assert fake.server.recv(100) == b"ls\n"
    for fd in (stdin_r, stdin_w):
        os.close(fd)
    fake.conn.close()
    fake.server.close()
