"""stdio through conmon: attach with piped stdin, a TTY and resizing, following logs, exec (attached, with
stdin, detached, failing), and the asyncio attach client."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from dockyard.errors import DockyardError
from dockyard.runtime import AttachSocket, ContainerStartError, ExecOptions, LogOptions, MonitorOptions, Stream
from dockyard.runtime.attach import PumpResult, pump
from dockyard.runtime.attach_async import AsyncAttachSocket
from tests.integration.runtime.conftest import Harness

pytestmark = pytest.mark.integration


def collect(conn: AttachSocket) -> tuple[bytes, bytes]:
    out = err = b""
    while (packet := conn.recv()) is not None:
        stream, data = packet
        if stream is Stream.STDOUT:
            out += data
        else:
            err += data
    return out, err


def test_stdin_piped_through_attach(harness: Harness) -> None:
    """docker run -i: stdin sent before start is delivered, its EOF closes the container's stdin."""
    spec = harness.spec("sh", "-c", "cat; echo to-stderr >&2")
    bundle = harness.bundle(spec)
    harness.runtime.create(spec.id, bundle, MonitorOptions(stdin=True))
    with harness.runtime.attach(bundle) as conn:
        payload = b"line one\n" + b"x" * 100000 + b"\nlast\n"
        conn.send(payload)  # before start: buffered by conmon's pipe, as Docker allows
        writer = threading.Thread(target=conn.close_stdin)
        harness.runtime.start(spec.id)
        writer.start()
        out, err = collect(conn)
        writer.join()
    assert out == payload
    assert err == b"to-stderr\n"
    assert harness.runtime.wait(spec.id, bundle, 10) == 0


def test_pump_with_pipes(harness: Harness) -> None:
    spec = harness.spec("sh", "-c", "tr a-z A-Z; exit 4")
    bundle = harness.bundle(spec)
    harness.runtime.create(spec.id, bundle, MonitorOptions(stdin=True))
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(stdin_w, b"hello pump\n")
    os.close(stdin_w)
    with harness.runtime.attach(bundle) as conn:
        harness.runtime.start(spec.id)
        assert pump(conn, stdin=stdin_r, stdout=out_w, stderr=None) is PumpResult.EXITED
    os.close(out_w)
    assert os.read(out_r, 1000) == b"HELLO PUMP\n"
    os.close(stdin_r)
    os.close(out_r)
    assert harness.runtime.wait(spec.id, bundle, 10) == 4


def test_tty_and_resize(harness: Harness) -> None:
    script = "tty; stty size; while read x; do stty size; done; exit 7"
    spec = harness.spec("sh", "-c", script, tty=True, console_size=(24, 80))
    bundle = harness.bundle(spec)
    harness.runtime.create(spec.id, bundle, MonitorOptions(tty=True, stdin=True))

    def read_until(conn: AttachSocket, *markers: bytes) -> bytes:
        seen = b""
        while not any(m in seen for m in markers):
            packet = conn.recv()
            assert packet is not None, seen
            assert packet[0] is Stream.STDOUT  # a TTY has one stream
            seen += packet[1]
        return seen

    with harness.runtime.attach(bundle) as conn:
        harness.runtime.start(spec.id)
        seen = read_until(conn, b"24 80")
        harness.runtime.resize(bundle, 40, 100)
        # the resize travels through conmon's control FIFO, the input through the socket: ask until it shows
        for _ in range(50):
            conn.send(b"size?\n")
            answer = read_until(conn, b"24 80\r\n", b"40 100\r\n")
            seen += answer
            if b"40 100" in answer:
                break
        conn.send(b"\x04")  # ^D: end of input on the terminal
        rest, _ = collect(conn)
    text = (seen + rest).decode()
    assert "/dev/pts/0\r\n" in text
    assert "40 100" in text
    assert harness.runtime.wait(spec.id, bundle, 10) == 7
    logged = b"".join(e.data for e in harness.runtime.logs(bundle))
    assert b"/dev/pts/0" in logged


