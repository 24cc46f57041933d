"""Never serve content that fails its digest: blobs corrupted on disk are detected (full downloads abort before
their last bytes, HEAD and ranged reads re-hash a touched file), quarantined, and can be pushed again."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.integration.registry_server.support import errors, push_blob, push_image, sha, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _path(storage: Path, digest: str) -> Path:
    algorithm, hex_ = digest.split(":")
    return storage / "blobs" / algorithm / hex_[:2] / hex_


def _corrupt(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def _download(http: httpx.Client, url: str) -> bytes | None:
    """The body, or ``None`` when the transfer was cut (what any client sees as a failed download)."""
    try:
        r = http.get(url)
    except httpx.HTTPError:
        return None
    return r.content if r.status_code == 200 else None


@pytest.mark.parametrize("size", [5_000, 3_000_000], ids=["small", "large"])
def test_corrupted_blob_is_never_served(http: httpx.Client, storage: Path, size: int) -> None:
    repo, data = unique(), os.urandom(size)
    digest = push_blob(http, repo, data)
    url = f"/v2/{repo}/blobs/{digest}"
    assert http.get(url).content == data
    _corrupt(_path(storage, digest), size // 2)
    got = _download(http, url)
    assert got is None or sha(got) == digest  # never a complete body with the wrong content
    assert got is None
    r = http.head(url)
    assert r.status_code == 404  # quarantined
    assert list((storage / "quarantine").iterdir())
    # Pushing the blob again heals the registry.
    push_blob(http, repo, data)
    assert http.get(url).content == data


def test_truncated_and_touched_blobs(http: httpx.Client, storage: Path) -> None:
    repo, data = unique(), os.urandom(2_000_000)
    digest = push_blob(http, repo, data)
    path = _path(storage, digest)
    with open(path, "r+b") as f:
        f.truncate(1_000_000)
    assert http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404  # HEAD re-hashes a changed file
    push_blob(http, repo, data)
    _corrupt(path, 10)
    r = http.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=0-99"})
    assert r.status_code == 404 and errors(r) == ["BLOB_UNKNOWN"]  # ranges come only from verified files


def test_corrupted_manifest_is_never_served(http: httpx.Client, storage: Path) -> None:
    repo = unique()
    digest = push_image(http, repo, "v1", [b"layer"])
    _corrupt(_path(storage, digest), 5)
    r = http.get(f"/v2/{repo}/manifests/v1")
    assert r.status_code == 404 and errors(r) == ["MANIFEST_UNKNOWN"]
    assert http.get(f"/v2/{repo}/manifests/{digest}").status_code == 404


def test_blob_files_are_committed_whole(http: httpx.Client, storage: Path) -> None:
    repo, data = unique(), os.urandom(1_500_000)
    digest = push_blob(http, repo, data)
    assert _path(storage, digest).read_bytes() == data
    assert list((storage / "tmp").iterdir()) == [] and list((storage / "uploads").iterdir()) == []
