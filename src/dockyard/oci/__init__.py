"""Pure OCI value types: digests, descriptors, manifests, indexes, image configs, references. No I/O.

Names are imported on first use (PEP 562): a command that only needs digests does not pay for the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.oci.chain import chain_id, chain_ids
    from dockyard.oci.descriptor import Descriptor, Platform, host_platform
    from dockyard.oci.digest import Digest, sha256_bytes, sha256_file
    from dockyard.oci.image import ContainerConfig, HealthConfig, History, ImageConfig, parse_image_config
    from dockyard.oci.manifest import Index, Manifest, parse_manifest_or_index, sniff_media_type
    from dockyard.oci.mediatypes import MediaType, is_index, is_layer, is_manifest, layer_compression
    from dockyard.oci.reference import DEFAULT_DOMAIN, DEFAULT_TAG, Reference, is_short_id_candidate, parse_reference

_WHERE = {
    "DEFAULT_DOMAIN": "reference",
    "DEFAULT_TAG": "reference",
    "ContainerConfig": "image",
    "Descriptor": "descriptor",
    "Digest": "digest",
    "HealthConfig": "image",
    "History": "image",
    "ImageConfig": "image",
    "Index": "manifest",
    "Manifest": "manifest",
    "MediaType": "mediatypes",
    "Platform": "descriptor",
    "Reference": "reference",
    "chain_id": "chain",
    "chain_ids": "chain",
    "host_platform": "descriptor",
    "is_index": "mediatypes",
    "is_layer": "mediatypes",
    "is_manifest": "mediatypes",
    "is_short_id_candidate": "reference",
    "layer_compression": "mediatypes",
    "parse_image_config": "image",
    "parse_manifest_or_index": "manifest",
    "parse_reference": "reference",
    "sha256_bytes": "digest",
    "sha256_file": "digest",
    "sniff_media_type": "manifest",
}

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "ContainerConfig",
    "Descriptor",
    "Digest",
    "HealthConfig",
    "History",
    "ImageConfig",
    "Index",
    "Manifest",
    "MediaType",
    "Platform",
    "Reference",
    "chain_id",
    "chain_ids",
    "host_platform",
    "is_index",
    "is_layer",
    "is_manifest",
    "is_short_id_candidate",
    "layer_compression",
    "parse_image_config",
    "parse_manifest_or_index",
    "parse_reference",
    "sha256_bytes",
    "sha256_file",
    "sniff_media_type",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(import_module(f"dockyard.oci.{module}"), name)
