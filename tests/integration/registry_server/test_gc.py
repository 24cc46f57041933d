"""``dockyard registry gc``: unreferenced blobs go, everything a manifest references stays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.registry_server.support import (
    OCI_MANIFEST,
    blob_files,
    client,
    push_blob,
    push_image,
    server_process,
    server_thread,
    sha,
    unique,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def gc(storage: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dockyard", "registry", "gc", "--storage", str(storage), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_gc_removes_unreferenced_blobs_only(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    kept_repo, gone_repo = unique("keep"), unique("gone")
    shared = b"shared layer"
    with server_thread(storage, allow_anonymous_push=True) as registry, client(registry.url) as c:
        kept = push_image(c, kept_repo, "v1", [shared, b"kept layer"])
        deleted = push_image(c, gone_repo, "v1", [shared, b"only in the deleted image"])
        orphan = push_blob(c, kept_repo, b"pushed but never referenced")
        untagged = push_image(c, kept_repo, "tmp", [b"untagged layer"])
        assert c.delete(f"/v2/{kept_repo}/manifests/tmp").status_code == 202  # untag only
        assert c.delete(f"/v2/{gone_repo}/manifests/{deleted}").status_code == 202
    before = blob_files(storage)
    dry = gc(storage, "--dry-run")
    assert f"would delete blob {orphan}" in dry.stdout and "(dry run)" in dry.stdout
    assert blob_files(storage) == before
    out = gc(storage).stdout
    after = blob_files(storage)
    gone = {orphan, deleted, sha(b"only in the deleted image")}
    assert before - after == gone, out
    assert {kept, sha(shared), sha(b"kept layer"), untagged, sha(b"untagged layer")} <= after
    assert "3 blobs and 0 manifests deleted" in out
    # The untagged manifest goes with --delete-untagged.
    out = gc(storage, "--delete-untagged").stdout
    assert f"{kept_repo}: deleted manifest {untagged}" in out
    assert untagged not in blob_files(storage) and sha(b"untagged layer") not in blob_files(storage)
    with server_thread(storage) as registry, client(registry.url) as c:
        r = c.get(f"/v2/{kept_repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        assert r.headers["Docker-Content-Digest"] == kept
        for layer in (shared, b"kept layer"):
            assert c.get(f"/v2/{kept_repo}/blobs/{sha(layer)}").content == layer
        assert c.head(f"/v2/{kept_repo}/blobs/{orphan}").status_code == 404
        only = sha(b"only in the deleted image")
        assert c.head(f"/v2/{gone_repo}/blobs/{only}").status_code == 404
    assert not (storage / "repositories" / gone_repo / "_layers" / "sha256" / only[7:]).exists()  # dangling link gone


def test_gc_refuses_to_run_beside_a_server(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with server_process(storage):
        proc = gc(storage, check=False)
        assert proc.returncode == 125
        assert "in use by another registry process" in proc.stderr


def test_gc_without_storage(tmp_path: Path) -> None:
    proc = gc(tmp_path / "nothing", check=False)
    assert proc.returncode == 125 and "no registry storage" in proc.stderr
