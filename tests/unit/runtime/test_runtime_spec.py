"""The spec builder against golden fragments of what Docker puts in config.json."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.caps import DEFAULT_CAPABILITIES
from dockyard.runtime.host import HostInfo
from dockyard.runtime.options import (
    ContainerSpec,
    Mount,
    MountType,
    Namespace,
    Propagation,
    Resources,
    SeccompMode,
    SecurityOptions,
    Ulimit,
)
from dockyard.runtime.parse import parse_tmpfs
from dockyard.runtime.spec import DEFAULT_PATH_ENV, MASKED_PATHS, READONLY_PATHS, build_spec, merge_env
from dockyard.runtime.users import ExecUser

HOST = HostInfo(
    machine="x86_64",
    kernel=(6, 1),
    cpus=2,
    capabilities=frozenset(i for i in range(41) if i != 24),  # no CAP_SYS_RESOURCE, like the test machine
    hard_limits={"nofile": 20000, "nproc": 1000, "core": -1},
    memory_swap=True,
)
ROOT = ExecUser(0, 0, (0,))


def build(**kw: object) -> dict:
    user = kw.pop("user_resolved", ROOT)
    init_path = kw.pop("init_path", None)
    spec = ContainerSpec(**{"id": "c1", "rootfs": "/r", "args": ("sh",), **kw})  # type: ignore[arg-type]
    return build_spec(spec, HOST, user, init_path=init_path)  # type: ignore[arg-type]


def mounts_by_dest(config: dict) -> dict[str, dict]:
    return {m["destination"]: m for m in config["mounts"]}


def test_default_process_and_root() -> None:
    c = build(hostname="abc123", env=("FOO=bar",), cwd="/work")
    p = c["process"]
    assert c["ociVersion"] == "1.0.2-dev"
    assert p["terminal"] is False
    assert p["args"] == ["sh"]
    assert p["env"] == [f"PATH={DEFAULT_PATH_ENV}", "HOSTNAME=abc123", "FOO=bar"]
    assert p["cwd"] == "/work"
    assert p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert "noNewPrivileges" not in p and "rlimits" not in p and "oomScoreAdj" not in p
    assert p["capabilities"] == {
        "bounding": list(DEFAULT_CAPABILITIES),
        "effective": list(DEFAULT_CAPABILITIES),
        "permitted": list(DEFAULT_CAPABILITIES),
    }
    assert c["root"] == {"path": "/r", "readonly": False}
    assert c["hostname"] == "abc123"
    assert c["linux"]["cgroupsPath"] == "/dockyard/c1"


def test_docker_default_capabilities_are_the_14() -> None:
    assert DEFAULT_CAPABILITIES == (
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    )


def test_default_mounts_exactly_as_docker() -> None:
    c = build()
    assert c["mounts"] == [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"],
        },
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        },
    ]


def test_linux_defaults() -> None:
    linux = build()["linux"]
    assert linux["maskedPaths"] == list(MASKED_PATHS)
    assert "/proc/kcore" in linux["maskedPaths"] and "/sys/firmware" in linux["maskedPaths"]
    assert linux["readonlyPaths"] == list(READONLY_PATHS)
    assert linux["namespaces"] == [{"type": "mount"}, {"type": "network"}, {"type": "uts"}, {"type": "pid"},
                                   {"type": "ipc"}]  # fmt: skip
    assert linux["devices"] == []
    assert linux["resources"]["devices"] == [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
        {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
    ]
    assert linux["sysctl"] == {"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0"}
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert linux["resources"]["cpu"] == {"shares": 0}
    assert linux["resources"]["memory"] == {}
    assert "pids" not in linux["resources"]


def test_namespaces_host_and_path() -> None:
    c = build(network=Namespace.join("/run/netns/x"), pid=Namespace.host(), uts=Namespace.host(), hostname="h")
    assert c["linux"]["namespaces"] == [
        {"type": "mount"},
        {"type": "network", "path": "/run/netns/x"},
        {"type": "ipc"},
    ]
    assert "hostname" not in c  # --uts host keeps the host's name
    host_net = build(network=Namespace.host())
    assert {"type": "network"} not in host_net["linux"]["namespaces"]
    assert host_net["linux"]["sysctl"] == {}  # no network sysctls in the host's namespace


def test_tty_env_and_console_size() -> None:
    p = build(tty=True, console_size=(30, 100), env=("TERM=vt100",))["process"]
    assert p["terminal"] is True
    assert p["consoleSize"] == {"height": 30, "width": 100}
    assert p["env"][-1] == "TERM=vt100"  # the user's value replaces Docker's TERM=xterm in place
    assert [e for e in p["env"] if e.startswith("TERM=")] == ["TERM=vt100"]


def test_merge_env_replace_append_remove() -> None:
    assert merge_env(["A=1", "B=2"], ["B=3", "C=4", "A"]) == ["B=3", "C=4"]


def test_privileged() -> None:
    c = build(security=SecurityOptions(privileged=True))
    caps = c["process"]["capabilities"]["bounding"]
    assert len(caps) == 40 and "CAP_SYS_ADMIN" in caps and "CAP_SYS_RESOURCE" not in caps
    assert "seccomp" not in c["linux"]
    assert "maskedPaths" not in c["linux"] and "readonlyPaths" not in c["linux"]
    assert c["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    m = mounts_by_dest(c)
    assert "ro" not in m["/sys"]["options"] and "ro" not in m["/sys/fs/cgroup"]["options"]


def test_cap_add_drop() -> None:
    caps = build(security=SecurityOptions(cap_add=("net_admin",), cap_drop=("CAP_CHOWN", "mknod")))["process"]
    bounding = caps["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in bounding and "CAP_CHOWN" not in bounding and "CAP_MKNOD" not in bounding
    only = build(security=SecurityOptions(cap_drop=("ALL",), cap_add=("NET_BIND_SERVICE",)))
    assert only["process"]["capabilities"]["bounding"] == ["CAP_NET_BIND_SERVICE"]
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_FOO"'):
        build(security=SecurityOptions(cap_add=("foo",)))
    with pytest.raises(InvalidArgument, match="not available in the current environment"):
        build(security=SecurityOptions(cap_add=("SYS_RESOURCE",)))


def test_seccomp_follows_capabilities() -> None:
    default = build()["linux"]["seccomp"]
    names = {n for rule in default["syscalls"] for n in rule["names"]}
    assert "mount" not in names  # needs CAP_SYS_ADMIN
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in default["syscalls"]
    admin = build(security=SecurityOptions(cap_add=("SYS_ADMIN",)))["linux"]["seccomp"]
    admin_names = {n for rule in admin["syscalls"] for n in rule["names"]}
    assert "mount" in admin_names
    assert not any(r["names"] == ["clone3"] and r["action"] == "SCMP_ACT_ERRNO" for r in admin["syscalls"])
    assert "seccomp" not in build(security=SecurityOptions(seccomp=SeccompMode.UNCONFINED))["linux"]
    custom = build(
        security=SecurityOptions(seccomp=SeccompMode.CUSTOM, seccomp_profile='{"defaultAction":"SCMP_ACT_ALLOW"}')
    )
    assert custom["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}


def test_no_new_privileges() -> None:
    assert build(security=SecurityOptions(no_new_privileges=True))["process"]["noNewPrivileges"] is True


def test_read_only_rootfs() -> None:
    c = build(read_only=True, etc_files=(("/etc/hosts", "/c/hosts"),), mounts=(parse_tmpfs("/run"),))
    assert c["root"]["readonly"] is True
    m = mounts_by_dest(c)
    assert "ro" in m["/sys/fs/cgroup"]["options"]
    assert "ro" not in m["/proc"]["options"] and "ro" not in m["/dev/shm"]["options"]
    assert m["/etc/hosts"]["options"] == ["rbind", "ro", "rprivate"]
    assert "ro" not in m["/run"]["options"]  # user mounts keep their own mode


def test_user_mounts_sorted_and_options() -> None:
    c = build(
        mounts=(
            Mount("/data/deep/er", "/h/a", MountType.BIND, read_only=True),
            Mount("/data", "/h/vol", MountType.VOLUME),
            Mount("/tmp", type=MountType.TMPFS, tmpfs_options=("size=64m", "exec")),
        ),
        etc_files=(("/etc/hostname", "/c/hostname"), ("/etc/resolv.conf", "/c/resolv.conf")),
    )
    user = c["mounts"][7:]
    assert [m["destination"] for m in user] == ["/data", "/tmp", "/etc/hostname", "/etc/resolv.conf", "/data/deep/er"]
    m = mounts_by_dest(c)
    assert m["/data/deep/er"] == {"destination": "/data/deep/er", "type": "bind", "source": "/h/a",
                                  "options": ["rbind", "ro", "rprivate"]}  # fmt: skip
    assert m["/data"]["options"] == ["rbind", "rprivate"]
    assert m["/tmp"] == {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "nodev", "rprivate", "size=64m", "exec"]}  # fmt: skip
    assert m["/etc/hostname"]["options"] == ["rbind", "rprivate"]


def test_user_mount_over_default_and_dev() -> None:
    c = build(mounts=(Mount("/dev", "/hostdev"), Mount("/dev/shm", "/s")))
    dests = [m["destination"] for m in c["mounts"]]
    assert dests.count("/dev") == 1 and dests.count("/dev/shm") == 1
    assert "/dev/pts" not in dests and "/dev/mqueue" not in dests


def test_propagation_sets_rootfs_propagation() -> None:
    assert build(mounts=(Mount("/x", "/h", propagation=Propagation.RSHARED),))["linux"]["rootfsPropagation"] == "shared"
    assert build(mounts=(Mount("/x", "/h", propagation=Propagation.SLAVE),))["linux"]["rootfsPropagation"] == "rslave"
    assert "rootfsPropagation" not in build(mounts=(Mount("/x", "/h"),))["linux"]


def test_init() -> None:
    c = build(init=True, init_path="/usr/bin/tini-static", args=("sleep", "1"))
    assert c["process"]["args"] == ["/sbin/docker-init", "--", "sleep", "1"]
    assert mounts_by_dest(c)["/sbin/docker-init"] == {
        "destination": "/sbin/docker-init",
        "type": "bind",
        "source": "/usr/bin/tini-static",
        "options": ["bind", "ro"],
    }
    assert build(init=True, init_path="/x", pid=Namespace.host())["process"]["args"] == ["sh"]
    with pytest.raises(InvalidArgument, match="init"):
        build(init=True)


def test_resources() -> None:
    r = build(resources=Resources(memory=64 << 20, cpus=1.5, pids_limit=50, cpu_shares=512))["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert r["cpu"] == {"shares": 512, "quota": 150000, "period": 100000}
    assert r["pids"] == {"limit": 50}
    assert build(resources=Resources(pids_limit=0))["linux"]["resources"]["pids"] == {"limit": -1}
    assert build(resources=Resources(memory=64 << 20, memory_swap=-1))["linux"]["resources"]["memory"] == {
        "limit": 64 << 20
    }
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        build(resources=Resources(memory=1 << 20))
    with pytest.raises(InvalidArgument, match=r"Range of CPUs is from 0\.01 to 2\.00, as there are only 2 CPUs"):
        build(resources=Resources(cpus=3))
    with pytest.raises(InvalidArgument, match="larger than memory limit"):
        build(resources=Resources(memory=64 << 20, memory_swap=32 << 20))


def test_ulimits_never_above_host_hard_limit() -> None:
    r = build(ulimits=(Ulimit("nofile", 1024, 2048), Ulimit("core", -1, -1)))["process"]["rlimits"]
    assert r == [
        {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024},
        {"type": "RLIMIT_CORE", "hard": 2**64 - 1, "soft": 2**64 - 1},
    ]
    with pytest.raises(InvalidArgument, match="above this host's hard limit of 20000") as err:
        build(ulimits=(Ulimit("nofile", 1024, 30000),))
    assert err.value.hint and "nofile=20000" in err.value.hint
    with pytest.raises(InvalidArgument, match="unlimited is above"):
        build(ulimits=(Ulimit("nproc", -1, -1),))


def test_user_and_groups_in_process() -> None:
    p = build(user_resolved=ExecUser(1000, 1000, (1000, 10, 27)))["process"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10, 27]}
    assert p["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)  # Docker sets them for any user


def test_stop_signal_annotation_and_sysctls() -> None:
    c = build(stop_signal="SIGQUIT", sysctls=(("net.ipv4.ip_unprivileged_port_start", "1024"),))
    assert c["annotations"] == {"org.opencontainers.image.stopSignal": "SIGQUIT"}
    assert c["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "1024"


def test_no_command() -> None:
    with pytest.raises(InvalidArgument, match="no command"):
        build(args=())
