"""Create-time logic: Docker's merge of user and image config, mount planning, and option checks."""

from __future__ import annotations

import pytest

from dockyard.engine.containers.create import merge_config, plan_mounts, validate_options
from dockyard.engine.containers.options import CreateOptions, MountRequest
from dockyard.engine.containers.types import MountRequestType, RestartPolicy
from dockyard.errors import InvalidArgument
from dockyard.oci.image import ContainerConfig

CID = "0123456789ab" + "c" * 52
IMAGE = ContainerConfig(
    user="app",
    env=("PATH=/usr/bin:/bin", "NAME=World"),
    cmd=("python", "app.py"),
    working_dir="/app",
    labels={"a": "1", "b": "2"},
    exposed_ports=("80/tcp",),
    volumes=("/data",),
    stop_signal="SIGQUIT",
)


def test_image_defaults_fill_what_the_user_left() -> None:
    c = merge_config(CreateOptions(image="hello"), IMAGE, CID)
    assert c.cmd == ("python", "app.py") and c.entrypoint is None
    assert c.args == ("python", "app.py") and c.path == "python"
    assert c.env == ("PATH=/usr/bin:/bin", "NAME=World")
    assert (c.user, c.working_dir, c.stop_signal) == ("app", "/app", "SIGQUIT")
    assert c.hostname == CID[:12]
    assert c.exposed_ports == ("80/tcp",) and c.volumes == ("/data",)


def test_user_values_win_and_env_keeps_dockers_order() -> None:
    opts = CreateOptions(
        image="hello",
        env=("NAME=You", "X=1"),
        labels={"b": "9"},
        user="root",
        working_dir="/w",
        hostname="box",
        cmd=("sh",),
        exposed_ports=("53/udp",),
        publish=("4000:80", "9000:90"),
    )
    c = merge_config(opts, IMAGE, CID)
    assert c.env == ("NAME=You", "X=1", "PATH=/usr/bin:/bin")  # the user's first, then the image's others
    assert dict(c.labels) == {"a": "1", "b": "9"}
    assert (c.user, c.working_dir, c.hostname, c.cmd) == ("root", "/w", "box", ("sh",))
    assert c.exposed_ports == ("80/tcp", "53/udp", "90/tcp")


def test_entrypoint_rules() -> None:
    image = ContainerConfig(entrypoint=("/entry.sh",), cmd=("serve",))
    assert merge_config(CreateOptions(image="x"), image, CID).args == ("/entry.sh", "serve")
    assert merge_config(CreateOptions(image="x", cmd=("run",)), image, CID).args == ("/entry.sh", "run")
    # a new entrypoint drops the image's command
    assert merge_config(CreateOptions(image="x", entrypoint=("/bin/sh",)), image, CID).args == ("/bin/sh",)
    # --entrypoint "" clears it: only the given command runs
    reset = merge_config(CreateOptions(image="x", entrypoint=("",), cmd=("echo", "hi")), image, CID)
    assert reset.args == ("echo", "hi") and reset.entrypoint is None
    with pytest.raises(InvalidArgument, match=r"^No command specified$"):
        merge_config(CreateOptions(image="x", entrypoint=("",)), image, CID)
    with pytest.raises(InvalidArgument, match=r"^No command specified$"):
        merge_config(CreateOptions(image="x"), ContainerConfig(), CID)


def test_host_network_takes_the_hosts_name() -> None:
    import os

    assert merge_config(CreateOptions(image="x", network_mode="host"), IMAGE, CID).hostname == os.uname().nodename


def test_mount_planning(tmp_path: object) -> None:
    opts = CreateOptions(
        image="x",
        binds=("/srv:/srv:ro", "named:/named", "/only:rw"),
        volumes=("/anon",),
        tmpfs={"/run": "size=1m"},
        mounts=(MountRequest(MountRequestType.TMPFS, "/cache"),),
    )
    config = merge_config(opts, IMAGE, CID)
    planned = {m.destination: m for m in plan_mounts(opts, config)}
    assert planned["/srv"].type is MountRequestType.BIND and planned["/srv"].read_only and planned["/srv"].mode == "ro"
    assert planned["/named"].type is MountRequestType.VOLUME and planned["/named"].source == "named"
    assert not planned["/named"].anonymous
    assert planned["/only"].anonymous and len(planned["/only"].source) == 64
    assert planned["/anon"].anonymous and planned["/data"].anonymous  # -v /anon and the image's VOLUME
    assert planned["/run"].type is MountRequestType.TMPFS and planned["/run"].tmpfs_options == ("size=1m",)
    assert planned["/cache"].type is MountRequestType.TMPFS


def test_a_user_mount_replaces_the_images_volume() -> None:
    opts = CreateOptions(image="x", binds=("/host:/data",))
    planned = plan_mounts(opts, merge_config(opts, IMAGE, CID))
    assert [(m.destination, m.type) for m in planned] == [("/data", MountRequestType.BIND)]


def test_duplicate_mount_point() -> None:
    opts = CreateOptions(image="x", binds=("/a:/m", "/b:/m"))
    with pytest.raises(InvalidArgument, match=r"^Duplicate mount point: /m$"):
        plan_mounts(opts, merge_config(opts, ContainerConfig(cmd=("sh",)), CID))


def test_missing_bind_source_of_mount_flag(tmp_path: object) -> None:
    opts = CreateOptions(image="x", mounts=(MountRequest(MountRequestType.BIND, "/m", "/no/such/dir"),))
    with pytest.raises(InvalidArgument) as err:
        plan_mounts(opts, merge_config(opts, ContainerConfig(cmd=("sh",)), CID))
    assert err.value.message == 'invalid mount config for type "bind": bind source path does not exist: /no/such/dir'


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (CreateOptions(image="x", auto_remove=True, restart_policy=RestartPolicy.parse("always")),
         "Conflicting options: --restart and --rm"),
        (CreateOptions(image="x", memory=1024), "Minimum memory limit allowed is 6MB"),
        (CreateOptions(image="x", working_dir="rel"),
         "the working directory 'rel' is invalid, it needs to be an absolute path"),
        (CreateOptions(image="x", publish=("99999:80",)), "invalid hostPort: 99999"),
        (CreateOptions(image="x", security_opt=("bogus",)), 'invalid --security-opt 1: "bogus"'),
        (CreateOptions(image="x", network_mode="host", network_aliases=("a",)),
         "network-scoped alias is supported only for containers in user defined networks"),
        (CreateOptions(image="x", pid_mode="nonsense"), "invalid PID mode: nonsense"),
    ],
)  # fmt: skip
def test_validation(opts: CreateOptions, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_options(opts)
    assert err.value.message == message
