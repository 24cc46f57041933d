"""Populating a new volume from the image: owners, modes, xattrs, links, devices and times survive the copy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.engine.volumes import copy_tree, resolve_in_root
from tests.conftest import Cli
from tests.integration.volumes.conftest import container_id

pytestmark = pytest.mark.integration


def _make_rootfs(root: Path) -> Path:
    """A small image root: /var/lib/app holds everything the copy has to preserve."""
    app = root / "var/lib/app"
    (app / "sub/deeper").mkdir(parents=True)
    (app / "config.txt").write_text("port=80\n")
    os.chown(app / "config.txt", 1234, 5678)
    os.chmod(app / "config.txt", 0o640)
    (app / "tool").write_bytes(b"#!/bin/sh\necho hi\n" * 1000)
    os.chmod(app / "tool", 0o4755)  # setuid survives only if chmod comes after chown
    os.setxattr(app / "config.txt", "user.origin", b"image")
    os.setxattr(app / "tool", "security.capability", bytes.fromhex("0100000200200000000000000000000000000000"))
    (app / "sub/deeper/file").write_bytes(os.urandom(70000))
    os.link(app / "sub/deeper/file", app / "sub/hardlink")
    (app / "sub/link").symlink_to("deeper/file")
    os.lchown(app / "sub/link", 42, 43)
    (app / "dangling").symlink_to("/does/not/exist")
    os.mkfifo(app / "fifo", 0o620)
    os.mknod(app / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chown(app / "sub", 999, 999)
    os.chmod(app / "sub", 0o2750)
    os.chown(app, 1000, 1000)
    os.chmod(app, 0o700)
    for path in [app / "config.txt", app / "sub/deeper/file", app / "sub/deeper", app / "sub", app]:
        os.utime(path, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    os.utime(app / "sub/link", ns=(1_400_000_000_000_000_000, 1_400_000_000_000_000_000), follow_symlinks=False)
    (root / "data").symlink_to("var/lib/app")  # the volume path goes through a link
    return app


def _snapshot(top: Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in ["", *dirnames, *filenames]:
            path = Path(dirpath) / name if name else Path(dirpath)
            rel = str(path.relative_to(top))
            if rel in out:
                continue
            st = os.lstat(path)
            xattrs = {}
            if not stat.S_ISLNK(st.st_mode):
                xattrs = {k: os.getxattr(path, k) for k in os.listxattr(path)}
            content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
            attrs = (st.st_mode, st.st_uid, st.st_gid, st.st_rdev, st.st_mtime_ns)
            out[rel] = (*attrs, content, target, tuple(sorted(xattrs.items())))
    return out


def test_copy_tree_preserves_everything(tmp_path: Path) -> None:
    app = _make_rootfs(tmp_path / "rootfs")
    dst = tmp_path / "dst"
    copy_tree(app, dst)
    assert _snapshot(dst) == _snapshot(app)
    # the hard link stays a hard link
    assert os.stat(dst / "sub/hardlink").st_ino == os.stat(dst / "sub/deeper/file").st_ino
    assert os.stat(dst / "sub/hardlink").st_ino != os.stat(app / "sub/hardlink").st_ino
    assert stat.S_IMODE(os.stat(dst / "tool").st_mode) == 0o4755
    assert os.getxattr(dst / "tool", "security.capability") == os.getxattr(app / "tool", "security.capability")
    # copying again over a half-finished copy gives the same result
    (dst / "config.txt").write_text("trunc")
    (dst / "sub/deeper/file").unlink()
    copy_tree(app, dst)
    assert _snapshot(dst) == _snapshot(app)


def test_mount_source_populates_a_new_volume_once(engine: Engine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    app = _make_rootfs(rootfs)
    cid = container_id()
    data = engine.volumes.mount_source("appdata", rootfs, "/data", cid)
    assert data == engine.volumes.get("appdata").mountpoint
    assert _snapshot(data) == _snapshot(app)
    assert engine.volumes.users("appdata") == [cid]
    # not empty any more: a second container (another image content) does not copy again
    (app / "new-in-image").write_text("x")
    (data / "config.txt").write_text("changed by the container\n")
    engine.volumes.mount_source("appdata", rootfs, "/data", container_id())
    assert not (data / "new-in-image").exists()
    assert (data / "config.txt").read_text() == "changed by the container\n"


def test_nothing_to_copy(engine: Engine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "file").parent.mkdir(parents=True)
    (rootfs / "file").write_text("x")
    cid = container_id()
    for path in ["/missing", "/file"]:
        data = engine.volumes.mount_source(f"v{path.strip('/')}", rootfs, path, cid)
        assert list(data.iterdir()) == []
    data = engine.volumes.mount_source("nocopy", rootfs, "/", cid, copy=False)
    assert list(data.iterdir()) == []
    data = engine.volumes.mount_source("noimage", None, "/", cid)
    assert list(data.iterdir()) == []


def test_an_emptied_volume_is_populated_again(engine: Engine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc/app").mkdir(parents=True)
    (rootfs / "etc/app/a.conf").write_text("a")
    data = engine.volumes.mount_source("conf", rootfs, "/etc/app", container_id())
    (data / "a.conf").unlink()
    engine.volumes.mount_source("conf", rootfs, "/etc/app", container_id())
    assert (data / "a.conf").read_text() == "a"  # Docker copies whenever the volume is empty


def test_populate_from_the_busybox_image(engine: Engine, cli: Cli, busybox: str) -> None:
    image = engine.images.get(busybox)
    assert image.record.top_layer is not None
    layer = engine.store.layers.get(image.record.top_layer)
    assert layer is not None
    rootfs = layer.path
    data = engine.volumes.mount_source("bin", rootfs, "/bin", container_id())
    source = resolve_in_root(rootfs, "/bin")
    names = sorted(os.listdir(source))
    assert names and sorted(os.listdir(data)) == names
    assert "sh" in names and os.path.islink(data / "sh") == os.path.islink(source / "sh")
    assert os.lstat(data / "busybox").st_size == os.lstat(source / "busybox").st_size
    assert stat.S_IMODE(os.lstat(data / "busybox").st_mode) == stat.S_IMODE(os.lstat(source / "busybox").st_mode)
    # the CLI sees the volume the engine made
    assert "bin" in cli("volume", "ls", "-q").stdout.split()
