"""What a process inside sees: Docker's capabilities, seccomp, no_new_privs, masked and read-only paths,
hostname and /etc files, users, rlimits, cgroup limits, --init, --read-only, mounts, --privileged."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime import (
    EtcFiles,
    Mount,
    MountType,
    Namespace,
    Resources,
    SeccompMode,
    SecurityOptions,
    Ulimit,
    write_etc_files,
)
from dockyard.runtime.caps import DEFAULT_CAPABILITIES, all_capabilities, cap_mask
from dockyard.runtime.host import current_host
from dockyard.runtime.parse import parse_tmpfs
from tests.integration.runtime.conftest import Harness

pytestmark = pytest.mark.integration


def status_fields(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+):\s+(\S+)", text, re.M))


def test_default_security_as_docker(harness: Harness) -> None:
    result = harness.run("cat", "/proc/self/status")
    assert result.exit_code == 0, result.stderr
    status = status_fields(result.stdout.decode())
    default = f"{cap_mask(DEFAULT_CAPABILITIES):016x}"
    assert default == "00000000a80425fb"
    assert (status["CapBnd"], status["CapEff"], status["CapPrm"], status["CapInh"]) == (
        default, default, default, "0000000000000000",
    )  # fmt: skip
    assert status["Seccomp"] == "2"
    assert status["NoNewPrivs"] == "0"


def test_no_new_privileges_and_unconfined(harness: Harness) -> None:
    result = harness.run(
        "cat", "/proc/self/status", security=SecurityOptions(no_new_privileges=True, seccomp=SeccompMode.UNCONFINED)
    )
    status = status_fields(result.stdout.decode())
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "0"


def test_seccomp_blocks_what_docker_blocks(harness: Harness) -> None:
    # unshare(2) needs CAP_SYS_ADMIN under Docker's profile: EPERM from the filter
    result = harness.run("unshare", "-U", "true")
    assert result.exit_code != 0
    assert b"Operation not permitted" in result.stderr


def test_masked_and_read_only_paths(harness: Harness) -> None:
    masked_file = next(p for p in ("/proc/keys", "/proc/timer_list", "/proc/interrupts") if Path(p).exists())
    script = (
        f"wc -c < {masked_file}; ls /sys/firmware | wc -l; "
        "touch /sys/x 2>&1; (echo 1 > /proc/sys/kernel/domainname) 2>&1; echo done"
    )
    result = harness.run("sh", "-c", script)
    lines = result.stdout.decode().splitlines()
    assert lines[0].strip() == "0"  # /dev/null bound over it
    assert lines[1].strip() == "0"  # an empty read-only tmpfs
    assert "Read-only file system" in lines[2]
    assert "Read-only file system" in lines[3]
    assert lines[-1] == "done"


def test_hostname_and_etc_files(harness: Harness) -> None:
    spec_id = harness.new_id()
    files = write_etc_files(
        harness.root / "containers" / spec_id,
        EtcFiles(
            hostname="webhost", hosts="127.0.0.1\tlocalhost\n10.9.8.7\twebhost\n", resolv_conf="nameserver 10.0.0.53\n"
        ),
    )
    result = harness.run(
        "sh", "-c", "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf", id=spec_id, hostname="webhost",
        etc_files=files,
    )  # fmt: skip
    assert result.stdout == b"webhost\nwebhost\n127.0.0.1\tlocalhost\n10.9.8.7\twebhost\nnameserver 10.0.0.53\n"


def test_users(harness: Harness) -> None:
    assert harness.run("id").stdout == b"uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"
    assert harness.run("id", user="nobody").stdout == b"uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
    assert harness.run("id", user="1234:wheel", group_add=("4321",)).stdout == (
        b"uid=1234 gid=10(wheel) groups=10(wheel),4321\n"
    )
    with pytest.raises(InvalidArgument, match="unable to find user foo: no matching entries in passwd file"):
        harness.run("id", user="foo")
    status = status_fields(harness.run("cat", "/proc/self/status", user="nobody").stdout.decode())
    assert status["CapEff"] == "0000000000000000"  # a non-root user loses them on exec, as in Docker
    assert status["CapBnd"] == f"{cap_mask(DEFAULT_CAPABILITIES):016x}"


def test_ulimits_within_the_host_hard_limit(harness: Harness) -> None:
    hard = current_host().hard_limit("nofile")
    result = harness.run("sh", "-c", "ulimit -n; ulimit -Hn", ulimits=(Ulimit("nofile", 512, 1024),))
    assert result.stdout == b"512\n1024\n"
    if hard != -1 and not current_host().can_raise_rlimits:
        with pytest.raises(InvalidArgument, match="above this host's hard limit"):
            harness.run("true", ulimits=(Ulimit("nofile", 1024, hard + 1),))
    default = harness.run("sh", "-c", "ulimit -Hn").stdout.strip()
    assert default == (b"unlimited" if hard == -1 else str(hard).encode())  # none set: inherited


def test_memory_and_pids_limits_in_the_cgroup(harness: Harness) -> None:
    ready = harness.fifo("ready")
    spec = harness.spec(
        "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo > /tmp/ready; exec sleep 100",
        resources=Resources(memory=64 << 20, pids_limit=20, cpus=0.5),
    )  # fmt: skip
    bundle = harness.start(spec)
    harness.read_fifo(ready)
    base = Path("/sys/fs/cgroup")
    rel = f"dockyard/{spec.id}"
    assert (base / "memory" / rel / "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
    assert (base / "memory" / rel / "memory.memsw.limit_in_bytes").read_text().strip() == str(128 << 20)
    assert (base / "pids" / rel / "pids.max").read_text().strip() == "20"
    assert (base / "cpu" / rel / "cpu.cfs_quota_us").read_text().strip() == "50000"
    # the fifo can be read before conmon has copied the line before it from the container's pipe to the log
    deadline = time.monotonic() + 5
    while not (logged := [e.data for e in harness.runtime.logs(bundle)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert logged == [f"{64 << 20}\n".encode()]
    stats = harness.runtime.stats(f"/dockyard/{spec.id}")
    assert stats.memory.limit == 64 << 20 and 0 < stats.memory.usage < 64 << 20
    assert stats.pids.current >= 1 and stats.pids.limit == 20
    assert stats.cpu.total_ns > 0 and stats.system_cpu_ns > 0
    runc_stats = harness.runtime.runc.events_stats(spec.id)
    assert runc_stats["pids"]["limit"] == 20  # type: ignore[index]


def test_init_is_pid_1(harness: Harness) -> None:
    result = harness.run("sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '", init=True)
    assert result.stdout.startswith(b"/sbin/docker-init -- sh -c")


def test_read_only_rootfs_tmpfs_and_binds(harness: Harness, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from host\n")
    result = harness.run(
        "sh", "-c",
        "touch /x 2>&1; touch /run/ok && echo tmpfs-ok; cat /data/in; echo out > /data/out; "
        "cat /ro/in; touch /ro/y 2>&1; grep ' /run ' /proc/mounts",
        read_only=True,
        mounts=(parse_tmpfs("/run:size=1m"), Mount("/data", str(shared)), Mount("/ro", str(shared), read_only=True)),
    )  # fmt: skip
    out = result.stdout.decode()
    assert "touch: /x: Read-only file system" in out
    assert "tmpfs-ok" in out
    assert out.count("from host") == 2
    assert "touch: /ro/y: Read-only file system" in out
    assert re.search(r"tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k", out)
    assert (shared / "out").read_text() == "out\n"


def test_volume_mount_type(harness: Harness, tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    harness.run("sh", "-c", "echo data > /v/f", mounts=(Mount("/v", str(vol), MountType.VOLUME),))
    assert (vol / "f").read_text() == "data\n"


def test_privileged_and_cap_changes(harness: Harness) -> None:
    status = status_fields(harness.run("cat", "/proc/self/status", security=SecurityOptions(privileged=True))
                           .stdout.decode())  # fmt: skip
    assert status["CapEff"] == f"{cap_mask(all_capabilities(current_host().capabilities)):016x}"
    assert status["Seccomp"] == "0"
    mounts = harness.run("grep", " /sys", "/proc/mounts", security=SecurityOptions(privileged=True)).stdout.decode()
    assert re.search(r"^sysfs /sys sysfs rw,", mounts, re.M)  # writable /sys and cgroups for --privileged
    assert not re.search(r" /sys/fs/cgroup\S* cgroup ro,", mounts)
    devices = harness.run("ls", "/dev", security=SecurityOptions(privileged=True)).stdout.split()
    assert len(devices) > len(harness.run("ls", "/dev").stdout.split())  # the host's devices
    dropped = status_fields(harness.run("cat", "/proc/self/status", security=SecurityOptions(
        cap_drop=("ALL",), cap_add=("NET_ADMIN",))).stdout.decode())  # fmt: skip
    assert dropped["CapBnd"] == f"{cap_mask(['CAP_NET_ADMIN']):016x}"


def test_network_namespaces(harness: Harness) -> None:
    private = harness.run("cat", "/proc/net/dev").stdout.decode()
    assert [line.split(":")[0].strip() for line in private.splitlines()[2:]] == ["lo"]
    host = harness.run("cat", "/proc/net/dev", network=Namespace.host()).stdout.decode()
    host_ifaces = {line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]}
    assert {line.split(":")[0].strip() for line in host.splitlines()[2:]} == host_ifaces
    # join another container's namespace by path, as the network package's netns files are joined
    ready = harness.fifo("ready")
    first = harness.spec("sh", "-c", "echo > /tmp/ready; exec sleep 100")
    bundle = harness.start(first)
    harness.read_fifo(ready)
    pid = harness.runtime.state(first.id, bundle).pid
    joined = harness.run("readlink", "/proc/self/ns/net", network=Namespace.join(f"/proc/{pid}/ns/net")).stdout
    assert joined.decode().strip() == os.readlink(f"/proc/{pid}/ns/net")
