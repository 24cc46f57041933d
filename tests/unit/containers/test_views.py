"""Docker's JSON shapes and status strings for a container (compared with the captures in
shared/reference/docker-api 05 and 09)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.containers.codec import dumps
from dockyard.engine.containers.listing import ContainerFilters, ContainerSummary, status_text
from dockyard.engine.containers.options import CreateOptions
from dockyard.engine.containers.records import ContainerRecord, PublishedPort
from dockyard.engine.containers.types import ContainerStatus, RunConfig
from dockyard.engine.containers.views import (
    ContainerDetails,
    EndpointView,
    inspect_json,
    port_bindings,
    published_lines,
    summary_json,
)

CID = "5a79462dd1360f32145098e034b095bcad4297ca5bf7469bb834dd98ae844ae1"
INSPECT_KEYS = [
    "Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath",
    "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
    "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings",
]  # fmt: skip


def _record(**kw: object) -> ContainerRecord:
    opts = CreateOptions(image="friendlyhello", publish=("4001:80",))
    config = RunConfig("friendlyhello", CID[:12], "", "", ("PATH=/usr/bin", "NAME=World"),
                       ("httpd", "-f", "-p", "80", "-h", "/app"), None, "/app", {}, ("80/tcp",))  # fmt: skip
    values: dict[str, object] = {
        "id": CID, "name": "happy_hodgkin", "image_id": "sha256:" + "ac" * 32, "image_ref": "friendlyhello",
        "created": 1795822786.30429308, "options_data": dumps(opts), "config": config,
        "status": ContainerStatus.RUNNING, "pid": 769, "started_at": 1795822786.535,
        "ports": (PublishedPort(80, "tcp", "0.0.0.0", 4001),),
    }  # fmt: skip
    values.update(kw)
    return ContainerRecord(**values)  # type: ignore[arg-type]


def _details(record: ContainerRecord) -> ContainerDetails:
    endpoint = EndpointView("bridge", "33a2" * 16, "f979" * 16, "172.17.0.1", "172.17.0.2", 16, "02:42:ac:11:00:02")
    return ContainerDetails(record, Path("/r/containers") / CID, Path("/r/containers") / CID / "ctr.log",
                            (endpoint,), sandbox_key="/r/run/netns/" + CID, masked_paths=("/proc/kcore",),
                            readonly_paths=("/proc/sys",))  # fmt: skip


def test_inspect_of_a_running_container() -> None:
    data = inspect_json(_details(_record()))
    assert list(data) == INSPECT_KEYS
    assert data["Path"] == "httpd" and data["Args"] == ["-f", "-p", "80", "-h", "/app"]
    assert data["Name"] == "/happy_hodgkin"
    assert data["State"] == {
        "Status": "running", "Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
        "Dead": False, "Pid": 769, "ExitCode": 0, "Error": "", "StartedAt": "2026-11-27T23:39:46.535Z",
        "FinishedAt": "0001-01-01T00:00:00Z",
    }  # fmt: skip
    assert data["Created"].startswith("2026-11-27T23:39:46.30429")
    host = data["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "4001"}]}
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert host["NetworkMode"] == "default" and host["ShmSize"] == 67108864 and host["PidsLimit"] is None
    assert host["MaskedPaths"] == ["/proc/kcore"] and host["ReadonlyPaths"] == ["/proc/sys"]
    config = data["Config"]
    assert config["ExposedPorts"] == {"80/tcp": {}} and config["Hostname"] == CID[:12]
    assert config["Cmd"] == ["httpd", "-f", "-p", "80", "-h", "/app"] and config["Entrypoint"] is None
    assert config["Volumes"] is None and config["Image"] == "friendlyhello"
    net = data["NetworkSettings"]
    assert net["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "4001"}]}
    assert net["IPAddress"] == "172.17.0.2" and net["Gateway"] == "172.17.0.1" and net["IPPrefixLen"] == 16
    assert net["Networks"]["bridge"]["IPAddress"] == "172.17.0.2"
    assert net["SandboxKey"] == "/r/run/netns/" + CID


def test_inspect_of_an_exited_container() -> None:
    record = _record(status=ContainerStatus.EXITED, pid=0, exit_code=137, finished_at=1795822800.0, ports=())
    data = inspect_json(_details(record))
    assert data["State"]["Status"] == "exited" and data["State"]["Running"] is False
    assert data["State"]["ExitCode"] == 137 and data["State"]["FinishedAt"] == "2026-11-27T23:40:00Z"
    net = data["NetworkSettings"]
    assert net["Ports"] == {} and net["IPAddress"] == "" and net["SandboxKey"] == ""
    bridge = net["Networks"]["bridge"]
    assert bridge["NetworkID"] == "33a2" * 16 and bridge["IPAddress"] == "" and bridge["EndpointID"] == ""


def test_status_strings() -> None:
    now = 1795822900.0
    assert status_text(_record(started_at=now - 6), now) == "Up 6 seconds"
    assert status_text(_record(status=ContainerStatus.PAUSED, started_at=now - 130), now) == "Up 2 minutes (Paused)"
    exited = _record(status=ContainerStatus.EXITED, exit_code=3, finished_at=now - 2)
    assert status_text(exited, now) == "Exited (3) 2 seconds ago"
    assert status_text(_record(status=ContainerStatus.CREATED, started_at=0.0), now) == "Created"
    restarting = _record(status=ContainerStatus.RESTARTING, exit_code=1, finished_at=now - 1)
    assert status_text(restarting, now) == "Restarting (1) 1 second ago"
    assert status_text(_record(status=ContainerStatus.REMOVING), now) == "Removal In Progress"
    assert status_text(_record(status=ContainerStatus.DEAD), now) == "Dead"


def test_list_entry() -> None:
    record = _record(config=RunConfig("busybox", "h", "", "", (), ("sh", "-c", "exit 3"), None, ""),
                     status=ContainerStatus.EXITED, exit_code=3, finished_at=1795822897.0, ports=())  # fmt: skip
    entry = summary_json(ContainerSummary(record, "busybox"), now=1795822899.5)
    assert entry["Command"] == "sh -c 'exit 3'"
    assert entry["Names"] == ["/happy_hodgkin"] and entry["Created"] == 1795822786
    assert entry["Status"] == "Exited (3) 2 seconds ago" and entry["State"] == "exited" and entry["Ports"] == []
    assert entry["HostConfig"] == {"NetworkMode": "default"}
    assert list(entry["NetworkSettings"]["Networks"]) == ["bridge"]
    running = summary_json(ContainerSummary(_record(), "friendlyhello"), now=1795822790.0)
    assert running["Ports"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 4001, "Type": "tcp"}]
    assert running["Status"] == "Up 3 seconds"


def test_port_helpers() -> None:
    assert port_bindings(("127.0.0.1:4003:80", "5000-5001:6000-6001/udp")) == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "4003"}],
        "6000/udp": [{"HostIp": "", "HostPort": "5000"}],
        "6001/udp": [{"HostIp": "", "HostPort": "5001"}],
    }
    ports = (PublishedPort(80, "tcp", "0.0.0.0", 4001), PublishedPort(53, "udp", "127.0.0.1", 5353))
    assert published_lines(ports) == ["53/udp -> 127.0.0.1:5353", "80/tcp -> 0.0.0.0:4001"]
    assert published_lines(ports, "80") == ["0.0.0.0:4001"]
    assert published_lines(ports, "80/udp") == []


def test_filters_parse_with_dockers_wording() -> None:
    import pytest

    from dockyard.errors import InvalidArgument

    f = ContainerFilters.parse(["status=exited", "label=a=b", "name=web"])
    assert f.get("status") == ("exited",) and f.get("label") == ("a=b",)
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'color'$"):
        ContainerFilters.parse(["color=red"])
    with pytest.raises(InvalidArgument, match="valid values are: created, restarting, running"):
        ContainerFilters.parse(["status=sleeping"])
    with pytest.raises(InvalidArgument, match="bad format of filter"):
        ContainerFilters.parse(["status"])


@pytest.mark.parametrize(
    "ref",
    ["busybox", "busybox:1.36", "user/app", "localhost:5000/x/y:t", "127.0.0.1:5000/pango/get-started:part2",
     "quay.io/a/b", "busybox@sha256:" + "1" * 64, "ghcr.io/o/r:v1@sha256:" + "2" * 64],
)  # fmt: skip
def test_the_light_reference_split_agrees_with_the_parser(ref: str) -> None:
    from dockyard.engine.containers.listing import _normalized
    from dockyard.oci.reference import parse_reference

    parsed = parse_reference(ref)
    full = str(parsed if parsed.digest is not None else parsed.with_default_tag())
    assert _normalized(ref) == full.replace(f":{parsed.tag}@", "@") if parsed.digest and parsed.tag else full
