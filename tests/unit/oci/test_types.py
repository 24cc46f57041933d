import json

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import (
    ContainerConfig,
    Descriptor,
    Digest,
    History,
    ImageConfig,
    Index,
    Manifest,
    MediaType,
    Platform,
    chain_ids,
    layer_compression,
    parse_image_config,
    parse_manifest_or_index,
)

D1 = Digest.of(b"one")
D2 = Digest.of(b"two")


def test_digest_parse_and_errors() -> None:
    d = Digest.parse(str(D1))
    assert d == D1 and d.short == D1.hex[:12]
    for bad in ("sha256:xyz", "md5:" + "a" * 32, "sha256:" + "A" * 64, "sha256:" + "a" * 63):
        with pytest.raises(InvalidArgument):
            Digest.parse(bad)


def test_chain_ids_follow_the_image_spec() -> None:
    import hashlib

    ids = chain_ids([D1, D2])
    assert ids[0] == D1
    assert ids[1].hex == hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()


def test_manifest_round_trip_and_sniffing() -> None:
    m = Manifest(
        Descriptor(MediaType.DOCKER_CONFIG, D1, 3),
        (Descriptor(MediaType.DOCKER_LAYER, D2, 3),),
        MediaType.DOCKER_MANIFEST,
    )
    data = m.to_json()
    again = parse_manifest_or_index(data)
    assert isinstance(again, Manifest) and again == m
    # an OCI manifest without mediaType is recognised by shape
    raw = json.loads(data)
    del raw["mediaType"]
    assert isinstance(parse_manifest_or_index(json.dumps(raw).encode()), Manifest)


def test_manifest_rejects_garbage() -> None:
    for bad in (b"[]", b"{", b'{"schemaVersion": 2}', b'{"schemaVersion":1,"fsLayers":[]}'):
        with pytest.raises(InvalidArgument):
            parse_manifest_or_index(bad)


def test_index_selects_platform_and_skips_attestations() -> None:
    amd = Descriptor(MediaType.OCI_MANIFEST, D1, 1, platform=Platform("linux", "amd64"))
    arm = Descriptor(MediaType.OCI_MANIFEST, D2, 1, platform=Platform("linux", "arm64", "v8"))
    att = Descriptor(MediaType.OCI_MANIFEST, D2, 1, platform=Platform("unknown", "unknown"))
    idx = Index((att, arm, amd))
    assert idx.select(Platform.parse("linux/amd64")) == amd
    assert idx.select(Platform.parse("linux/arm64")) == arm
    assert idx.select(Platform.parse("aarch64")) == arm
    assert idx.select(Platform.parse("linux/s390x")) is None
    assert isinstance(parse_manifest_or_index(idx.to_json()), Index)


def test_image_config_round_trip() -> None:
    cfg = ImageConfig(
        created="2026-01-01T00:00:00Z",
        config=ContainerConfig(
            env=("PATH=/bin", "A=b=c"),
            cmd=("python", "app.py"),
            exposed_ports=("80/tcp",),
            working_dir="/app",
            labels={"k": "v"},
        ),
        diff_ids=(D1, D2),
        history=(History(created_by="x"), History(created_by="y", empty_layer=True)),
    )
    again = parse_image_config(cfg.to_json())
    assert again == cfg
    assert again.config.env_dict() == {"PATH": "/bin", "A": "b=c"}


def test_layer_compression() -> None:
    assert layer_compression(MediaType.DOCKER_LAYER) == "gzip"
    assert layer_compression(MediaType.OCI_LAYER_ZSTD) == "zstd"
    assert layer_compression(MediaType.OCI_LAYER) == ""
    assert layer_compression(MediaType.OCI_CONFIG) is None
