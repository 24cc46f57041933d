"""ImagePuller against an in-memory registry: Docker's lines, layer reuse, resume, integrity, indexes, parallelism."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.cli.progress import ProgressPrinter
from dockyard.errors import CorruptContent, InvalidArgument, NotFound, Unavailable
from dockyard.oci.descriptor import Platform
from dockyard.oci.digest import Digest
from dockyard.oci.reference import parse_reference
from dockyard.registry.client import RegistryClient
from dockyard.registry.progress import LayerProgress, ProgressEvent
from dockyard.registry.pull import ImagePuller, PullResult
from dockyard.registry.sources import BlobSources
from dockyard.registry.transport import RetryPolicy
from dockyard.settings import Layout
from dockyard.store import Store

from .fakeregistry import FakeRegistry, ImageFixture, gzip_layer, make_image, publish, publish_index, sha

HOST = "reg.example.com"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(Layout(tmp_path / "root"))
    yield s
    s.db.close()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


class Events(list[ProgressEvent]):
    def lines(self) -> list[str]:
        """What ``dockyard pull | cat`` prints for these events."""
        out = io.StringIO()
        printer = ProgressPrinter(out, terminal=False)
        for event in self:
            printer(event)
        return out.getvalue().splitlines()


def client(registry: FakeRegistry, repo: str, attempts: int = 4) -> RegistryClient:
    return RegistryClient(
        HOST, repo, transport=httpx.MockTransport(registry), retry=RetryPolicy(attempts, 0, 0), tls_verify=True
    )


def pull(
    store: Store,
    registry: FakeRegistry,
    ref: str,
    events: Events | None = None,
    *,
    platform: str | None = None,
    concurrency: int = 3,
    attempts: int = 4,
) -> PullResult:
    reference = parse_reference(f"{HOST}/{ref}").with_default_tag()
    sink = events.append if events is not None else (lambda e: None)
    with client(registry, reference.path, attempts) as c:
        puller = ImagePuller(
            store,
            c,
            sink,
            platform=Platform.parse(platform) if platform else None,
            concurrency=concurrency,
            sources=BlobSources(store.db),
        )
        return puller.pull(puller.resolve(reference))


def two_layers() -> ImageFixture:
    return make_image([{"etc/base": b"base" * 1000}, {"app/data.bin": os.urandom(300_000)}])


def test_pull_prints_docker_lines_and_records_the_image(store: Store, registry: FakeRegistry) -> None:
    image = two_layers()
    digest = publish(registry, "pango/get-started", image, "part2")
    events = Events()
    result = pull(store, registry, "pango/get-started:part2", events)
    base, app = (sha(b)[7:19] for b in image.layers)
    lines = events.lines()
    pulling = [f"{base}: Pulling fs layer", f"{app}: Pulling fs layer"]
    assert lines[:3] == ["part2: Pulling from pango/get-started", *pulling]
    assert lines[-1] == f"Digest: {digest}"
    # per layer, in this order (layers download in parallel: the base may be complete before the app is downloaded)
    for layer in (base, app):
        assert [line for line in lines if line.startswith(f"{layer}: ")][1:] == [
            f"{layer}: Verifying Checksum",
            f"{layer}: Download complete",
            f"{layer}: Pull complete",
        ]
    assert [line for line in lines if "Pull complete" in line] == [f"{base}: Pull complete", f"{app}: Pull complete"]
    assert len(lines) == 3 + 3 * 2 + 1
    record = result.image
    assert str(record.id) == image.id and result.updated and str(result.digest) == digest
    assert [str(t) for t in record.tags] == [f"{HOST}/pango/get-started:part2"]
    assert [str(d) for d in record.digests] == [f"{HOST}/pango/get-started@{digest}"]
    # the registry's manifest bytes are the image's manifest: same digest when pushed again
    assert str(record.manifest_digest) == digest
    assert store.content.read(record.manifest_digest) == image.manifest
    top = store.layers.chain(record.top_layer)
    assert [str(layer.diff_id) for layer in reversed(top)] == image.diff_ids
    assert (top[0].path / "app" / "data.bin").stat().st_size == 300_000
    assert not list(store.layout.ingest.iterdir()), "every ingest was committed"
    sources = BlobSources(store.db)
    assert sources.repositories(HOST, Digest.parse(sha(image.layers[0]))) == ["pango/get-started"]


def test_pulling_again_is_up_to_date_and_downloads_nothing(store: Store, registry: FakeRegistry) -> None:
    image = two_layers()
    digest = publish(registry, "r/x", image)
    pull(store, registry, "r/x")
    registry.log.clear()
    events = Events()
    result = pull(store, registry, "r/x", events)
    assert not result.updated
    assert events.lines() == ["latest: Pulling from r/x", f"Digest: {digest}"]
    assert not [entry for entry in registry.log if "/blobs/" in entry]


def test_layers_present_locally_already_exist_and_are_not_downloaded(store: Store, registry: FakeRegistry) -> None:
    base = gzip_layer({"etc/os-release": b"ID=test\n"})
    first = make_image([base])
    second = make_image([base, gzip_layer({"app": b"new"})], cmd="app")
    publish(registry, "r/base", first)
    publish(registry, "r/app", second)
    pull(store, registry, "r/base")
    registry.log.clear()
    events = Events()
    pull(store, registry, "r/app", events)
    assert events.lines()[1] == f"{sha(base[0])[7:19]}: Already exists"
    assert not registry.blob_gets(sha(base[0]))
    assert registry.blob_gets(sha(second.layers[1]))


def test_a_broken_connection_resumes_with_range(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"big": os.urandom(500_000)}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.cuts[blob] = (100_000, 2)
    result = pull(store, registry, "r/x")
    gets = registry.blob_gets(blob)
    assert len(gets) == 3
    assert (
        "Range" not in gets[0] and gets[1].endswith("Range=bytes=100000-") and gets[2].endswith("Range=bytes=200000-")
    )
    assert store.content.read(Digest.parse(blob), verify=True) == image.layers[0]
    assert (store.layers.chain(result.image.top_layer)[0].path / "big").stat().st_size == 500_000


def test_an_interrupted_pull_leaves_nothing_and_the_next_one_resumes(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"big": os.urandom(400_000)}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.cuts[blob] = (150_000, 2)
    with pytest.raises(Unavailable, match="Connection reset by peer"):
        pull(store, registry, "r/x", attempts=1)
    assert store.images.all() == [] and not store.content.exists(Digest.parse(blob))
    partial = list(store.layout.ingest.iterdir())
    assert len(partial) == 1 and partial[0].stat().st_size == 150_000
    store.gc()
    assert store.db.query("SELECT * FROM layers") == []
    # a new process: the partial download is picked up where it stopped
    again = Store.open(store.layout)
    registry.log.clear()
    pull(again, registry, "r/x")
    assert registry.blob_gets(blob)[0].endswith("Range=bytes=150000-")
    assert again.content.read(Digest.parse(blob), verify=True) == image.layers[0]
    assert not list(store.layout.ingest.iterdir())


def test_a_blob_with_the_wrong_content_is_refused_and_nothing_is_stored(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"a": b"good" * 1000}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.wrong[blob] = gzip_layer({"a": b"evil" * 1000})[0]
    with pytest.raises(CorruptContent, match=f"filesystem layer verification failed for digest {blob}"):
        pull(store, registry, "r/x")
    store.gc()
    assert store.images.all() == []
    assert not store.content.exists(Digest.parse(blob)) and not list(store.layout.ingest.iterdir())
    assert store.db.query("SELECT * FROM layers") == []
    assert not [p for p in store.layout.layers.iterdir() if p.name.startswith("tmp-")]


def test_garbage_instead_of_a_layer_is_reported_as_a_digest_mismatch(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"a": os.urandom(200_000)}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.wrong[blob] = os.urandom(len(image.layers[0]))  # not even gzip: the extraction fails first
    with pytest.raises(CorruptContent, match="filesystem layer verification failed"):
        pull(store, registry, "r/x")
    assert store.images.all() == []


def test_a_layer_that_does_not_match_its_diff_id_is_refused(store: Store, registry: FakeRegistry) -> None:
    blob, _ = gzip_layer({"a": b"x"})
    image = make_image([(blob, "sha256:" + "0" * 64)])
    publish(registry, "r/x", image)
    with pytest.raises(CorruptContent, match="diff ID mismatch"):
        pull(store, registry, "r/x")
    store.gc()
    assert store.images.all() == [] and store.db.query("SELECT * FROM layers") == []


def test_a_config_with_the_wrong_digest_is_refused(store: Store, registry: FakeRegistry) -> None:
    image = two_layers()
    publish(registry, "r/x", image)
    registry.wrong[image.id] = image.config.replace(b'"sh"', b'"rm"')
    with pytest.raises(CorruptContent, match=f"image config verification failed for digest {image.id}"):
        pull(store, registry, "r/x")


def test_a_registry_that_ignores_range_starts_over_consistently(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"big": os.urandom(300_000)}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.cuts[blob] = (120_000, 1)
    registry.ignore_range = True
    result = pull(store, registry, "r/x")
    assert len(registry.blob_gets(blob)) == 2
    assert (store.layers.chain(result.image.top_layer)[0].path / "big").stat().st_size == 300_000


def test_content_that_changes_between_attempts_is_refused(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"big": os.urandom(300_000)}])
    publish(registry, "r/x", image)
    blob = sha(image.layers[0])
    registry.cuts[blob] = (120_000, 1)
    registry.ignore_range = True
    good = image.layers[0]

    def after_cut(request: httpx.Request) -> None:
        if registry.cuts[blob][1] == 0:  # the second answer sends other bytes
            registry.wrong[blob] = bytes([good[0] ^ 1]) + good[1:]

    registry.hook = after_cut
    with pytest.raises(CorruptContent, match="content changed while it was being downloaded"):
        pull(store, registry, "r/x")
    assert store.images.all() == []


def test_an_index_resolves_to_the_platform_and_skips_attestations(store: Store, registry: FakeRegistry) -> None:
    amd = make_image([{"arch": b"amd64"}], arch="amd64", oci=True)
    arm = make_image([{"arch": b"arm64"}], arch="arm64", oci=True)
    index = publish_index(registry, "library/multi", {"linux/arm64": arm, "linux/amd64": amd}, "latest")
    events = Events()
    result = pull(store, registry, "library/multi", events)
    assert str(result.image.id) == amd.id and str(result.digest) == index
    assert events.lines()[-1] == f"Digest: {index}"
    assert [str(d) for d in result.image.digests] == [f"{HOST}/library/multi@{index}"]
    assert store.content.read(result.image.manifest_digest) == amd.manifest
    result = pull(store, registry, "library/multi", platform="linux/arm64")
    assert str(result.image.id) == arm.id
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest list entries"):
        pull(store, registry, "library/multi", platform="linux/s390x")


def test_a_single_platform_image_must_match_an_explicit_platform(store: Store, registry: FakeRegistry) -> None:
    publish(registry, "r/x", make_image([{"a": b"1"}], arch="arm64"))
    with pytest.raises(
        NotFound, match="does not match the specified platform: wanted linux/amd64, actual: linux/arm64"
    ):
        pull(store, registry, "r/x", platform="linux/amd64")


def test_an_unknown_tag_fails_before_anything_is_printed(store: Store, registry: FakeRegistry) -> None:
    publish(registry, "r/x", two_layers())
    events = Events()
    with pytest.raises(NotFound) as info:
        pull(store, registry, "r/x:nope", events)
    assert info.value.message == f"manifest for {HOST}/r/x:nope not found: manifest unknown: manifest unknown"
    assert events == []


def test_unsupported_layer_media_types_are_refused(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"a": b"1"}])
    image.manifest = image.manifest.replace(b"rootfs.diff.tar.gzip", b"rootfs.diff.tar.lzma")
    publish(registry, "r/x", image)
    with pytest.raises(InvalidArgument, match="unsupported media type"):
        pull(store, registry, "r/x")


def test_the_same_blob_twice_in_one_image(store: Store, registry: FakeRegistry) -> None:
    same = gzip_layer({"x": b"same"})
    image = make_image([same, gzip_layer({"y": b"other"}), same])
    publish(registry, "r/x", image)
    result = pull(store, registry, "r/x")
    chain = store.layers.chain(result.image.top_layer)
    assert len(chain) == 3 and (chain[0].path / "x").read_bytes() == b"same"
    assert len(registry.blob_gets(sha(same[0]))) == 1


def test_layers_download_in_parallel_and_the_rest_wait(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{f"f{i}": os.urandom(200_000)} for i in range(5)])
    publish(registry, "r/x", image)
    registry.delay = 0.005
    events = Events()
    pull(store, registry, "r/x", events, concurrency=2)
    assert registry.max_in_flight == 2
    waiting = [line for line in events.lines() if line.endswith(": Waiting")]
    assert waiting == [f"{sha(b)[7:19]}: Waiting" for b in image.layers[2:]]
    downloading = [e for e in events if isinstance(e, LayerProgress) and e.status == "Downloading"]
    assert downloading and all(e.total == len(image.layers[0]) or e.total for e in downloading)


def test_a_missing_blob_of_an_unpacked_layer_is_downloaded_but_not_unpacked(
    store: Store, registry: FakeRegistry
) -> None:
    layer = gzip_layer({"x": b"1" * 5000})
    publish(registry, "r/a", make_image([layer]))
    pull(store, registry, "r/a")
    store.content.delete(Digest.parse(sha(layer[0])))  # e.g. the layer came from a build with other compression
    publish(registry, "r/b", make_image([layer], cmd="other"))
    events = Events()
    result = pull(store, registry, "r/b", events)
    assert f"{sha(layer[0])[7:19]}: Pull complete" in events.lines()
    assert store.content.exists(Digest.parse(sha(layer[0])))
    assert len(store.db.query("SELECT * FROM layers")) == 1 and result.image.top_layer is not None


def test_a_stored_blob_of_a_missing_layer_is_unpacked_without_downloading(store: Store, registry: FakeRegistry) -> None:
    image = two_layers()
    publish(registry, "r/a", image)
    for blob in image.layers:
        store.content.put(blob)
    events = Events()
    pull(store, registry, "r/a", events)
    assert not [
        entry
        for entry in registry.log
        if "/blobs/sha256:" in entry and entry.startswith("GET") and image.id not in entry
    ]
    assert [line for line in events.lines() if "Pull complete" in line]


def test_a_pull_waits_for_another_process_downloading_the_same_blob(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"a": os.urandom(50_000)}])
    publish(registry, "r/x", image)
    blob = Digest.parse(sha(image.layers[0]))
    other = store.content.writer(ref=str(blob), expected=blob, expected_size=len(image.layers[0]))
    other.write(image.layers[0])

    def finish() -> None:
        time.sleep(0.5)
        other.commit()

    thread = threading.Thread(target=finish)
    thread.start()
    try:
        pull(store, registry, "r/x")
    finally:
        thread.join()
    assert not registry.blob_gets(str(blob))


def test_a_rate_limit_is_reported_plainly(store: Store, registry: FakeRegistry) -> None:
    publish(registry, "library/busybox", two_layers())
    registry.fail[("GET", "/manifests/")] = 429
    events = Events()
    with pytest.raises(Unavailable) as info:
        pull(store, registry, "library/busybox", events)
    assert info.value.message == "toomanyrequests: You have reached your pull rate limit."
    assert events == [] and len([e for e in registry.log if "/manifests/" in e]) == 1  # no retry


def test_a_partial_download_that_was_not_this_blob_is_downloaded_again(store: Store, registry: FakeRegistry) -> None:
    image = make_image([{"big": os.urandom(200_000)}])
    publish(registry, "r/x", image)
    blob = Digest.parse(sha(image.layers[0]))
    stale = store.content.writer(ref=str(blob), expected=blob, expected_size=len(image.layers[0]))
    stale.write(os.urandom(100_000))  # a killed download of other bytes under the same name
    stale.close()
    result = pull(store, registry, "r/x")
    gets = registry.blob_gets(str(blob))
    assert len(gets) == 2 and gets[0].endswith("Range=bytes=100000-") and "Range" not in gets[1]
    assert store.content.read(blob, verify=True) == image.layers[0]
    assert (store.layers.chain(result.image.top_layer)[0].path / "big").stat().st_size == 200_000
