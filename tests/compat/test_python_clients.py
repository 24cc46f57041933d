"""docker-py, testcontainers and docker-compose, unchanged, against dockyard's API socket: the clients people
drive Docker with besides the docker CLI (which has tests of its own beside this file)."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import ApiServer

pytestmark = [pytest.mark.integration, pytest.mark.compat]

docker = pytest.importorskip("docker")


@pytest.fixture
def client(api: ApiServer, busybox: str) -> Iterator[Any]:
    c = docker.DockerClient(base_url=api.url)
    try:
        yield c
    finally:
        for container in c.containers.list(all=True):
            container.remove(force=True)
        c.close()


def test_docker_py_runs_execs_and_cleans_up(client: Any) -> None:
    c = client  # docker.DockerClient
    assert c.ping() is True and c.version()["ApiVersion"] == "1.41"
    # run in the foreground: the output comes back (docker-py reads it only from a log driver it knows)
    assert c.containers.run("busybox", ["sh", "-c", "echo hello; echo err >&2"], remove=True) == b"hello\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        c.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 4"], remove=True)
    assert (failed.value.exit_status, failed.value.stderr) == (4, b"bad\n")
    # detached: name, labels, environment, logs, exec, networks, stop, wait
    ct = c.containers.run("busybox", ["sh", "-c", "echo up; exec sleep 60"], detach=True, name="py1",
                          environment={"A": "1"}, labels={"x": "y"})  # fmt: skip
    ct.reload()
    assert (ct.status, ct.name, ct.labels) == ("running", "py1", {"x": "y"})
    assert ct.exec_run(["sh", "-c", "echo $A; exit 3"]) == (3, b"1\n")
    net = c.networks.create("pynet")
    net.connect(ct)
    ct.reload()
    assert sorted(ct.attrs["NetworkSettings"]["Networks"]) == ["bridge", "pynet"]
    net.disconnect(ct)
    net.remove()
    ct.stop(timeout=1)
    assert ct.wait()["StatusCode"] == 137
    assert ct.logs() == b"up\n"
    ct.remove()
    # images: list, build, run what was built, remove; volumes; disk usage
    assert [i.tags for i in c.images.list()] == [["busybox:latest"]]
    image, _ = c.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN echo built > /x\nCMD cat /x\n"), tag="py:1")
    assert image.tags == ["py:1"] and c.containers.run("py:1", remove=True) == b"built\n"
    c.images.remove("py:1")
    volume = c.volumes.create("pyvol")
    assert c.df()["Volumes"][0]["Name"] == "pyvol"
    volume.remove()


def test_testcontainers_starts_reaches_and_removes(
    api: ApiServer, busybox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("testcontainers")
    monkeypatch.setenv("DOCKER_HOST", api.url)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # its reaper image is on Docker Hub, out of reach
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    command = "sh -c 'echo ready; exec httpd -f -p 8080 -h /etc'"
    container = DockerContainer("busybox").with_command(command).with_exposed_ports(8080)
    with container.waiting_for(LogMessageWaitStrategy("ready")) as ct:
        # the address testcontainers works out (here: the bridge's gateway, it believes it runs in a container)
        host, port = ct.get_container_host_ip(), ct.get_exposed_port(8080)
        hostname = urllib.request.urlopen(f"http://{host}:{port}/hostname", timeout=10).read().decode()
        assert hostname.strip() == ct.get_wrapped_container().id[:12]
        assert tuple(ct.exec(["echo", "hi"])) == (0, b"hi\n")
    c = docker.DockerClient(base_url=api.url)
    assert c.containers.list(all=True) == []
    c.close()
    assert os.environ["DOCKER_HOST"] == api.url


COMPOSE_FILE = """\
version: "3"
services:
  web:
    image: busybox
    command: sh -c "echo web up; exec httpd -f -p 80 -h /etc"
    ports: ["127.0.0.1:{port}:80"]
    environment: [GREETING=hi]
    volumes: [data:/data]
  client:
    image: busybox
    command: sh -c "until nc web 80 </dev/null; do sleep 0.2; done; echo reached; exec sleep 300"
    depends_on: [web]
volumes:
  data: {{}}
"""


def test_docker_compose_up_exec_down(api: ApiServer, busybox: str, tmp_path: Path) -> None:
    """docker-compose 1.x (Debian 12's; Debian 13's 2.x is skipped until verified): a project with a published
    port, a named volume, a service that reaches another by name; exec, logs, down -v leaves nothing."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed")
    version = subprocess.run([compose, "version", "--short"], capture_output=True, text=True, timeout=30).stdout
    if not version.startswith("1."):  # Debian 13 packages compose v2, which this test was not yet run with
        pytest.skip(f"docker-compose {version.strip()}: only 1.x (Debian 12's) is verified here")
    port = _free_port()
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE.format(port=port))
    env = {**os.environ, "DOCKER_HOST": api.url, "COMPOSE_PROJECT_NAME": "proj"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([compose, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stderr
        assert len(run("ps", "-q").stdout.split()) == 2
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=10).read().decode()
        assert re.fullmatch(r"[0-9a-f]{12}\n", page)
        assert run("exec", "-T", "web", "sh", "-c", "echo $GREETING").stdout == "hi\n"
        deadline = time.time() + 30
        while "reached" not in run("logs", "client").stdout:  # the client found web by its service name
            assert time.time() < deadline, run("logs", "client").stdout
            time.sleep(0.3)
    finally:
        down = run("down", "-v")
    assert down.returncode == 0, down.stderr
    c = docker.DockerClient(base_url=api.url)
    try:
        assert c.containers.list(all=True) == [] and c.volumes.list() == []
        assert sorted(n.name for n in c.networks.list()) == ["bridge", "host", "none"]
    finally:
        c.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
