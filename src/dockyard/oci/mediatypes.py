"""OCI and Docker schema2 media types."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MediaType", "is_index", "is_layer", "is_manifest", "layer_compression"]


class MediaType(StrEnum):
    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
    OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
    OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


_INDEXES = {MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST}
_MANIFESTS = {MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST}


def is_index(media_type: str) -> bool:
    return media_type in _INDEXES


def is_manifest(media_type: str) -> bool:
    return media_type in _MANIFESTS


def is_layer(media_type: str) -> bool:
    return layer_compression(media_type) is not None


def layer_compression(media_type: str) -> str | None:
    """``"gzip"``, ``"zstd"``, ``""`` (uncompressed) for layer media types, ``None`` for anything else."""
    if media_type in (MediaType.DOCKER_LAYER, MediaType.DOCKER_FOREIGN_LAYER):
        return "gzip"
    if media_type.startswith("application/vnd.oci.image.layer."):
        if media_type.endswith("+gzip"):
            return "gzip"
        if media_type.endswith("+zstd"):
            return "zstd"
        if media_type.endswith(".tar"):
            return ""
    return None
