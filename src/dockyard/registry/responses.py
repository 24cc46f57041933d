"""What the distribution API hands back and writes into: verified manifests, upload results, blob writers.

:class:`ManifestResponse` is a manifest or index whose digest has been checked; :class:`UploadResult` says how a blob
reached the registry; a :class:`BlobWriter` (the store's ``ContentWriter``) receives a downloaded blob and verifies it
on ``commit``. The helpers read what a registry response says about its body (media type, ``Docker-Content-Digest``)
and re-hash bytes with the algorithm of the digest they should match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dockyard.errors import InvalidArgument
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "MAX_BLOB_READ",
    "MAX_MANIFEST_SIZE",
    "BlobWriter",
    "ManifestResponse",
    "ProgressCallback",
    "UploadResult",
    "rehash",
    "response_digest",
    "response_media_type",
]

MANIFEST_MEDIA_TYPES: tuple[str, ...] = (
    MediaType.OCI_MANIFEST,
    MediaType.DOCKER_MANIFEST,
    MediaType.DOCKER_MANIFEST_LIST,
    MediaType.OCI_INDEX,
)
MAX_MANIFEST_SIZE = 4 << 20
MAX_BLOB_READ = 32 << 20

#: ``progress(bytes_done, total_or_None)``, called as bytes move.
ProgressCallback = Callable[[int, int | None], None]


class BlobWriter(Protocol):
    """Where a downloaded blob goes (``dockyard.store.content.ContentWriter`` is one)."""

    expected: Digest | None
    offset: int

    def write(self, data: bytes | memoryview) -> None: ...

    def truncate(self) -> None: ...

    def commit(self) -> Digest: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class ManifestResponse:
    """A manifest or index as the registry served it, with its verified digest."""

    data: bytes
    media_type: str
    digest: Digest

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))


@dataclass(frozen=True)
class UploadResult:
    digest: Digest
    size: int
    mounted: bool = False


def response_media_type(response: httpx.Response) -> str:
    """The response's ``Content-Type`` without parameters ("" when there is none)."""
    return response.headers.get("content-type", "").split(";", 1)[0].strip()


def response_digest(response: httpx.Response) -> Digest | None:
    """The response's ``Docker-Content-Digest``, or None when it is missing or not a digest."""
    value = response.headers.get("docker-content-digest")
    if not value:
        return None
    try:
        return Digest.parse(value.strip())
    except InvalidArgument:
        return None


def rehash(digest: Digest, data: bytes) -> Digest:
    """The digest of ``data`` with ``digest``'s algorithm (compare it with ``digest``)."""
    h = digest.hasher()
    h.update(data)
    return Digest(digest.algorithm, h.hexdigest())