def test_follow_logs_ends_when_the_container_exits(harness: Harness) -> None:
    go = harness.fifo("go")
    spec = harness.spec("sh", "-c", "echo first; read x < /tmp/go; echo second; echo third >&2")
    bundle = harness.start(spec)
    got: list[tuple[Stream, bytes]] = []
    follower = threading.Thread(
        target=lambda: got.extend((e.stream, e.data) for e in harness.runtime.logs(bundle, LogOptions(follow=True)))
    )
    follower.start()
    time.sleep(0.2)
    assert follower.is_alive()  # waiting for more
    go.write_text("\n")
    follower.join(10)
    assert not follower.is_alive()
    assert got[0] == (Stream.STDOUT, b"first\n")
    assert sorted(got[1:]) == [(Stream.STDOUT, b"second\n"), (Stream.STDERR, b"third\n")]
    assert sorted(e.data for e in harness.runtime.logs(bundle, LogOptions(tail=2))) == [b"second\n", b"third\n"]
    # as Docker's json-file: the tail is taken first, then the streams are selected
    assert [e.data for e in harness.runtime.logs(bundle, LogOptions(tail=2, stderr=False))] == [b"second\n"]


def test_exec_attached_with_exit_code(harness: Harness) -> None:
    spec = harness.spec("sleep", "100", env=("GREETING=hello",))
    bundle = harness.start(spec)
    session = harness.runtime.exec(
        spec.id, bundle, "exec1", ExecOptions(("sh", "-c", "echo $GREETING $EXTRA; pwd; echo err >&2; exit 3"),
                                              env=("EXTRA=world",), cwd="/tmp")
    )  # fmt: skip
    with AttachSocket.connect(session.attach_socket) as conn:
        pid = session.start()
        assert pid > 0
        out, err = collect(conn)
    assert session.wait(10) == 3
    assert out == b"hello world\n/tmp\n"
    assert err == b"err\n"


def test_exec_with_stdin_and_user(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    session = harness.runtime.exec(spec.id, bundle, "e2", ExecOptions(("sh", "-c", "id -u; cat"), stdin=True,
                                                                      user="nobody"))  # fmt: skip
    with AttachSocket.connect(session.attach_socket) as conn:
        session.start()
        conn.send(b"via stdin\n")
        conn.close_stdin()
        out, _ = collect(conn)
    assert out == b"65534\nvia stdin\n"
    assert session.wait(10) == 0


def test_exec_tty(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    session = harness.runtime.exec(
        spec.id, bundle, "e3", ExecOptions(("sh", "-c", "tty; stty size"), tty=True, console_size=(30, 90))
    )
    with AttachSocket.connect(session.attach_socket) as conn:
        session.start()
        out, _ = collect(conn)
    assert b"/dev/pts/" in out and b"30 90" in out
    assert session.wait(10) == 0


def test_exec_detached_records_exit_code(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    done = harness.fifo("done")
    session = harness.runtime.exec(
        spec.id, bundle, "bg", ExecOptions(("sh", "-c", "echo > /tmp/done; exit 9")), attach=False
    )
    assert session.pid > 0
    harness.read_fifo(done)
    assert session.wait(10) == 9
    assert session.exit_file.read_text() == "9"
    harness.runtime.remove_exec(bundle, "bg")
    assert not bundle.exec_dir("bg").exists()


def test_exec_errors(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    with pytest.raises(ContainerStartError) as err:
        harness.runtime.exec(spec.id, bundle, "bad", ExecOptions(("nosuch",)))
    assert (str(err.value), err.value.exit_code) == ('exec: "nosuch": executable file not found in $PATH', 127)
    harness.runtime.kill(spec.id, "KILL")
    harness.runtime.wait(spec.id, bundle, 10)
    with pytest.raises(DockyardError, match="stopped container"):
        harness.runtime.exec(spec.id, bundle, "late", ExecOptions(("true",)), attach=False)


def test_async_attach(harness: Harness) -> None:
    spec = harness.spec("sh", "-c", "read line; echo got $line; echo e >&2")
    bundle = harness.bundle(spec)
    harness.runtime.create(spec.id, bundle, MonitorOptions(stdin=True))

    async def talk() -> list[tuple[Stream, bytes]]:
        conn = await AsyncAttachSocket.connect(bundle.attach_socket)
        try:
            harness.runtime.start(spec.id)
            await conn.send(b"async\n")
            conn.close_stdin()
            got = []
            while (packet := await conn.recv()) is not None:
                got.append(packet)
            return got
        finally:
            conn.close()

    got = asyncio.run(asyncio.wait_for(talk(), 10))
    assert sorted(got) == [(Stream.STDOUT, b"got async\n"), (Stream.STDERR, b"e\n")]
    assert harness.runtime.wait(spec.id, bundle, 10) == 0
