"""Faults in the middle of transfers, with the real ``docker-registry`` (SIGKILLed) and a misbehaving HTTP registry.

A throttling TCP proxy between dockyard and the registry stretches transfers so the kill lands mid-blob, and its
byte counts show that a rerun resumes instead of starting over. In every case the store shows no partial image.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.oci.image import ImageConfig
from dockyard.oci.reference import parse_reference
from dockyard.settings import Layout
from dockyard.store import Store
from dockyard.store.commit import ingest_layer_stream, write_image
from tests.integration.registry.servers import Blob, Distribution, FaultyRegistry
from tests.support.tarballs import make_tar

from .conftest import Dockyard, random_layer_tar, unique
from .proxy import ThrottledProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

MB = 1 << 20


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def ingest_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in (root / "ingest").iterdir() if f.is_file())


def big_image(dy: Dockyard, tmp_path: Path, ref: str, size: int) -> None:
    dy("import", str(random_layer_tar(tmp_path / "big.tar", size)), ref)


def test_registry_killed_mid_pull_then_a_rerun_resumes(
    dy: Dockyard, own_registry: Distribution, proxy_to: type[ThrottledProxy], tmp_path: Path
) -> None:
    size = 48 * MB
    path = f"pango/{unique('big')}:v1"
    big_image(dy, tmp_path, f"{own_registry.host}/{path}", size)
    dy("push", f"{own_registry.host}/{path}")
    dy("rmi", f"{own_registry.host}/{path}")
    proxy = proxy_to("127.0.0.1", own_registry.port, rate=8 * MB)
    ref = f"{proxy.host}/{path}"
    pull = dy.popen("pull", ref)
    try:
        wait_for(lambda: ingest_bytes(dy.root) > 8 * MB, what="part of the layer")
        own_registry.kill()
        _, err = pull.communicate(timeout=180)
    finally:
        if pull.poll() is None:
            pull.kill()
            pull.wait()
    assert pull.returncode == 1
    assert err.count("\n") == 1 and f"http://{proxy.host}/v2/" in err, err
    assert dy("images", "-q").stdout == ""
    partial = ingest_bytes(dy.root)
    assert 8 * MB < partial < size

    own_registry.restart()
    proxy.rate = None
    proxy.reset()
    out = dy("pull", ref).stdout
    assert f"Status: Downloaded newer image for {ref}" in out
    assert proxy.to_client < size - partial + MB, "the rerun downloaded only what was missing"
    assert (next((dy.root / "overlay").glob("*/diff/blob.bin"))).stat().st_size == size
    assert not list((dy.root / "ingest").iterdir())


def test_dockyard_killed_mid_pull_leaves_nothing_visible_and_the_rerun_resumes(
    dy: Dockyard, open_registry: Distribution, proxy_to: type[ThrottledProxy], tmp_path: Path
) -> None:
    size = 32 * MB
    path = f"pango/{unique('killed')}:v1"
    big_image(dy, tmp_path, f"{open_registry.host}/{path}", size)
    dy("push", f"{open_registry.host}/{path}")
    dy("rmi", f"{open_registry.host}/{path}")
    proxy = proxy_to("127.0.0.1", open_registry.port, rate=8 * MB)
    ref = f"{proxy.host}/{path}"
    pull = dy.popen("pull", ref)
    try:
        wait_for(lambda: ingest_bytes(dy.root) > 6 * MB, what="part of the layer")
    finally:
        pull.send_signal(signal.SIGKILL)
        pull.wait()
    assert dy("images", "-a", "-q").stdout == ""
    store = Store.open(Layout(dy.root))
    try:
        assert store.db.query("SELECT * FROM layers") == [] and store.images.all() == []
    finally:
        store.db.close()
    partial = ingest_bytes(dy.root)
    assert partial > 6 * MB
    proxy.rate = None
    proxy.reset()
    dy("pull", ref)
    assert proxy.to_client < size - partial + MB
    assert dy("image", "inspect", "--format", "{{.RepoTags}}", ref).stdout.strip() == f"[{ref}]"


def test_registry_killed_mid_push_then_a_rerun_completes(
    dy: Dockyard, other_root: Dockyard, own_registry: Distribution, proxy_to: type[ThrottledProxy]
) -> None:
    proxy = proxy_to("127.0.0.1", own_registry.port, rate=8 * MB)
    ref = f"{proxy.host}/pango/{unique('pushed')}:v1"
    store = Store.open(Layout(dy.root))
    try:  # a small layer and a large one, as a build would make them
        with store.lease() as lease:
            small = ingest_layer_stream(store, lease, io.BytesIO(make_tar([("etc/small", "file", b"s" * 1000)])), None)
            data = os.urandom(32 * MB)
            large = ingest_layer_stream(
                store, lease, io.BytesIO(make_tar([("big", "file", data)])), small.layer.chain_id
            )
            config = ImageConfig(diff_ids=(small.diff_id, large.diff_id), created="2024-01-01T00:00:00Z").to_json()
            write_image(store, lease, config, [small, large], tags=[parse_reference(ref)])
    finally:
        store.db.close()
    push = dy.popen("push", ref)
    try:
        wait_for(lambda: proxy.to_server > 8 * MB, what="part of the upload")
        own_registry.kill()
        out, err = push.communicate(timeout=180)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
    assert push.returncode == 1 and err.count("\n") == 1, err
    assert ": digest: " not in out

    own_registry.restart()
    proxy.rate = None
    out = dy("push", ref).stdout.splitlines()
    assert f"{small.diff_id.short}: Layer already exists" in out
    assert f"{large.diff_id.short}: Pushed" in out
    assert out[-1].startswith("v1: digest: sha256:")
    other_root("pull", ref)
    assert (next((other_root.root / "overlay").glob("*/diff/big"))).read_bytes() == data


def _oci_image(files: dict[str, bytes]) -> tuple[bytes, bytes, bytes, str]:
    tar = make_tar([(name, "file", content) for name, content in files.items()])
    layer = gzip.compress(tar, mtime=0)
    diff_id = "sha256:" + __import__("hashlib").sha256(tar).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": Blob(config.encode()).digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": Blob(layer).digest,
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    return config.encode(), layer, manifest, Blob(manifest).digest


def test_a_registry_serving_the_wrong_bytes_is_refused(dy: Dockyard, tmp_path: Path) -> None:
    config, layer, manifest, digest = _oci_image({"app": os.urandom(200_000)})
    registry = FaultyRegistry()
    try:
        registry.add(Blob(config))
        wrong = gzip.compress(make_tar([("app", "file", os.urandom(200_000))]), mtime=0)
        layer_digest = registry.add(Blob(layer, serve=wrong))
        registry.manifests["v1"] = (manifest, digest)
        ref = f"{registry.host}/pango/evil:v1"
        r = dy("pull", ref, check=False)
    finally:
        registry.close()
    assert r.returncode == 1
    assert r.stderr == f"filesystem layer verification failed for digest {layer_digest}\n"
    assert "Pulling fs layer" in r.stdout and "Pull complete" not in r.stdout
    assert dy("images", "-a", "-q").stdout == ""
    assert not (dy.root / "blobs" / "sha256" / layer_digest[7:]).exists()
    assert not list((dy.root / "ingest").iterdir())


def test_a_connection_cut_mid_blob_is_resumed_with_range(dy: Dockyard) -> None:
    config, layer, manifest, digest = _oci_image({"app": os.urandom(600_000)})
    registry = FaultyRegistry()
    try:
        registry.add(Blob(config))
        layer_digest = registry.add(Blob(layer, cut_after=200_000, cuts_left=2))
        registry.manifests["v1"] = (manifest, digest)
        ref = f"{registry.host}/pango/cut:v1"
        dy("pull", ref)
        ranges = [h.get("Range") for m, p, h in registry.requests if m == "GET" and p.endswith(layer_digest)]
    finally:
        registry.close()
    assert ranges == [None, "bytes=200000-", "bytes=400000-"]
    assert dy("images", "-q").stdout.strip()


def test_wrong_saved_credentials_are_reported_plainly(dy: Dockyard, basic_registry: Distribution) -> None:
    dy.docker_config.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(b"testuser:wrongpassword").decode()
    (dy.docker_config / "config.json").write_text(json.dumps({"auths": {basic_registry.host: {"auth": auth}}}))
    r = dy("pull", f"{basic_registry.host}/pango/x:v1", check=False)
    assert r.returncode == 1 and "unauthorized: " in r.stderr, r.stderr
