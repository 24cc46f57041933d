"""Real runc + conmon over a plain busybox root filesystem (no image store), in a throw-away state root.

Container IDs include the test process's PID and a random suffix: cgroups (``/dockyard/<id>``) are shared by
every test on the machine. Whatever a test leaves (runc containers, conmon processes) is removed afterwards,
even when it failed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockyard.pids import pid_alive as process_alive
from dockyard.runtime import (
    Bundle,
    ContainerSpec,
    MonitorOptions,
    RuncRuntime,
    write_bundle,
)
from dockyard.runtime.attach import Stream
from dockyard.runtime.inotify import pidfd, wait_readable

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = "root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n"


def make_busybox_rootfs(target: Path) -> Path:
    """/bin/busybox with its applet links, /etc/passwd and /etc/group."""
    (target / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", target / "bin" / "busybox")
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", target / "bin" / applet)
    for d in ("etc", "tmp", "root", "proc", "sys", "dev", "run"):
        (target / d).mkdir(exist_ok=True)
    (target / "etc" / "passwd").write_text(PASSWD)
    (target / "etc" / "group").write_text(GROUP)
    (target / "tmp").chmod(0o1777)
    return target


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@dataclass
class Result:
    exit_code: int | None
    stdout: bytes
    stderr: bytes


@dataclass
class Harness:
    root: Path
    rootfs: Path
    runtime: RuncRuntime
    created: list[str] = field(default_factory=list)

    def new_id(self) -> str:
        cid = f"dyrt{os.getpid()}x{secrets.token_hex(6)}"
        self.created.append(cid)
        return cid

    def spec(self, *args: str, **kw: object) -> ContainerSpec:
        cid = str(kw.pop("id", None) or self.new_id())
        values: dict[str, object] = {"id": cid, "rootfs": str(self.rootfs), "args": args, "hostname": cid[:12]}
        values.update(kw)
        return ContainerSpec(**values)  # type: ignore[arg-type]

    def fifo(self, name: str) -> Path:
        """A FIFO at /tmp/<name> in the container: ``echo > /tmp/<name>`` there, ``read_fifo`` here."""
        path = self.rootfs / "tmp" / name
        os.mkfifo(path)
        return path

    @staticmethod
    def read_fifo(path: Path) -> str:
        with open(path) as f:  # blocks until the container opens it for writing
            return f.read()

    def bundle(self, spec: ContainerSpec) -> Bundle:
        return write_bundle(self.root / "containers" / spec.id, spec)

    def start(self, spec: ContainerSpec, opts: MonitorOptions = MonitorOptions()) -> Bundle:
        bundle = self.bundle(spec)
        self.runtime.create(spec.id, bundle, opts)
        self.runtime.start(spec.id)
        return bundle

    def run(self, *args: str, timeout: float = 30, **kw: object) -> Result:
        """create + start + wait + logs + delete, like ``docker run --rm``."""
        spec = self.spec(*args, **kw)
        bundle = self.start(spec)
        code = self.runtime.wait(spec.id, bundle, timeout)
        out = err = b""
        for entry in self.runtime.logs(bundle):
            if entry.stream is Stream.STDOUT:
                out += entry.data
            else:
                err += entry.data
        self.runtime.delete(spec.id, force=True)
        return Result(code, out, err)

    def cleanup(self) -> None:
        for cid in self.created:
            subprocess.run(
                ["runc", f"--root={self.root / 'run' / 'runc'}", "delete", "--force", cid],
                capture_output=True,
                check=False,
            )
        for pidfile in self.root.rglob("conmon.pid"):
            try:
                pid = int(pidfile.read_text())
                if not process_alive(pid) or b"conmon" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                fd = pidfd(pid)
            except (OSError, ValueError):
                continue
            if fd is None:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                wait_readable([fd], 10)
            finally:
                os.close(fd)


@pytest.fixture
def harness(tmp_path: Path, busybox_template: Path) -> Iterator[Harness]:
    root = tmp_path / "root"
    root.mkdir()
    rootfs = tmp_path / "rootfs"
    shutil.copytree(busybox_template, rootfs, symlinks=True)
    h = Harness(root, rootfs, RuncRuntime(root))
    try:
        yield h
    finally:
        h.cleanup()
