"""Blob uploads (distribution spec "pushing blobs"): monolithic, chunked, cross-repository mount.

* Start: ``POST /v2/<name>/blobs/uploads/`` -> ``202`` with ``Location`` (an upload session). With
  ``?mount=<digest>&from=<repo>``, ``201`` means the registry mounted the blob and nothing needs sending.
* Monolithic: ``PUT <location>&digest=<digest>`` with the whole body.
* Chunked: ``PATCH <location>`` per chunk with ``Content-Range: <start>-<end>`` (inclusive, no unit, as
  distribution expects), following the new ``Location`` each time; then ``PUT <location>&digest=`` with no body.
  A chunk that fails in flight is resumed from what the registry confirms it has (``GET <location>`` -> ``Range``).
* The registry must answer the final PUT with ``201`` and the same ``Docker-Content-Digest``.

A failure that cannot be resumed starts the whole upload over (the source must be bytes or seekable), a bounded
number of times.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import closing
from typing import TYPE_CHECKING, BinaryIO

import httpx

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.registry.errors import RegistryError, RegistryUnavailable
from dockyard.registry.responses import ProgressCallback, UploadResult
from dockyard.registry.transport import check_response

if TYPE_CHECKING:
    from dockyard.registry.client import RegistryClient

__all__ = ["Upload"]

log = logging.getLogger(__name__)

_PIECE = 256 << 10


class Upload:
    """One blob upload; :meth:`run` does it (used by ``RegistryClient.upload_blob``)."""

    def __init__(
        self,
        client: RegistryClient,
        digest: Digest,
        source: bytes | BinaryIO,
        size: int | None,
        *,
        progress: ProgressCallback | None,
        chunk_size: int | None,
    ) -> None:
        self.client = client
        self.digest = digest
        if isinstance(source, bytes | bytearray | memoryview):
            self.source: BinaryIO = io.BytesIO(bytes(source))
            size = len(source)
        else:
            self.source = source
        if size is None:
            here = self.source.tell()
            size = self.source.seek(0, io.SEEK_END) - here
            self.source.seek(here)
        self.base = self.source.tell()
        self.size = size
        self.progress = progress
        if chunk_size is not None and chunk_size <= 0:
            raise InvalidArgument("upload: chunk size must be positive")
        self.chunk_size = chunk_size

    def run(self, mount_from: str | None) -> UploadResult:
        failures = 0
        while True:
            try:
                location = self._start(mount_from)
                if location is None:
                    return UploadResult(self.digest, self.size, mounted=True)
                if self.chunk_size is not None:
                    location = self._send_chunks(location)
                    self._finish(location, with_body=False)
                else:
                    self._finish(location, with_body=True)
                return UploadResult(self.digest, self.size)
            except RegistryUnavailable as exc:
                failures += 1
                if failures >= self.client.retry.attempts or not self.source.seekable():
                    raise
                log.info("upload %s: %s; starting over", self.digest.short, exc)
                self.client._sleep(self.client.retry.delay(failures))
                mount_from = None

    def _start(self, mount_from: str | None) -> httpx.URL | None:
        params = {"mount": str(self.digest), "from": mount_from} if mount_from else None
        response = self.client._send("POST", "blobs/uploads/", params=params)
        with closing(response):
            check_response(response, ok=(201, 202))
        if response.status_code == 201:
            return None
        location = response.headers.get("location")
        if not location:
            raise RegistryError(f"upload {self.digest}: the registry did not return an upload location")
        return response.request.url.join(location)

    def _body(self, start: int, length: int) -> Iterator[bytes]:
        self.source.seek(self.base + start)
        sent = 0
        while sent < length:
            piece = self.source.read(min(_PIECE, length - sent))
            if not piece:
                raise CorruptContent(f"upload {self.digest}: source ended after {start + sent} of {self.size} bytes")
            sent += len(piece)
            yield piece
            if self.progress is not None:
                self.progress(start + sent, self.size)

    def _finish(self, location: httpx.URL, *, with_body: bool) -> None:
        url = location.copy_merge_params({"digest": str(self.digest)})
        if with_body:
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(self.size)}
            response = self.client._send("PUT", url, headers=headers, content=self._body(0, self.size))
        else:
            response = self.client._send("PUT", url, headers={"Content-Length": "0"}, content=b"")
        with closing(response):
            check_response(response, ok=(201, 204))
        returned = response.headers.get("docker-content-digest", "").strip()
        if returned and returned != str(self.digest):
            raise CorruptContent(f"upload {self.digest}: the registry stored digest {returned}")

    def _status(self, location: httpx.URL) -> tuple[httpx.URL, int]:
        """Where an interrupted chunked upload stands: (next location, bytes the registry has)."""
        response = self.client._send("GET", location)
        with closing(response):
            check_response(response, ok=(204,))
        have = 0
        ranges = response.headers.get("range", "")
        if "-" in ranges:
            end = ranges.rsplit("-", 1)[1]
            have = int(end) + 1 if end.isdigit() else 0
        new = response.headers.get("location")
        return (response.request.url.join(new) if new else location), have

    def _send_chunks(self, location: httpx.URL) -> httpx.URL:
        assert self.chunk_size is not None
        offset = 0
        failures = 0
        while offset < self.size:
            length = min(self.chunk_size, self.size - offset)
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + length - 1}",
                "Content-Length": str(length),
            }
            try:
                response = self.client._send("PATCH", location, headers=headers, content=self._body(offset, length))
                with closing(response):
                    check_response(response, ok=(202, 204))
            except RegistryUnavailable as exc:
                failures += 1
                if failures >= self.client.retry.attempts:
                    raise
                self.client._sleep(self.client.retry.delay(failures))
                location, offset = self._status(location)
                log.info("upload %s: %s; resuming at %d", self.digest.short, exc, offset)
                continue
            new = response.headers.get("location")
            if new:
                location = response.request.url.join(new)
            offset += length
        return location
