"""Looking paths up in an image's merged view without mounting it (for the RUN init layer and WORKDIR)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.build.rootfs import image_stat
from dockyard.build.runstep import HOST_CA_PATH, mount_stubs
from dockyard.runtime.options import Mount

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts (mknod) and trusted.* xattrs need root")


def test_lookup_top_layer_first(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("old")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("newer!")
    st = image_stat([upper, lower], "/etc/passwd")
    assert st is not None and st.st_size == 6
    assert image_stat([upper, lower], "/nope") is None
    assert image_stat([], "/etc") is None


def test_a_file_on_the_way_hides_what_is_below(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "run" / "x").mkdir(parents=True)
    upper.mkdir()
    os.symlink("/var/run", upper / "run")
    st = image_stat([upper, lower], "/run")
    assert st is not None and stat.S_ISLNK(st.st_mode)
    assert image_stat([upper, lower], "/run/x") is None


@root_only
def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    base, mid, top = tmp_path / "base", tmp_path / "mid", tmp_path / "top"
    (base / "etc").mkdir(parents=True)
    (base / "etc" / "hosts").write_text("x")
    (base / "opt" / "old").mkdir(parents=True)
    (mid / "etc").mkdir(parents=True)
    os.mknod(mid / "etc" / "hosts", stat.S_IFCHR, os.makedev(0, 0))
    (top / "opt").mkdir(parents=True)
    os.setxattr(top / "opt", "trusted.overlay.opaque", b"y")
    layers = [top, mid, base]
    assert image_stat(layers, "/etc/hosts") is None
    assert image_stat(layers, "/etc") is not None
    assert image_stat(layers, "/opt/old") is None
    assert image_stat([mid, base], "/opt/old") is not None


def test_mount_stubs() -> None:
    stubs = dict(mount_stubs(False))
    assert stubs["/proc"] is True and stubs["/etc/resolv.conf"] is False and HOST_CA_PATH not in stubs
    with_ca = dict(mount_stubs(True, [Mount(destination="/x/y", source="/")]))
    assert with_ca[HOST_CA_PATH] is False and with_ca["/x/y"] is True
