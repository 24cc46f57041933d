"""Docker's default seccomp profile, shipped as is and converted as moby's setupSeccomp does."""

from __future__ import annotations

import json

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.caps import DEFAULT_CAPABILITIES
from dockyard.runtime.seccomp import _PROFILE, default_profile, native_arch, to_oci_seccomp


def convert(caps: tuple[str, ...] = DEFAULT_CAPABILITIES, machine: str = "x86_64", kernel: tuple[int, int] = (6, 1)):
    result = to_oci_seccomp(default_profile(), machine=machine, bounding=caps, kernel=kernel)
    assert result is not None
    return result


def names(result: dict) -> set[str]:
    return {n for rule in result["syscalls"] for n in rule["names"]}


def test_profile_is_mobys_file() -> None:
    text = _PROFILE.read_text()
    assert len(text) == 12782  # moby profiles/seccomp/default.json, byte for byte
    profile = json.loads(text)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1
    assert len(profile["syscalls"]) == 31
    assert "read" in profile["syscalls"][0]["names"]


def test_amd64_architectures_and_defaults() -> None:
    result = convert()
    assert result["defaultAction"] == "SCMP_ACT_ERRNO"
    assert result["defaultErrnoRet"] == 1
    assert result["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    n = names(result)
    assert {"arch_prctl", "modify_ldt", "ptrace", "chroot"} <= n  # amd64 only; minKernel 4.8; CAP_SYS_CHROOT
    assert not {"set_tls", "s390_runtime_instr", "mount", "reboot", "bpf", "open_by_handle_at"} & n


def test_clone_rules_without_sys_admin() -> None:
    syscalls = convert()["syscalls"]
    assert {
        "names": ["clone"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
    } in syscalls
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in syscalls
    assert not any(r.get("args") and r["args"][0]["index"] == 1 for r in syscalls if r["names"] == ["clone"])


def test_socket_and_personality_args() -> None:
    syscalls = convert()["syscalls"]
    assert {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]} in syscalls  # fmt: skip
    values = [r["args"][0]["value"] for r in syscalls if r["names"] == ["personality"]]
    assert values == [0, 8, 131072, 131080, 4294967295]


def test_sys_admin_unlocks_mount_and_clone() -> None:
    result = convert((*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"))
    assert {"mount", "unshare", "setns", "clone3"} <= names(result)
    assert not any(r["names"] == ["clone"] and "args" in r for r in result["syscalls"])


def test_other_architectures_and_old_kernels() -> None:
    arm = convert(machine="aarch64")
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "set_tls" in names(arm) and "arch_prctl" not in names(arm)
    old = convert(kernel=(4, 4))
    assert not any(r["names"] == ["process_vm_readv", "process_vm_writev", "ptrace"] for r in old["syscalls"])
    assert native_arch("x86_64") == "amd64"


def test_custom_profiles() -> None:
    assert to_oci_seccomp({}, machine="x86_64", bounding=(), kernel=(6, 1)) is None
    with pytest.raises(InvalidArgument, match="use either 'architectures' or 'archMap'"):
        to_oci_seccomp(
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{}]},
            machine="x86_64", bounding=(), kernel=(6, 1),
        )  # fmt: skip
    single = to_oci_seccomp(
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO"}]},
        machine="x86_64", bounding=(), kernel=(6, 1),
    )  # fmt: skip
    assert single == {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
