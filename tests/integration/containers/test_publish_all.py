"""``run -P``: every port the image EXPOSEs is published on a random host port, shown by ``port``, ``ps`` and
``inspect`` alike, and answers there."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.containers.conftest import wait_for

pytestmark = pytest.mark.integration


def test_publish_all_exposed_ports(dy: Cli, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nEXPOSE 80 8080/udp\n")
    dy("build", "-q", "-t", "exposing", str(tmp_path))
    cid = dy("run", "-d", "-P", "exposing", "sh", "-c",
             "mkdir /www && echo served > /www/index.html && exec httpd -f -p 80 -h /www").stdout.strip()  # fmt: skip
    lines = dy("port", cid).stdout.splitlines()
    assert len(lines) == 2, lines
    tcp = re.fullmatch(r"80/tcp -> 0\.0\.0\.0:(\d+)", lines[0])
    udp = re.fullmatch(r"8080/udp -> 0\.0\.0\.0:(\d+)", lines[1])
    assert tcp and udp, lines
    tcp_port, udp_port = int(tcp[1]), int(udp[1])
    assert tcp_port != 80 and udp_port != 8080
    ps = dy("ps", "--format", "{{.Ports}}").stdout
    assert ps == f"0.0.0.0:{tcp_port}->80/tcp, 0.0.0.0:{udp_port}->8080/udp\n"
    bindings = json.loads(dy("inspect", cid).stdout)[0]["NetworkSettings"]["Ports"]
    assert bindings["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": str(tcp_port)}]
    assert bindings["8080/udp"] == [{"HostIp": "0.0.0.0", "HostPort": str(udp_port)}]

    def fetch() -> bytes:
        try:
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data
        except OSError:
            return b""

    assert b"served" in wait_for(fetch)  # type: ignore[operator]
    dy("rm", "-f", cid)
