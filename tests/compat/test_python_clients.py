"""docker-py and testcontainers, unchanged, against dockyard's API socket: the Python clients people drive Docker
with (the docker CLI has tests of its own beside this file)."""

from __future__ import annotations

import io
import os
import urllib.request
from collections.abc import Iterator
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
