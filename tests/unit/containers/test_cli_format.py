"""The docker CLI's ps formatting: quoted and truncated commands, PORTS column, IMAGE column; run flags."""

from __future__ import annotations

import click
import pytest

from dockyard.cli.commands.container_cmd import DockerCommand
from dockyard.cli.commands.container_flags import build_create_options, create_flags, parse_env_file
from dockyard.cli.commands.container_ps import _image_column, displayable_ports, ellipsis, go_quote
from dockyard.engine.containers.records import PublishedPort
from dockyard.errors import InvalidArgument


def test_command_column() -> None:
    assert go_quote(ellipsis("httpd -f -p 80 -h /app", 20)) == '"httpd -f -p 80 -h /…"'
    assert go_quote(ellipsis("sh -c 'exit 3'", 20)) == "\"sh -c 'exit 3'\""
    assert go_quote('echo "hi"\n') == '"echo \\"hi\\"\\n"'
    assert go_quote("tab\there \x01") == '"tab\\there \\x01"'
    assert go_quote("héllo ✓") == '"héllo ✓"'


def test_ports_column() -> None:
    def p(private: int, ip: str, public: int, proto: str = "tcp") -> PublishedPort:
        return PublishedPort(private, proto, ip, public)

    assert displayable_ports([p(80, "0.0.0.0", 4000)]) == "0.0.0.0:4000->80/tcp"
    assert displayable_ports([p(80, "127.0.0.1", 4003)]) == "127.0.0.1:4003->80/tcp"
    assert displayable_ports([], ["80/tcp", "443/tcp"]) == "80/tcp, 443/tcp"
    assert displayable_ports([], ["8000/tcp", "8001/tcp", "8002/tcp", "53/udp"]) == "53/udp, 8000-8002/tcp"
    assert displayable_ports([p(80, "0.0.0.0", 80), p(81, "0.0.0.0", 81)]) == "0.0.0.0:80-81->80-81/tcp"
    assert displayable_ports([p(80, "0.0.0.0", 4000)], ["80/tcp", "90/tcp"]) == "90/tcp, 0.0.0.0:4000->80/tcp"


def test_image_column() -> None:
    image_id = "sha256:" + "ac7762f4338e" + "0" * 52
    assert _image_column("friendlyhello", image_id, True) == "friendlyhello"
    assert _image_column("docker.io/library/busybox:latest", image_id, True) == "busybox:latest"
    assert _image_column(image_id, image_id, True) == "ac7762f4338e"
    assert _image_column(image_id, image_id, False) == image_id
    assert _image_column("busybox@sha256:" + "1" * 64, image_id, True) == "busybox"
    assert _image_column("", image_id, True) == "<no image>"


@click.command(cls=DockerCommand)
@create_flags
@click.option("-d", "--detach", is_flag=True)
@click.option("--sig-proxy/--no-sig-proxy", default=True)
@click.argument("image")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def fake_run(**params: object) -> dict[str, object]:
    return params


def _parse(*argv: str) -> dict[str, object]:
    result = fake_run.main(list(argv), standalone_mode=False)
    assert isinstance(result, dict)
    return result


def test_options_stop_at_the_image() -> None:
    p = _parse("--rm", "-it", "-e", "A=1", "busybox", "ls", "-l", "--rm")
    assert p["image"] == "busybox" and p["args"] == ("ls", "-l", "--rm")
    assert p["auto_remove"] and p["interactive"] and p["tty"] and p["env"] == ("A=1",)


def test_docker_bool_forms() -> None:
    assert _parse("--sig-proxy=false", "img")["sig_proxy"] is False
    assert _parse("--rm=true", "-d=false", "img")["auto_remove"] is True
    assert _parse("-p", "80:80", "-p8080:80", "img")["publish"] == ("80:80", "8080:80")


def test_build_create_options(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "yes")
    p = _parse("--name", "web", "-e", "A=1", "-e", "FROM_HOST", "-e", "UNSET_ONE", "-v", "/data", "-v", "/h:/c:ro",
               "-m", "64m", "--cpus", "1.5", "--restart", "on-failure:3", "-l", "a=b", "--entrypoint", "",
               "--ulimit", "nofile=100:200", "--tmpfs", "/run:size=1m", "busybox", "echo", "hi")  # fmt: skip
    image, args = p.pop("image"), p.pop("args")
    detach = p.pop("detach")
    p.pop("sig_proxy")
    opts = build_create_options(p, str(image), tuple(args), detach=bool(detach))  # type: ignore[arg-type]
    assert opts.name == "web" and opts.cmd == ("echo", "hi") and opts.entrypoint == ("",)
    assert opts.env == ("A=1", "FROM_HOST=yes", "UNSET_ONE")
    assert opts.volumes == ("/data",) and opts.binds == ("/h:/c:ro",)
    assert opts.memory == 64 << 20 and opts.nano_cpus == 1_500_000_000
    assert str(opts.restart_policy) == "on-failure:3" and dict(opts.labels) == {"a": "b"}
    assert opts.ulimits[0].soft == 100 and opts.tmpfs == {"/run": "size=1m"}
    assert opts.attach_stdout and not opts.attach_stdin


def test_rm_and_restart_conflict() -> None:
    p = _parse("--rm", "--restart", "always", "img")
    image, args = p.pop("image"), p.pop("args")
    p.pop("detach")
    p.pop("sig_proxy")
    with pytest.raises(InvalidArgument, match=r"^Conflicting options: --restart and --rm$"):
        build_create_options(p, str(image), tuple(args), detach=False)  # type: ignore[arg-type]


def test_env_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    monkeypatch.setenv("PASSED", "through")
    path = Path(str(tmp_path)) / "env"
    path.write_text("# comment\n\nA=1\nB= spaced value \nPASSED\nNOT_SET_ANYWHERE\nEMPTY=\n")
    assert parse_env_file(str(path)) == ["A=1", "B= spaced value ", "PASSED=through", "EMPTY="]
