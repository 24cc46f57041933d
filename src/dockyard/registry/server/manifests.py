"""Manifests and indexes as the registry sees them: what they reference, and content negotiation by ``Accept``.

Accepted: OCI image manifests and indexes, Docker schema2 manifests and manifest lists. Docker schema1 and
unknown media types are refused with ``MANIFEST_INVALID``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType
from dockyard.registry.server.errors import ErrorCode, SpecError

__all__ = ["MANIFEST_TYPES", "ParsedManifest", "accepted_types", "parse_manifest", "referrer_descriptor"]

MANIFEST_TYPES: frozenset[str] = frozenset(
    {MediaType.OCI_MANIFEST, MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST, MediaType.DOCKER_MANIFEST_LIST}
)
_INDEX_TYPES = frozenset({MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST})


@dataclass(frozen=True)
class ParsedManifest:
    """A validated manifest or index and everything it references."""

    media_type: str
    digest: Digest
    size: int
    blobs: tuple[Descriptor, ...] = ()  # config and layers: must be in the repository (unless they have urls)
    manifests: tuple[Descriptor, ...] = ()  # an index's children: must be manifests of the repository
    subject: Descriptor | None = None
    artifact_type: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in _INDEX_TYPES


def _invalid(detail: str) -> SpecError:
    return SpecError(ErrorCode.MANIFEST_INVALID, detail=detail)


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, Mapping):
        raise _invalid(f"{where}: expected a descriptor object")
    try:
        return Descriptor.from_json(value)
    except InvalidArgument as exc:
        raise _invalid(f"{where}: {exc}") from None


def _descriptors(value: object, where: str) -> tuple[Descriptor, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid(f"{where}: expected a list of descriptors")
    return tuple(_descriptor(v, f"{where}[{i}]") for i, v in enumerate(value))


def _media_type(content_type: str, body: Mapping[str, Any]) -> str:
    declared = content_type.split(";", 1)[0].strip().lower()
    field_type = body.get("mediaType")
    if field_type is not None and not isinstance(field_type, str):
        raise _invalid("mediaType: expected a string")
    if declared in MANIFEST_TYPES:
        if field_type and field_type != declared:
            raise _invalid(f"mediaType {field_type!r} in the manifest does not match Content-Type {declared!r}")
        return declared
    if field_type:
        return field_type
    if "manifests" in body:
        return MediaType.OCI_INDEX
    if "config" in body:
        return MediaType.OCI_MANIFEST
    return declared


def parse_manifest(data: bytes, content_type: str, algorithm: str = "sha256") -> ParsedManifest:
    """Validate a manifest body sent with ``content_type``; its digest is computed with ``algorithm``."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("expected a JSON object")
    version = body.get("schemaVersion")
    if version == 1 or content_type.startswith(MediaType.DOCKER_MANIFEST_V1_SIGNED):
        raise _invalid("schema 1 manifests are not supported: push with a current client")
    if version != 2:
        raise _invalid(f"unsupported schemaVersion {version!r}")
    media_type = _media_type(content_type, body)
    if media_type not in MANIFEST_TYPES:
        raise _invalid(f"unsupported manifest media type {media_type!r}")
    digest = Digest(algorithm, hashlib.new(algorithm, data).hexdigest())
    subject = _descriptor(body["subject"], "subject") if body.get("subject") is not None else None
    annotations = body.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise _invalid("annotations: expected an object")
    artifact_type = body.get("artifactType") or ""
    if not isinstance(artifact_type, str):
        raise _invalid("artifactType: expected a string")
    if media_type in _INDEX_TYPES:
        if "manifests" not in body:
            raise _invalid("an index needs a manifests list")
        return ParsedManifest(
            media_type,
            digest,
            len(data),
            manifests=_descriptors(body["manifests"], "manifests"),
            subject=subject,
            artifact_type=artifact_type,
            annotations={str(k): str(v) for k, v in annotations.items()},
        )
    if "config" not in body:
        raise _invalid("a manifest needs a config descriptor")
    config = _descriptor(body["config"], "config")
    if media_type == MediaType.DOCKER_MANIFEST and not isinstance(body.get("layers"), list):
        raise _invalid("a manifest needs a layers list")
    layers = _descriptors(body.get("layers"), "layers")
    return ParsedManifest(
        media_type,
        digest,
        len(data),
        blobs=(config, *layers),
        subject=subject,
        artifact_type=artifact_type or (config.media_type if media_type == MediaType.OCI_MANIFEST else ""),
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def referrer_descriptor(manifest: ParsedManifest) -> bytes:
    """The descriptor the referrers API lists for ``manifest`` (compact JSON)."""
    out: dict[str, object] = {
        "mediaType": manifest.media_type,
        "digest": str(manifest.digest),
        "size": manifest.size,
    }
    if manifest.artifact_type:
        out["artifactType"] = manifest.artifact_type
    if manifest.annotations:
        out["annotations"] = dict(manifest.annotations)
    return json.dumps(out, separators=(",", ":")).encode()


def accepted_types(accept_headers: Iterable[str]) -> frozenset[str] | None:
    """The manifest media types a client accepts; ``None`` means anything (no ``Accept``, or a wildcard)."""
    types: set[str] = set()
    seen = False
    for header in accept_headers:
        for item in header.split(","):
            media_type = item.split(";", 1)[0].strip().lower()
            if not media_type:
                continue
            seen = True
            if media_type in ("*/*", "application/*"):
                return None
            types.add(media_type)
    return frozenset(types) if seen else None
