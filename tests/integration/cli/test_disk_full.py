"""A full disk in the middle of a write: a clear one-line error, exit 1 (as docker reports the daemon's errors),
and the store as it was."""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli, teardown_root

pytestmark = pytest.mark.integration


@pytest.fixture
def small_cli(tmp_path: Path) -> Iterator[Cli]:
    """A state root on a 12 MB tmpfs: busybox fits, a 24 MB layer does not."""
    root = tmp_path / "small"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "dockyard-test-full", str(root)], check=True)
    try:
        yield Cli(root)
    finally:
        teardown_root(root)
        subprocess.run(["umount", "-l", str(root)], check=False, capture_output=True)  # usually done by teardown


def _big_tar(path: Path, scratch: Path) -> Path:
    blob = scratch / "blob"
    blob.write_bytes(os.urandom(24 << 20))  # random: no compression saves it
    with tarfile.open(path, "w") as tar:
        tar.add(blob, arcname="blob")
    return path


def _state(cli: Cli) -> tuple[str, list[str]]:
    images = cli("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    blobs = sorted(p.name for p in (cli.root / "blobs" / "sha256").iterdir())
    return images, blobs


@pytest.mark.parametrize("verb", ["import", "load"])
def test_a_full_disk_fails_cleanly_and_keeps_the_store(small_cli: Cli, tmp_path: Path, verb: str) -> None:
    cli = small_cli
    cli("image", "bootstrap", "busybox")
    before = _state(cli)
    big = _big_tar(tmp_path / "big.tar", tmp_path)
    if verb == "import":
        r = cli("import", str(big), "huge:1", check=False)
    else:
        archive = tmp_path / "huge-archive.tar"
        cli("import", str(big), "huge:1", check=False)  # cannot fit either: make the archive elsewhere
        other = Cli(tmp_path / "other")
        other.root.mkdir()
        try:
            other("import", str(big), "huge:1")
            other("save", "-o", str(archive), "huge:1")
        finally:
            teardown_root(other.root)
        r = cli("load", "-i", str(archive), check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    error, *hints = r.stderr.strip().splitlines()
    assert error.startswith("Error response from daemon: ") and "no space left on device" in error.lower(), r.stderr
    assert all(h.startswith("Hint: ") for h in hints), r.stderr
    assert "Traceback" not in r.stderr
    # the store is what it was: same images, same blobs, nothing half-written left behind
    assert _state(cli) == before
    assert list((cli.root / "ingest").iterdir()) == []
    assert not [p for p in (cli.root / "overlay").iterdir() if p.name.startswith("tmp-")]
    cli("image", "inspect", "busybox")
    out = tmp_path / "bb.tar"
    cli("save", "-o", str(out), "busybox")
    assert out.stat().st_size > 1 << 20
