"""The distribution API for one repository: manifests, tags, blob downloads (resumable) and uploads.

``RegistryClient("127.0.0.1:5000", "pango/get-started", credentials=...)`` picks an endpoint on first use (Docker's
order: mirrors for Docker Hub pulls, ``https://``, then ``http://`` for insecure registries), pings ``/v2/`` to
learn the auth challenge and then authorizes every request up front. The client is thread-safe: parallel layer
transfers may share one instance (it holds one connection pool and one token cache).

Nothing unverified is ever handed back: manifests are checked against the digest asked for or the registry's
``Docker-Content-Digest``; blobs are written into a :class:`BlobWriter` (the store's ``ContentWriter``) whose
``commit`` checks size and digest and discards the ingest on a mismatch. A download that breaks off resumes with
``Range: bytes=<offset>-`` from what the writer already holds (a resumed ingest re-hashes its bytes first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

import httpx

from dockyard.errors import CorruptContent, DockyardError, InvalidArgument
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.manifest import sniff_media_type
from dockyard.registry.auth import AuthConfig
from dockyard.registry.endpoints import DEFAULT_CERTS_DIR, Endpoint, lookup_endpoints, normalize_registry_host
from dockyard.registry.errors import RegistryError, RegistryNotFound, RegistryUnavailable, url_error
from dockyard.registry.responses import (
    MANIFEST_MEDIA_TYPES,
    MAX_BLOB_READ,
    MAX_MANIFEST_SIZE,
    BlobWriter,
    ManifestResponse,
    ProgressCallback,
    UploadResult,
    rehash,
    response_digest,
    response_media_type,
)
from dockyard.registry.tokens import REPOSITORY_EXTENSION, RegistryAuth
from dockyard.registry.transport import (
    DEFAULT_TIMEOUT,
    PingResult,
    RetryPolicy,
    check_response,
    open_client,
    ping,
    transport_error,
)
from dockyard.settings import Settings

if TYPE_CHECKING:
    from dockyard.registry.fastget import BlobResponse, DirectConnections

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "MAX_MANIFEST_SIZE",
    "BlobWriter",
    "ManifestResponse",
    "ProgressCallback",
    "RegistryClient",
    "UploadResult",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class RegistryClient:
    """One repository on one registry. See the module docstring."""

    def __init__(
        self,
        host: str,
        repository: str,
        *,
        credentials: AuthConfig | None = None,
        settings: Settings | None = None,
        insecure_registries: Sequence[str] | None = None,
        mirrors: Sequence[str] | None = None,
        tls_verify: bool | None = None,
        push: bool = False,
        certs_dir: Path = DEFAULT_CERTS_DIR,
        retry: RetryPolicy = RetryPolicy(),
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        auth: RegistryAuth | None = None,
    ) -> None:
        self.host = normalize_registry_host(host)
        self.repository = repository
        if insecure_registries is None:
            insecure_registries = settings.insecure_registries if settings else ()
        if mirrors is None:
            mirrors = settings.registry_mirrors if settings else ()
        self.endpoints = lookup_endpoints(
            self.host,
            insecure_registries=insecure_registries,
            mirrors=mirrors,
            tls_verify=tls_verify,
            include_mirrors=not push,
        )
        self.auth = auth or RegistryAuth(credentials, push=push)
        self.retry = retry
        self._sleep = sleep
        self._open = lambda ep: open_client(
            ep, self.auth, certs_dir=certs_dir, retry=retry, timeout=timeout, sleep=sleep, transport=transport
        )
        self._direct: DirectConnections | None = None
        if transport is None:  # blob bodies may bypass httpx (see open_blob)
            from dockyard.registry.fastget import DirectConnections

            self._direct = DirectConnections(certs_dir, timeout)
        self._lock = threading.Lock()
        self._index = -1
        self._client: httpx.Client | None = None
        self._retired: list[httpx.Client] = []
        self._ping: PingResult | None = None

    # -- connection ------------------------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        """The repository as Docker prints it (``busybox``, ``127.0.0.1:5000/pango/get-started``)."""
        if self.host == "docker.io":
            return self.repository.removeprefix("library/") if self.repository.count("/") == 1 else self.repository
        return f"{self.host}/{self.repository}"

    @property
    def endpoint(self) -> Endpoint:
        return self._http()[1]

    def ping(self) -> PingResult:
        self._http()
        assert self._ping is not None
        return self._ping

    def _http(self) -> tuple[httpx.Client, Endpoint]:
        with self._lock:
            if self._client is None:
                self._connect(0)
            assert self._client is not None
            return self._client, self.endpoints[self._index]

    def _connect(self, start: int) -> None:
        last: DockyardError | None = None
        for i in range(start, len(self.endpoints)):
            endpoint = self.endpoints[i]
            if i + 1 < len(self.endpoints) and self._direct is not None and self._direct.plain_http(endpoint):
                last = RegistryUnavailable(
                    url_error("GET", endpoint.url("/v2/"), "http: server gave HTTP response to HTTPS client")
                )
                log.info("registry endpoint %s: %s; trying next endpoint", endpoint, last)
                continue
            client = self._open(endpoint)
            try:
                self._ping = ping(client, endpoint, self.auth)
            except DockyardError as exc:
                client.close()
                log.info("registry endpoint %s: %s; trying next endpoint", endpoint, exc)
                last = exc
                continue
            self._client, self._index = client, i
            return
        assert last is not None
        raise last

    def _fall_back(self, failed: Endpoint) -> bool:
        """After a mirror failed an operation, move on to the next endpoint; False when there is none."""
        with self._lock:
            if self._index < 0 or self.endpoints[self._index] != failed:
                return True  # another thread moved on already
            if not failed.mirror or self._index + 1 >= len(self.endpoints):
                return False
            if self._client is not None:
                self._retired.append(self._client)  # other threads may still be reading from it
                self._client = None
            self._connect(self._index + 1)
            return True

    def close(self) -> None:
        with self._lock:
            for client in [*self._retired, self._client]:
                if client is not None:
                    client.close()
            self._client = None
            self._retired = []

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, endpoint: Endpoint, path: str) -> str:
        return endpoint.url(f"/v2/{self.repository}/{path}")

    def _send(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        params: dict[str, str] | None = None,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        client, endpoint = self._http()
        url = path if isinstance(path, httpx.URL) else self._url(endpoint, path)
        request = client.build_request(
            method,
            url,
            headers=headers,
            content=content,
            params=params,
            extensions={REPOSITORY_EXTENSION: self.repository},
        )
        try:
            return client.send(request, stream=stream, follow_redirects=follow_redirects)
        except httpx.HTTPError as exc:
            raise transport_error(exc, request) from exc

    def open_blob(self, path: str, headers: dict[str, str]) -> BlobResponse | None:
        """``GET path`` on a connection of its own (:mod:`dockyard.registry.fastget`): the response when the
        registry answers ``200``/``206`` to exactly what httpx would send; None when httpx has to do this request
        (a proxy or test transport, a token not fetched yet, a challenge, a redirect, an error status)."""
        if self._direct is None:
            return None
        client, endpoint = self._http()
        request = client.build_request(
            "GET", self._url(endpoint, path), headers=headers, extensions={REPOSITORY_EXTENSION: self.repository}
        )
        return self._direct.open(endpoint, request, self.auth)

    def _with_fallback(self, op: Callable[[], _T]) -> _T:
        while True:
            endpoint = self.endpoint
            try:
                return op()
            except (RegistryNotFound, RegistryUnavailable) as exc:
                if not endpoint.mirror or not self._fall_back(endpoint):
                    raise
                log.info("mirror %s: %s; trying next endpoint", endpoint, exc)

    # -- manifests -------------------------------------------------------------------------------------------

    def _display(self, ref: str | Digest) -> str:
        sep = "@" if isinstance(ref, Digest) else ":"
        return f"{self.display_name}{sep}{ref}"

    def _not_found(self, ref: str | Digest, err: RegistryError) -> RegistryNotFound:
        out = RegistryNotFound(f"manifest for {self._display(ref)} not found: {err.message}", err.hint)
        out.status_code, out.codes = err.status_code, err.codes
        return out

    def get_manifest(
        self, ref: str | Digest, *, accept: Sequence[str] = MANIFEST_MEDIA_TYPES, max_size: int = MAX_MANIFEST_SIZE
    ) -> ManifestResponse:
        """Fetch a manifest or index by tag or digest; its digest is verified before it is returned."""
        return self._with_fallback(lambda: self._get_manifest(ref, accept, max_size))

    def _get_manifest(self, ref: str | Digest, accept: Sequence[str], max_size: int) -> ManifestResponse:
        response = self._send("GET", f"manifests/{ref}", headers={"Accept": ", ".join(accept)}, stream=True)
        with closing(response):
            try:
                check_response(response)
            except RegistryNotFound as exc:
                raise self._not_found(ref, exc) from None
            data = self._read_limited(response, max_size, f"manifest {self._display(ref)}")
        if isinstance(ref, Digest):
            if rehash(ref, data) != ref:
                raise CorruptContent(f"manifest verification failed for digest {ref}")
            actual = ref
        else:
            actual = Digest.of(data)
            header = response_digest(response)
            if header is not None and rehash(header, data) != header:
                raise CorruptContent(f"manifest verification failed for digest {header}")
        media_type = response_media_type(response)
        if media_type in ("", "application/json", "text/plain", "application/octet-stream"):
            media_type = sniff_media_type(data)
        return ManifestResponse(data, media_type, actual)

    def _read_limited(self, response: httpx.Response, limit: int, what: str) -> bytes:
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise InvalidArgument(f"{what}: {int(length)} bytes is over the limit of {limit}")
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise InvalidArgument(f"{what}: more than the limit of {limit} bytes")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise transport_error(exc, response.request) from exc
        return b"".join(chunks)

    def head_manifest(self, ref: str | Digest, *, accept: Sequence[str] = MANIFEST_MEDIA_TYPES) -> Descriptor:
        """The descriptor of a manifest without downloading it (falls back to GET without a digest header)."""

        def op() -> Descriptor:
            response = self._send("HEAD", f"manifests/{ref}", headers={"Accept": ", ".join(accept)})
            if response.status_code == 404:  # a HEAD has no error body to quote
                raise self._not_found(ref, RegistryNotFound("manifest unknown: manifest unknown"))
            check_response(response)
            digest = response_digest(response)
            length = response.headers.get("content-length", "")
            if digest is None or not length.isdigit():
                return self._get_manifest(ref, accept, MAX_MANIFEST_SIZE).descriptor
            if isinstance(ref, Digest) and digest != ref:
                raise CorruptContent(f"manifest verification failed for digest {ref}")
            return Descriptor(response_media_type(response), digest, int(length))

        return self._with_fallback(op)

    def put_manifest(self, data: bytes, media_type: str, ref: str | Digest | None = None) -> Digest:
        """Upload a manifest under a tag, or by digest (the default); returns its digest."""
        digest = Digest.of(data)
        target = digest if ref is None else ref
        if isinstance(target, Digest) and target != digest:
            raise CorruptContent(f"manifest {target}: content hashes to {digest}")
        response = self._send("PUT", f"manifests/{target}", headers={"Content-Type": media_type}, content=data)
        with closing(response):
            check_response(response, ok=(200, 201, 202))
        returned = response_digest(response)
        if returned is not None and returned.algorithm == "sha256" and returned != digest:
            raise CorruptContent(f"registry computed digest {returned} for manifest {digest}")
        return digest

    def delete_manifest(self, digest: Digest) -> None:
        response = self._send("DELETE", f"manifests/{digest}")
        with closing(response):
            check_response(response, ok=(200, 202))

    def list_tags(self, page_size: int | None = None) -> list[str]:
        """All tags of the repository, following ``Link: <...>; rel="next"`` pages."""
        tags: list[str] = []
        params = {"n": str(page_size)} if page_size else None
        next_url: str | httpx.URL = "tags/list"
        while True:
            response = self._send("GET", next_url, params=params if isinstance(next_url, str) else None)
            with closing(response):
                check_response(response)
                try:
                    body = response.json()
                except ValueError as exc:
                    raise RegistryError(f"tag list of {self.display_name}: invalid JSON: {exc}") from exc
            listed = body.get("tags") if isinstance(body, dict) else None
            tags.extend(str(t) for t in listed or [])
            link = response.headers.get("link", "")
            if 'rel="next"' not in link or "<" not in link:
                return tags
            next_url = response.request.url.join(link[link.index("<") + 1 : link.index(">")])

    # -- blobs: reading --------------------------------------------------------------------------------------

    def stat_blob(self, digest: Digest) -> int | None:
        """The blob's size if the repository has it, else None."""

        def op() -> int | None:
            response = self._send("HEAD", f"blobs/{digest}", follow_redirects=True)
            if response.status_code == 404:
                return None
            check_response(response)
            length = response.headers.get("content-length", "")
            return int(length) if length.isdigit() else -1

        return self._with_fallback(op)

    def blob_exists(self, digest: Digest) -> bool:
        return self.stat_blob(digest) is not None

    def read_blob(self, digest: Digest, *, max_size: int = MAX_BLOB_READ) -> bytes:
        """A small blob (an image config) in memory, verified."""

        def op() -> bytes:
            response = self._send(
                "GET", f"blobs/{digest}", headers={"Accept-Encoding": "identity"}, stream=True, follow_redirects=True
            )
            with closing(response):
                check_response(response)
                data = self._read_limited(response, max_size, f"blob {digest}")
            if rehash(digest, data) != digest:
                raise CorruptContent(f"blob {digest}: digest mismatch, content hashes to {Digest.of(data)}")
            return data

        return self._with_fallback(op)

    def fetch_blob(
        self,
        digest: Digest,
        writer: BlobWriter,
        *,
        size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Digest:
        """Download a blob into ``writer`` and commit it (verified); resumes with HTTP Range after a cut."""
        from dockyard.registry.download import Download

        return Download(self, digest, writer, size, progress).run()

    # -- blobs: writing --------------------------------------------------------------------------------------

    def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount; True if the registry mounted it (an upload it starts instead is cancelled)."""
        response = self._send("POST", "blobs/uploads/", params={"mount": str(digest), "from": from_repository})
        with closing(response):
            check_response(response, ok=(201, 202))
        if response.status_code == 201:
            return True
        self._cancel(response)
        return False

    def _cancel(self, response: httpx.Response) -> None:
        location = response.headers.get("location")
        if not location:
            return
        try:
            self._send("DELETE", response.request.url.join(location)).close()
        except DockyardError as exc:
            log.debug("cancel upload: %s", exc)

    def upload_blob(
        self,
        digest: Digest,
        source: bytes | BinaryIO,
        size: int | None = None,
        *,
        progress: ProgressCallback | None = None,
        chunk_size: int | None = None,
        mount_from: str | None = None,
    ) -> UploadResult:
        """Upload a blob: monolithic (POST, then PUT with the digest) or, with ``chunk_size``, in PATCH chunks.

        With ``mount_from``, a cross-repository mount is tried first and the upload only happens if it fails.
        """
        from dockyard.registry.upload import Upload

        return Upload(self, digest, source, size, progress=progress, chunk_size=chunk_size).run(mount_from)
