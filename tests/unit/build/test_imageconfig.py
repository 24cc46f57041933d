import pytest

from dockyard.build.imageconfig import apply_dockerfile_changes, normalize_ports, workdir_join
from dockyard.errors import InvalidArgument
from dockyard.oci import ContainerConfig, ImageConfig


def cfg(**kw: object) -> ImageConfig:
    return ImageConfig(config=ContainerConfig(**kw))  # type: ignore[arg-type]


def test_changes_like_docker_import() -> None:
    out = apply_dockerfile_changes(
        cfg(env=("PATH=/bin",)),
        [
            'CMD ["python", "app.py"]',
            "ENV NAME=World A=$PATH",
            "EXPOSE 80 8000-8001/udp",
            "WORKDIR /app",
            "WORKDIR sub",
            "USER nobody",
            'LABEL a=b "c d"=e',
            "VOLUME /data",
            "STOPSIGNAL SIGINT",
            "ENTRYPOINT /entry.sh",
        ],
    ).config
    assert out.cmd == ("python", "app.py")
    assert out.env == ("PATH=/bin", "NAME=World", "A=/bin")
    assert out.exposed_ports == ("80/tcp", "8000/udp", "8001/udp")
    assert out.working_dir == "/app/sub"
    assert out.user == "nobody"
    assert dict(out.labels) == {"a": "b", "c d": "e"}
    assert out.volumes == ("/data",)
    assert out.stop_signal == "SIGINT"
    assert out.entrypoint == ("/bin/sh", "-c", "/entry.sh")


def test_shell_form_cmd_uses_the_shell() -> None:
    assert apply_dockerfile_changes(cfg(), ["CMD echo hi"]).config.cmd == ("/bin/sh", "-c", "echo hi")
    assert apply_dockerfile_changes(cfg(shell=("/bin/bash", "-lc")), ["CMD x"]).config.cmd == ("/bin/bash", "-lc", "x")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("RUN echo hi", "RUN is not a valid change command"),
        ("FROM x", "FROM is not a valid change command"),
        ("NOPE x", "unknown instruction"),
        ("EXPOSE 99999", "invalid range"),
    ],
)
def test_invalid_changes(change: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        apply_dockerfile_changes(cfg(), [change])


def test_workdir_and_ports() -> None:
    assert workdir_join("", "app") == "/app"
    assert workdir_join("/a", "../b/./c") == "/b/c"
    assert workdir_join("/a", "/x") == "/x"
    assert normalize_ports(["53/UDP", "53/udp", "80"]) == ("53/udp", "80/tcp")
