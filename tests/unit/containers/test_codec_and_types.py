"""The record codec and the option values: round trips, Docker's parsing and wording."""

from __future__ import annotations

import pytest

from dockyard.engine.containers.codec import dumps, loads
from dockyard.engine.containers.options import CreateOptions, MountRequest
from dockyard.engine.containers.records import PublishedPort
from dockyard.engine.containers.types import (
    ContainerMount,
    MountRequestType,
    RestartPolicy,
    RestartPolicyName,
    RunConfig,
    UlimitSpec,
)
from dockyard.errors import InvalidArgument


def test_create_options_round_trip() -> None:
    opts = CreateOptions(
        image="busybox",
        name="web",
        cmd=("sh", "-c", "echo hi"),
        entrypoint=None,
        env=("A=1",),
        labels={"k": "v"},
        tmpfs={"/run": "size=1m"},
        restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
        mounts=(MountRequest(MountRequestType.TMPFS, "/cache", tmpfs_size=1024),),
        ulimits=(UlimitSpec("nofile", 1024, 2048),),
        pids_limit=None,
        console_size=(24, 80),
    )
    back = loads(CreateOptions, dumps(opts))
    assert back == opts
    assert back.labels == {"k": "v"} and back.tmpfs == {"/run": "size=1m"}
    assert back.restart_policy.name is RestartPolicyName.ON_FAILURE
    assert back.mounts[0].type is MountRequestType.TMPFS
    assert back.console_size == (24, 80) and back.cmd == ("sh", "-c", "echo hi") and back.entrypoint is None


def test_unknown_keys_are_ignored_and_missing_ones_default() -> None:
    back = loads(CreateOptions, '{"image": "x", "from_the_future": 1}')
    assert back == CreateOptions(image="x")


def test_tuples_of_dataclasses() -> None:
    ports = (PublishedPort(80, "tcp", "0.0.0.0", 4000),)
    assert loads(tuple[PublishedPort, ...], dumps(ports)) == ports  # type: ignore[arg-type]
    mounts = (ContainerMount(MountRequestType.VOLUME, "/data", "v1", anonymous=True),)
    assert loads(tuple[ContainerMount, ...], dumps(mounts)) == mounts  # type: ignore[arg-type]
    config = RunConfig("busybox", "h", "", "", ("A=1",), ("sh",), None, "/", {"a": "b"})
    assert loads(RunConfig, dumps(config)) == config
    assert config.args == ("sh",) and config.path == "sh"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no", RestartPolicy()),
        ("", RestartPolicy()),
        ("always", RestartPolicy(RestartPolicyName.ALWAYS)),
        ("unless-stopped", RestartPolicy(RestartPolicyName.UNLESS_STOPPED)),
        ("on-failure", RestartPolicy(RestartPolicyName.ON_FAILURE)),
        ("on-failure:5", RestartPolicy(RestartPolicyName.ON_FAILURE, 5)),
    ],
)
def test_restart_policy_parse(value: str, expected: RestartPolicy) -> None:
    assert RestartPolicy.parse(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sometimes", "invalid restart policy format: unknown policy 'sometimes'"),
        ("always:3", "invalid restart policy format: maximum retry count cannot be used with 'always'"),
        ("on-failure:x", 'invalid restart policy format: strconv.Atoi: parsing "x": invalid syntax'),
        ("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative"),
    ],
)
def test_restart_policy_errors(value: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        RestartPolicy.parse(value)
    assert err.value.message == message


def test_restart_policy_str() -> None:
    assert str(RestartPolicy(RestartPolicyName.ON_FAILURE, 2)) == "on-failure:2"
    assert str(RestartPolicy()) == "no"


def test_mount_parse() -> None:
    m = MountRequest.parse("type=bind,source=/tmp,target=/mnt,readonly,bind-propagation=rslave")
    assert (m.type, m.source, m.target, m.read_only, m.propagation) == (MountRequestType.BIND, "/tmp", "/mnt", True,
                                                                        "rslave")  # fmt: skip
    v = MountRequest.parse("source=data,destination=/data,volume-nocopy")
    assert (v.type, v.source, v.target, v.no_copy) == (MountRequestType.VOLUME, "data", "/data", True)
    t = MountRequest.parse("type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770")
    assert (t.tmpfs_size, t.tmpfs_mode) == (1 << 20, 0o1770)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("type=bind,target=/x", 'invalid mount config for type "bind": field Source must not be empty'),
        ("type=volume", "target is required"),
        ("type=nfs,target=/x", "invalid value for 'type': nfs"),
        ("type=bind,src=/a,target=/b,color=red", "unexpected key 'color' in 'color=red'"),
        ("junk", "invalid field 'junk' must be a key=value pair"),
    ],
)
def test_mount_parse_errors(value: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        MountRequest.parse(value)
    assert err.value.message == message
