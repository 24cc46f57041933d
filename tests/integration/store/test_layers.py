"""Layers, whiteouts and overlay snapshots on the real kernel."""

from __future__ import annotations

import gzip
import io
import os
import stat
from pathlib import Path

import pytest

from dockyard.oci import ContainerConfig, ImageConfig, parse_reference
from dockyard.settings import Layout
from dockyard.store import Store
from dockyard.store.commit import ingest_layer_stream, write_image
from tests.support.tarballs import make_tar

pytestmark = pytest.mark.integration


def test_whiteouts_become_overlay_whiteouts_and_hide_lower_files(state_root: Path) -> None:
    store = Store.open(Layout(state_root))
    base = make_tar(
        [
            ("etc", "dir", b""),
            ("etc/keep", "file", b"k"),
            ("etc/gone", "file", b"g"),
            ("opq", "dir", b""),
            ("opq/old", "file", b"o"),
        ]
    )
    top = make_tar([("etc/.wh.gone", "file", b""), ("opq/.wh..wh..opq", "file", b""), ("opq/new", "file", b"n")])
    with store.lease() as lease:
        l1 = ingest_layer_stream(store, lease, io.BytesIO(gzip.compress(base)), None)
        l2 = ingest_layer_stream(store, lease, io.BytesIO(top), l1.layer.chain_id)
        wh = os.lstat(l2.layer.path / "etc/gone")
        assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
        assert os.getxattr(l2.layer.path / "opq", "trusted.overlay.opaque") == b"y"
        store.snapshots.prepare("c1", l2.layer.chain_id)
        merged = store.snapshots.mount("c1")
        try:
            assert sorted(os.listdir(merged / "etc")) == ["keep"]
            assert sorted(os.listdir(merged / "opq")) == ["new"]
        finally:
            store.snapshots.remove("c1")
    assert not merged.exists()


def test_layers_are_shared_and_collected(state_root: Path) -> None:
    store = Store.open(Layout(state_root))
    raw = make_tar([("f", "file", b"same")])
    ids = []
    for name in ("a", "b"):
        with store.lease() as lease:
            lb = ingest_layer_stream(store, lease, io.BytesIO(raw), None)
            cfg = ImageConfig(config=ContainerConfig(cmd=(name,)), diff_ids=(lb.diff_id,))
            rec, _ = write_image(store, lease, cfg.to_json(), [lb], tags=[parse_reference(name).with_default_tag()])
            ids.append(rec.id)
    assert len(store.db.query("SELECT * FROM layers")) == 1
    store.images.delete(ids[0])
    store.gc()
    assert len(store.db.query("SELECT * FROM layers")) == 1  # still used by b
    store.images.delete(ids[1])
    report = store.gc()
    assert report.layers_removed == 1 and report.blobs_removed >= 3
    assert list(store.content.walk()) == []
    assert [p.name for p in (state_root / "overlay").iterdir() if p.name not in ("l", "empty", "active")] == []


def test_a_killed_writer_leaves_nothing_after_recovery(state_root: Path) -> None:
    import subprocess
    import sys

    code = f"""
import io, os, signal
from pathlib import Path
from dockyard.settings import Layout
from dockyard.store import Store
from dockyard.store.commit import ingest_layer_stream
store = Store.open(Layout(Path({str(state_root)!r})))
lease = store.lease()
ingest_layer_stream(store, lease, io.BytesIO(bytes(range(256)) * 0 + {make_tar([("f", "file", b"x" * 5000)])!r}), None)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9, proc.stderr
    store = Store.open(Layout(state_root))
    assert len(store.db.query("SELECT * FROM layers")) == 1  # the layer exists but nothing references it
    report = store.recover()
    assert report.layers_removed == 1
    assert store.db.query("SELECT * FROM leases") == []
    assert list(store.content.walk()) == []
