"""Several dockyard processes at once: the same volume created, populated, mounted and removed concurrently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.settings import Settings
from tests.integration.volumes.conftest import container_id, mounted

pytestmark = pytest.mark.integration

_WORKER = """
import sys
from pathlib import Path
from dockyard.engine import Engine
from dockyard.settings import Settings
root, rootfs, cid, action = sys.argv[1:5]
volumes = Engine(Settings(root=Path(root))).volumes
if action == "populate":
    print(volumes.mount_source("shared", Path(rootfs), "/srv", cid))
elif action == "tmpfs":
    volumes.mount_source("mem", None, "/mem", cid, options={"type": "tmpfs", "device": "tmpfs"})
    volumes.unmount(cid)
elif action == "churn":
    for i in range(10):
        volumes.create("churn")
        volumes.delete(["churn"])
"""


def _run_all(root: Path, rootfs: Path, action: str, n: int) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(root), str(rootfs), container_id(), action],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outs.append(out.strip())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return outs


def test_concurrent_first_use_copies_once(state_root: Path, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "srv/sub").mkdir(parents=True)
    for i in range(200):
        (rootfs / f"srv/sub/f{i}").write_bytes(os.urandom(2000))
    outs = _run_all(state_root, rootfs, "populate", 6)
    data = Path(outs[0])
    assert set(outs) == {str(data)}
    assert sorted(os.listdir(data / "sub")) == sorted(os.listdir(rootfs / "srv/sub"))
    assert all(
        (data / "sub" / n).read_bytes() == (rootfs / "srv/sub" / n).read_bytes() for n in os.listdir(data / "sub")
    )
    volumes = Engine(Settings(root=state_root)).volumes
    assert len(volumes.users("shared")) == 6 and [v.name for v in volumes.list()] == ["shared"]
    assert not (state_root / "volumes/shared/populating").exists()


def test_concurrent_mounts_end_unmounted(state_root: Path, tmp_path: Path) -> None:
    _run_all(state_root, tmp_path, "tmpfs", 6)
    volumes = Engine(Settings(root=state_root)).volumes
    assert not mounted(volumes.get("mem").mountpoint)
    assert state_root.joinpath("volumes/mem/_data").is_dir()


def test_concurrent_create_and_remove(state_root: Path, tmp_path: Path) -> None:
    _run_all(state_root, tmp_path, "churn", 4)
    volumes = Engine(Settings(root=state_root)).volumes
    assert volumes.list() == [] and sorted(os.listdir(state_root / "volumes")) == []
