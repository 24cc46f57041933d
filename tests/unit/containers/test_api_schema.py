"""The API's container JSON: the docker CLI's create body (captured in shared/reference/docker-api 05a) into the
service's options, and the small response shapes."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from dockyard.api.schemas.containers import (
    archive_stat_header,
    changes_json,
    create_options,
    exec_create_options,
    wait_json,
)
from dockyard.engine.containers.files import ArchiveStat, Change, ChangeKind
from dockyard.engine.containers.types import MountRequestType, RestartPolicyName
from dockyard.errors import InvalidArgument

CLI_BODY = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "ExposedPorts": {"80/tcp": {}}, "Tty": False, "OpenStdin": False, "StdinOnce": False,
    "Env": None, "Cmd": None, "Image": "friendlyhello", "Volumes": {}, "WorkingDir": "", "Entrypoint": None,
    "OnBuild": None, "Labels": {},
    "HostConfig": {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}}, "NetworkMode": "default",
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "4000"}]},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False, "ConsoleSize": [0, 0],
        "CapAdd": None, "CapDrop": None, "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "PidsLimit": 0, "Ulimits": [], "ShmSize": 0, "Memory": 0, "NanoCpus": 0, "MaskedPaths": None,
    },
    "NetworkingConfig": {"EndpointsConfig": {"default": {"IPAMConfig": None, "Aliases": None, "MacAddress": ""}}},
}  # fmt: skip


def test_the_docker_clis_create_body() -> None:
    opts = create_options(CLI_BODY, "web")
    assert opts.image == "friendlyhello" and opts.name == "web"
    assert opts.cmd is None and opts.entrypoint is None and opts.env == ()
    assert opts.publish == ("4000:80/tcp",) and opts.exposed_ports == ("80/tcp",)
    assert opts.network_mode == "default" and opts.restart_policy.name is RestartPolicyName.NO
    assert opts.pids_limit is None and not opts.attach_stdout


def test_create_body_details() -> None:
    body = {
        "Image": "busybox", "Cmd": ["sh", "-c", "true"], "Entrypoint": "", "Tty": True, "OpenStdin": True,
        "HostConfig": {
            "PortBindings": {"53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}, {"HostIp": "::1", "HostPort": "53"}]},
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "AutoRemove": False,
            "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}}],
            "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}], "ConsoleSize": [24, 80], "PidsLimit": 5,
            "NetworkMode": "n1",
        },
        "NetworkingConfig": {"EndpointsConfig": {"n1": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.1.0.9"}}}},
    }  # fmt: skip
    opts = create_options(body)
    assert opts.cmd == ("sh", "-c", "true") and opts.entrypoint == ("",) and opts.tty and opts.open_stdin
    assert opts.publish == ("127.0.0.1::53/udp", "[::1]:53:53/udp")
    assert str(opts.restart_policy) == "on-failure:3"
    assert opts.mounts[0].type is MountRequestType.TMPFS and opts.mounts[0].tmpfs_size == 1024
    assert opts.ulimits[0].hard == 20 and opts.console_size == (24, 80) and opts.pids_limit == 5
    assert opts.network_aliases == ("db",) and opts.ip == "10.1.0.9"


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "Config cannot be empty in order to create a container"),
     ({"Image": "x", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, "invalid restart policy 'sometimes'"),
     ({"Image": "x", "Env": [1]}, "cannot unmarshal list into Go struct field Env of type []string")],
)  # fmt: skip
def test_create_body_errors(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        create_options(body)


def test_small_shapes() -> None:
    assert wait_json(3) == {"Error": None, "StatusCode": 3}
    assert wait_json(-1, "context canceled") == {"Error": {"Message": "context canceled"}, "StatusCode": -1}
    assert changes_json([Change("/tmp", ChangeKind.MODIFIED), Change("/x", ChangeKind.DELETED)]) == [
        {"Path": "/tmp", "Kind": 0},
        {"Path": "/x", "Kind": 2},
    ]
    ex = exec_create_options({"Cmd": ["ls", "-l"], "AttachStdout": True, "Tty": False, "Env": ["A=1"]})
    assert ex.cmd == ("ls", "-l") and ex.env == ("A=1",) and ex.attach_stdout
    with pytest.raises(InvalidArgument, match="No exec command specified"):
        exec_create_options({"Cmd": []})


def test_archive_stat_header() -> None:
    header = archive_stat_header(ArchiveStat("etc", 4096, stat.S_IFDIR | 0o755, 1700000000.5))
    data = json.loads(base64.b64decode(header))
    assert data == {"name": "etc", "size": 4096, "mode": (1 << 31) | 0o755, "mtime": "2023-11-14T22:13:20.5Z",
                    "linkTarget": ""}  # fmt: skip
