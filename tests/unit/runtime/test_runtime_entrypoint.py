"""The command check before runc: lookup inside the rootfs, Docker's errors, and the wrong-architecture case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dockyard.runtime.entrypoint import check_entrypoint, elf_machine, resolve_in_root
from dockyard.runtime.errors import ContainerStartError

PATH_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin"]


def elf(path: Path, machine: int) -> None:
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + (2).to_bytes(2, "little") + machine.to_bytes(2, "little")
    path.write_bytes(header + b"\0" * 100)
    path.chmod(0o755)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    shutil.copy("/bin/true", tmp_path / "bin" / "true")
    os.symlink("/bin/true", tmp_path / "usr" / "bin" / "abs-link")  # absolute: relative to the rootfs
    os.symlink("../../bin/true", tmp_path / "usr" / "bin" / "rel-link")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\n")
    elf(tmp_path / "bin" / "armprog", 183)
    return tmp_path


def check(rootfs: Path, *args: str, mounts: tuple[str, ...] = (), machine: str = "x86_64") -> None:
    check_entrypoint(rootfs, list(args), PATH_ENV, "/", list(mounts), machine)


def test_found(rootfs: Path) -> None:
    check(rootfs, "true")
    check(rootfs, "abs-link")
    check(rootfs, "rel-link")
    check(rootfs, "/usr/bin/abs-link")
    assert resolve_in_root(rootfs, "/usr/bin/abs-link") == rootfs / "bin" / "true"


def test_not_found_is_127(rootfs: Path) -> None:
    with pytest.raises(ContainerStartError) as err:
        check(rootfs, "foo")
    assert (str(err.value), err.value.exit_code) == ('exec: "foo": executable file not found in $PATH', 127)
    with pytest.raises(ContainerStartError) as err:
        check(rootfs, "/nope")
    assert (str(err.value), err.value.exit_code) == ('exec: "/nope": stat /nope: no such file or directory', 127)


def test_not_executable_is_126(rootfs: Path) -> None:
    for path in ("/etc/passwd", "/etc"):
        with pytest.raises(ContainerStartError) as err:
            check(rootfs, path)
        assert (str(err.value), err.value.exit_code) == (f'exec: "{path}": permission denied', 126)
    with pytest.raises(ContainerStartError):
        check(rootfs, "passwd")  # not executable in a PATH search: not found


def test_wrong_architecture_in_plain_words(rootfs: Path) -> None:
    with pytest.raises(ContainerStartError) as err:
        check(rootfs, "armprog")
    assert err.value.exit_code == 126
    assert "built for linux/arm64 and this host is linux/amd64" in str(err.value)
    assert err.value.hint and "linux/amd64" in err.value.hint
    check(rootfs, "armprog", machine="aarch64")
    assert elf_machine(rootfs / "bin" / "true") == {"x86_64": 62, "aarch64": 183}.get(os.uname().machine)


def test_mounts_make_it_unverifiable(rootfs: Path) -> None:
    check(rootfs, "/data/run.sh", mounts=("/data",))
    check(rootfs, "tool", mounts=("/usr/local/bin",))  # could be in the mounted dir: let runc decide


def test_symlink_loop_is_left_to_runc(rootfs: Path) -> None:
    os.symlink("loop2", rootfs / "bin" / "loop1")
    os.symlink("loop1", rootfs / "bin" / "loop2")
    check(rootfs, "/bin/loop1")
