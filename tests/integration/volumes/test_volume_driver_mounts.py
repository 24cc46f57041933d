"""The local driver's ``type``/``device``/``o`` options: tmpfs and bind volumes mounted while containers run."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.errors import FailedPrecondition
from tests.integration.volumes.conftest import container_id, mounted

pytestmark = pytest.mark.integration

TMPFS = {"type": "tmpfs", "device": "tmpfs", "o": "size=2m,mode=0750,uid=1234"}


def _fstype(path: Path) -> str:
    with open("/proc/self/mounts") as f:
        found = [line.split()[2] for line in f if line.split()[1] == str(path)]
    return found[-1] if found else ""


def test_tmpfs_volume_is_mounted_while_used_and_unmounted_after(engine: Engine, tmp_path: Path) -> None:
    vol = engine.volumes.create("scratch", options=TMPFS)
    assert not mounted(vol.mountpoint)  # create does not mount (Docker neither)
    c1, c2 = container_id(), container_id()
    assert engine.volumes.mount_source("scratch", None, "/scratch", c1) == vol.mountpoint
    assert mounted(vol.mountpoint) and _fstype(vol.mountpoint) == "tmpfs"
    st = os.stat(vol.mountpoint)
    assert st.st_uid == 1234 and st.st_mode & 0o777 == 0o750
    (vol.mountpoint / "f").write_text("in memory")
    engine.volumes.mount_source("scratch", None, "/scratch", c2)  # a second container shares the mount
    assert Path("/proc/self/mounts").read_text().count(f" {vol.mountpoint} ") == 1
    engine.volumes.unmount(c1)
    assert mounted(vol.mountpoint) and (vol.mountpoint / "f").read_text() == "in memory"
    engine.volumes.unmount(c2)
    assert not mounted(vol.mountpoint) and not (vol.mountpoint / "f").exists()
    # the size limit is the kernel's
    engine.volumes.mount_source("scratch", None, "/scratch", c1)
    with pytest.raises(OSError) as err:
        (vol.mountpoint / "big").write_bytes(b"x" * (3 << 20))
    assert err.value.errno == errno.ENOSPC
    engine.volumes.release(c1)
    engine.volumes.release(c2)
    assert not mounted(vol.mountpoint)
    assert engine.volumes.delete(["scratch"])[0].error is None


def test_tmpfs_volume_is_populated_from_the_image(engine: Engine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "cache").mkdir(parents=True)
    (rootfs / "cache/seed").write_text("seed")
    engine.volumes.create("cache", options={"type": "tmpfs", "device": "tmpfs"})
    data = engine.volumes.mount_source("cache", rootfs, "/cache", container_id())
    assert _fstype(data) == "tmpfs" and (data / "seed").read_text() == "seed"


def test_bind_volume_shows_a_host_directory(engine: Engine, tmp_path: Path) -> None:
    host = tmp_path / "host-data"
    host.mkdir()
    (host / "keep.txt").write_text("host file")
    vol = engine.volumes.create("hostdir", options={"type": "none", "device": str(host), "o": "bind"})
    cid = container_id()
    data = engine.volumes.mount_source("hostdir", None, "/data", cid)
    assert (data / "keep.txt").read_text() == "host file"
    (data / "from-container").write_text("x")
    assert (host / "from-container").exists()
    # removing the volume while mounted is refused (in use); after release it unmounts and keeps the host data
    assert engine.volumes.delete(["hostdir"])[0].error is not None
    engine.volumes.release(cid)
    assert engine.volumes.delete(["hostdir"])[0].error is None
    assert not mounted(vol.mountpoint) and not vol.mountpoint.parent.exists()
    assert (host / "keep.txt").read_text() == "host file" and (host / "from-container").exists()


def test_removal_never_reaches_into_a_bind_mounted_host_directory(engine: Engine, tmp_path: Path) -> None:
    host = tmp_path / "precious"
    host.mkdir()
    (host / "data").write_text("do not delete")
    engine.volumes.create("leaky", options={"type": "none", "device": str(host), "o": "bind"})
    cid = container_id()
    data = engine.volumes.mount_source("leaky", None, "/data", cid)
    # simulate a crash that lost the mount records but left the mount: the usage row goes, the mount stays
    with engine.store.db.transaction() as conn:
        conn.execute("DELETE FROM volume_mounts")
        conn.execute("DELETE FROM volume_users")
    assert mounted(data)
    assert engine.volumes.delete(["leaky"])[0].error is None
    assert (host / "data").read_text() == "do not delete"
    assert not mounted(data)


def test_read_only_bind(engine: Engine, tmp_path: Path) -> None:
    host = tmp_path / "ro-src"
    host.mkdir()
    engine.volumes.create("ro", options={"type": "none", "device": str(host), "o": "bind,ro"})
    data = engine.volumes.mount_source("ro", None, "/ro", container_id())
    with pytest.raises(OSError) as err:
        (data / "x").write_text("x")
    assert err.value.errno == errno.EROFS


def test_a_failing_mount_says_what_failed(engine: Engine, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    vol = engine.volumes.create("broken", options={"type": "none", "device": str(missing), "o": "bind"})
    cid = container_id()
    with pytest.raises(FailedPrecondition) as err:
        engine.volumes.mount_source("broken", None, "/x", cid)
    assert err.value.message == (
        f"error while mounting volume '{vol.mountpoint}': failed to mount local volume: "
        f"mount {missing}:{vol.mountpoint}, flags: 0x1000: no such file or directory"
    )
    assert not mounted(vol.mountpoint)
    assert engine.store.db.query("SELECT * FROM volume_mounts") == []
