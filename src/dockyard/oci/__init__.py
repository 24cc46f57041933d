"""Pure OCI value types: digests, descriptors, manifests, indexes, image configs, references. No I/O."""

from dockyard.oci.chain import chain_id, chain_ids
from dockyard.oci.descriptor import Descriptor, Platform, host_platform
from dockyard.oci.digest import Digest, sha256_bytes, sha256_file
from dockyard.oci.image import ContainerConfig, HealthConfig, History, ImageConfig, parse_image_config
from dockyard.oci.manifest import Index, Manifest, parse_manifest_or_index, sniff_media_type
from dockyard.oci.mediatypes import MediaType, is_index, is_layer, is_manifest, layer_compression
from dockyard.oci.reference import (
    DEFAULT_DOMAIN,
    DEFAULT_TAG,
    Reference,
    is_short_id_candidate,
    parse_reference,
)

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
