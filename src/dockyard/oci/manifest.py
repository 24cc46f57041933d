"""Image manifests and indexes (OCI and Docker schema2), parsed from and encoded to JSON bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci.descriptor import Descriptor, Platform
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType, is_index, is_manifest

__all__ = ["Index", "Manifest", "parse_manifest_or_index", "sniff_media_type"]


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"invalid {what}: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidArgument(f"invalid {what}: not a JSON object")
    return obj


def sniff_media_type(data: bytes) -> str:
    """The media type a manifest-ish document declares, or guesses from its shape (old OCI omit it)."""
    obj = _load(data, "manifest")
    mt = obj.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if "manifests" in obj:
        return MediaType.OCI_INDEX
    if "layers" in obj and "config" in obj:
        return MediaType.OCI_MANIFEST
    if obj.get("schemaVersion") == 1:
        return MediaType.DOCKER_MANIFEST_V1_SIGNED
    raise InvalidArgument("invalid manifest: unknown document type")


@dataclass(frozen=True)
class Manifest:
    """An OCI (or Docker v2) image manifest: the config and layers' descriptors."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = MediaType.OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        obj = _load(data, "manifest")
        mt = sniff_media_type(data)
        if not is_manifest(mt):
            raise InvalidArgument(f"invalid manifest: unsupported media type {mt}")
        if obj.get("schemaVersion") != 2:
            raise InvalidArgument("invalid manifest: schemaVersion must be 2")
        try:
            config = Descriptor.from_json(obj["config"])
            layers = tuple(Descriptor.from_json(layer) for layer in obj.get("layers") or ())
        except (KeyError, TypeError) as exc:
            raise InvalidArgument(f"invalid manifest: {exc}") from exc
        return cls(config, layers, mt, dict(obj.get("annotations") or {}))

    def to_json(self) -> bytes:
        obj: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_json(),
            "layers": [layer.to_json() for layer in self.layers],
        }
        if self.annotations:
            obj["annotations"] = dict(self.annotations)
        return json.dumps(obj, indent=3 if self.media_type == MediaType.DOCKER_MANIFEST else None).encode()


@dataclass(frozen=True)
class Index:
    """An OCI image index (or Docker manifest list): one manifest per platform."""

    manifests: tuple[Descriptor, ...]
    media_type: str = MediaType.OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes) -> Index:
        obj = _load(data, "index")
        mt = sniff_media_type(data)
        if not is_index(mt):
            raise InvalidArgument(f"invalid index: unsupported media type {mt}")
        try:
            manifests = tuple(Descriptor.from_json(m) for m in obj.get("manifests") or ())
        except TypeError as exc:
            raise InvalidArgument(f"invalid index: {exc}") from exc
        return cls(manifests, mt, dict(obj.get("annotations") or {}))

    def to_json(self) -> bytes:
        obj: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [m.to_json() for m in self.manifests],
        }
        if self.annotations:
            obj["annotations"] = dict(self.annotations)
        return json.dumps(obj).encode()

    def select(self, want: Platform) -> Descriptor | None:
        """The manifest for ``want``; attestation manifests (platform unknown/unknown) never match."""
        candidates = [m for m in self.manifests if m.platform is not None and m.platform.matches(want)]
        if not candidates:
            return None
        if want.variant:
            exact = [m for m in candidates if m.platform is not None and m.platform.variant == want.variant]
            if exact:
                return exact[0]
        return candidates[0]


def parse_manifest_or_index(data: bytes) -> Manifest | Index:
    mt = sniff_media_type(data)
    if is_index(mt):
        return Index.parse(data)
    if is_manifest(mt):
        return Manifest.parse(data)
    raise InvalidArgument(f"unsupported manifest media type: {mt}")


def digest_of(data: bytes) -> Digest:
    return Digest.of(data)
