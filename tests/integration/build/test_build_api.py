"""``POST /build`` driven by the real docker CLI (legacy builder, API 1.41), compared with dockerd's captured
behaviour in reference/docker-api/02-build.md: the stream, the 400 for a Dockerfile syntax error, the
errorDetail after streaming started, ``-q`` and the query parameters."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import ApiService, write_context

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed"),
]

DOCKERFILE = """\
FROM busybox
WORKDIR /app
ADD . /app
RUN echo built > /built.txt
EXPOSE 80
ENV NAME World
CMD ["httpd","-f","-p","80","-h","/app"]
"""


def test_docker_build_through_the_api(api_service: ApiService, cli: Cli, busybox: str, ctx: Path) -> None:
    write_context(ctx, {"Dockerfile": DOCKERFILE, "index.html": "<html><body><h1>Hello World!</h1></body></html>"})
    r = api_service.docker("build", "-t", "friendlyhello", ".", cwd=ctx)
    lines = r.stdout.splitlines()
    assert lines[0] == "Sending build context to Docker daemon  3.072kB"
    assert lines[1] == ""
    assert lines[2:4] == ["Step 1/7 : FROM busybox", f" ---> {cli('images', '-q', 'busybox').stdout.strip()}"]
    assert any(re.fullmatch(r" ---> Running in [0-9a-f]{12}", line) for line in lines)
    assert (
        re.fullmatch(r"Successfully built [0-9a-f]{12}", lines[-2])
        and lines[-1] == "Successfully tagged friendlyhello:latest"
    )
    assert cli("images", "-q", "friendlyhello").stdout.strip() == lines[-2].split()[-1]
    again = api_service.docker("build", "-t", "friendlyhello", ".", cwd=ctx).stdout
    assert again.count(" ---> Using cache") == 6 and again.splitlines()[-2] == lines[-2]


def test_syntax_error_is_a_400_with_dockerds_words(api_service: ApiService, busybox: str, ctx: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nWORKDIR /app\nADD . /app\nRUNN echo built > /built.txt\n"})
    r = api_service.docker("build", "-t", "friendlyhello-bad", ".", cwd=ctx, check=False)
    assert r.returncode == 1
    assert "Error response from daemon: dockerfile parse error line 4: unknown instruction: RUNN" in r.stderr


def test_failing_run_ends_the_stream_with_error_detail(api_service: ApiService, busybox: str, ctx: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nRUN echo about to fail && exit 1\n"})
    r = api_service.docker("build", "-t", "friendlyhello-fail", ".", cwd=ctx, check=False)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == "about to fail"
    assert r.stderr.strip().endswith(
        "The command '/bin/sh -c echo about to fail && exit 1' returned a non-zero code: 1"
    )


def test_quiet_options_and_labels(api_service: ApiService, cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nARG FOO\nRUN echo $FOO > /foo\n"})
    r = api_service.docker(
        "build", "--no-cache", "--build-arg", "FOO=bar", "--label", "org.example.team=pango",
        "-t", "x:opts", "-t", "x:opts2", "--network", "host", "-q", ".", cwd=ctx,
    )  # fmt: skip
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
    assert cli("images", "-q", "--no-trunc", "x:opts2").stdout.strip() == r.stdout.strip()
    from tests.integration.build.conftest import raw_config, read_in_image

    assert raw_config(state_root, "x:opts")["config"]["Labels"] == {"org.example.team": "pango"}  # type: ignore[index]
    assert read_in_image(state_root, "x:opts", "/foo") == "bar\n"


def test_raw_stream_shape(api_service: ApiService, busybox: str, ctx: Path) -> None:
    """One JSON object per message, each ending with \\r\\n; the aux ID comes before the Successfully lines."""
    import http.client
    import io
    import socket
    import tarfile

    write_context(ctx, {"Dockerfile": "FROM busybox\nENV A=1\n"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(ctx / "Dockerfile", arcname="Dockerfile")

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(api_service.socket))

    conn = UnixConnection("localhost", timeout=60)
    query = urllib.parse.urlencode([("t", "raw"), ("dockerfile", "Dockerfile"), ("version", "1")])
    conn.request("POST", f"/v1.41/build?{query}", body=buf.getvalue(), headers={"Content-Type": "application/x-tar"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    body = resp.read().decode()
    messages = [json.loads(m) for m in body.split("\r\n") if m]
    assert body.endswith("\r\n")
    assert messages[0] == {"stream": "Step 1/2 : FROM busybox"} and messages[1] == {"stream": "\n"}
    aux = [i for i, m in enumerate(messages) if "aux" in m]
    assert len(aux) == 1 and messages[aux[0]]["aux"]["ID"].startswith("sha256:")
    assert messages[aux[0] + 1]["stream"].startswith("Successfully built ")
    assert messages[-1] == {"stream": "Successfully tagged raw:latest\n"}
    conn.close()
