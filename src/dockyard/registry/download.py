"""Blob downloads that survive broken connections and never keep unverified bytes.

The blob streams into a :class:`~dockyard.registry.client.BlobWriter` (the store's ``ContentWriter``). When the
connection breaks, the download goes on with ``Range: bytes=<offset>-`` from what the writer holds — which, for a
writer opened on an earlier partial ingest, includes what a previous process downloaded. A registry that ignores
the range (``200``), answers another range, or says ``416`` makes the writer start over. Transient failures are
retried with backoff; the count starts again whenever bytes arrived, with an overall bound. The writer's
``commit`` checks size and digest; on a mismatch (or too many bytes) the ingest is discarded.
"""

from __future__ import annotations

import logging
from contextlib import closing
from typing import TYPE_CHECKING

import httpx

from dockyard.errors import CorruptContent, InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.registry.errors import RegistryNotFound, RegistryUnavailable
from dockyard.registry.transport import check_response, transport_error

if TYPE_CHECKING:
    from dockyard.registry.client import RegistryClient
    from dockyard.registry.fastget import BlobResponse
    from dockyard.registry.responses import BlobWriter, ProgressCallback

__all__ = ["Download"]

log = logging.getLogger(__name__)

_TRANSIENT = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.ConnectError, httpx.WriteError)
_MAX_RESUMES_FACTOR = 4


class Download:
    """One blob download; :meth:`run` does it (used by ``RegistryClient.fetch_blob``)."""

    def __init__(
        self,
        client: RegistryClient,
        digest: Digest,
        writer: BlobWriter,
        size: int | None,
        progress: ProgressCallback | None,
    ) -> None:
        if writer.expected != digest:
            raise InvalidArgument(f"fetch blob {digest}: the writer must expect that digest (got {writer.expected})")
        self.client = client
        self.digest = digest
        self.writer = writer
        self.size = size
        self.progress = progress

    def run(self) -> Digest:
        client, writer = self.client, self.writer
        policy = client.retry
        failures = 0
        total_failures = 0
        last_offset = writer.offset
        while True:
            endpoint = client.endpoint
            try:
                done = self._once()
            except (RegistryNotFound, RegistryUnavailable) as exc:
                if endpoint.mirror and client._fall_back(endpoint):
                    writer.truncate()
                    log.info("mirror %s: %s; trying next endpoint", endpoint, exc)
                    continue
                raise
            except _TRANSIENT as exc:
                total_failures += 1
                failures = 1 if writer.offset > last_offset else failures + 1
                last_offset = writer.offset
                if failures >= policy.attempts or total_failures >= policy.attempts * _MAX_RESUMES_FACTOR:
                    raise transport_error(exc) from exc
                log.info("blob %s: %s after %d bytes; resuming", self.digest.short, exc, writer.offset)
                client._sleep(policy.delay(failures))
                continue
            except CorruptContent:
                writer.abort()
                raise
            if done:
                return writer.commit()

    def _once(self) -> bool:
        """One GET; False when the writer had to start over and another request is needed."""
        writer, digest = self.writer, self.digest
        start = writer.offset
        headers = {"Accept-Encoding": "identity"}  # ranges and digests are about the bytes as stored
        if start:
            if self.size is not None and start >= self.size:
                return True
            headers["Range"] = f"bytes={start}-"
        path = f"blobs/{digest}"
        response: httpx.Response | BlobResponse | None = self.client.open_blob(path, headers)
        if response is None:
            response = self.client._send("GET", path, headers=headers, stream=True, follow_redirects=True)
        with closing(response):
            if response.status_code == 416 and start:
                log.info("blob %s: range %d- not satisfiable; starting over", digest.short, start)
                writer.truncate()
                return False
            if isinstance(response, httpx.Response):
                check_response(response, ok=(200, 206))
            if response.status_code == 206:
                content_range = response.headers.get("content-range", "")
                if not content_range.startswith(f"bytes {start}-"):
                    log.info("blob %s: unexpected Content-Range %r; starting over", digest.short, content_range)
                    writer.truncate()
                    return False
            elif start:
                log.info("blob %s: registry ignored the Range request; starting over", digest.short)
                writer.truncate()
            total = self.size
            if total is None:
                length = response.headers.get("content-length", "")
                total = writer.offset + int(length) if length.isdigit() else None
            if self.progress is not None:
                self.progress(writer.offset, total)
            # Every byte received is written before a broken connection can lose it (at most a chunk of the direct
            # path, a megabyte, is read again after a cut).
            for chunk in response.iter_bytes():
                writer.write(chunk)
                if self.progress is not None:
                    self.progress(writer.offset, total)
        return True
