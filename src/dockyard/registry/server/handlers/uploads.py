"""``/v2/<name>/blobs/uploads/``: start (monolithic, or a cross-repository mount), chunks, status, finish, cancel.

Distribution's wire details are kept: ``Location`` relative to the host, ``Range: 0-<last byte>`` (``0-0`` when
empty), ``Docker-Upload-UUID``, ``Content-Range: <start>-<end>`` on ``PATCH`` (``bytes`` prefixes tolerated), a
chunk that does not start where the upload stands answered with ``416 RANGE_INVALID``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

from aiohttp import web

from dockyard.oci.digest import Digest
from dockyard.registry.server.auth import Scope
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers.common import (
    blob_url,
    empty,
    identity,
    repository,
    state,
    upload_url,
)
from dockyard.registry.server.names import NAME_RE, parse_digest
from dockyard.registry.server.uploads import UploadSession

__all__ = ["cancel_upload", "finish_upload", "patch_upload", "start_upload", "upload_status"]

log = logging.getLogger(__name__)

_CHUNK = 256 << 10
_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def _body(request: web.Request) -> AsyncIterator[bytes]:
    return request.content.iter_chunked(_CHUNK)


def _progress_headers(name: str, session: UploadSession) -> dict[str, str]:
    return {
        "Location": upload_url(name, session.uuid),
        "Range": f"0-{max(session.size - 1, 0)}",
        "Docker-Upload-UUID": session.uuid,
    }


def _created(name: str, digest: Digest) -> web.Response:
    return empty(201, {"Location": blob_url(name, digest), "Docker-Content-Digest": str(digest)})


async def _try_mount(request: web.Request, name: str, digest: Digest, source: str) -> bool:
    st = state(request)
    readable = st.auth.can(identity(request), Scope("repository", source, frozenset({"pull"})))
    if not NAME_RE.match(source) or not readable:
        return False

    def mount() -> bool:
        if not st.storage.has_layer(source, digest) or st.storage.verified_size(digest) is None:
            return False
        st.storage.link_layer(name, digest)
        return True

    return await asyncio.to_thread(mount)


async def _monolithic(request: web.Request, name: str, digest: Digest) -> web.Response:
    st = state(request)
    session = await asyncio.to_thread(st.uploads.create, name)
    committed = False
    try:
        async with session.lock:
            await st.uploads.receive(session, _body(request), expected=request.content_length)
            await asyncio.to_thread(st.uploads.commit, session, digest)
            committed = True
    finally:
        if not committed:
            await asyncio.to_thread(st.uploads.discard, session)
    log.info("blob %s stored in %s (%d bytes)", digest, name, session.size)
    return _created(name, digest)


async def start_upload(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    query = request.query
    if "mount" in query:
        digest = parse_digest(query["mount"])
        source = query.get("from", "")
        if source and await _try_mount(request, name, digest, source):
            log.info("blob %s mounted from %s into %s", digest, source, name)
            return _created(name, digest)
    if "digest" in query:
        return await _monolithic(request, name, parse_digest(query["digest"]))
    session = await asyncio.to_thread(st.uploads.create, name)
    return empty(202, _progress_headers(name, session))


def _session(request: web.Request, name: str) -> UploadSession:
    return state(request).uploads.get(name, request.match_info["uuid"])


async def _ready(session: UploadSession) -> None:
    if session.hasher is None:
        await asyncio.to_thread(session.load)


async def upload_status(request: web.Request) -> web.Response:
    name = repository(request)
    session = _session(request, name)
    return empty(204, _progress_headers(name, session))


def _expected_length(request: web.Request, name: str, session: UploadSession) -> int | None:
    """The body length a request announces; a ``Content-Range`` must start where the upload stands (else 416)."""
    expected: int | None = request.content_length
    content_range = request.headers.get("Content-Range")
    if not content_range:
        return expected
    m = _CONTENT_RANGE.match(content_range.strip())
    if not m:
        raise SpecError(ErrorCode.RANGE_INVALID, detail=f"malformed Content-Range {content_range!r}")
    start, end = int(m.group(1)), int(m.group(2))
    length = end - start + 1
    if start != session.size or end < start or (expected is not None and expected != length):
        raise SpecError(
            ErrorCode.RANGE_INVALID,
            detail={"offset": session.size, "range": content_range},
            headers=_progress_headers(name, session),
        )
    return length


async def patch_upload(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    session = _session(request, name)
    async with session.lock:
        await _ready(session)
        expected = _expected_length(request, name, session)
        await st.uploads.receive(session, _body(request), expected=expected)
    return empty(202, _progress_headers(name, session))


async def finish_upload(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    value = request.query.get("digest")
    if not value:
        raise SpecError(ErrorCode.DIGEST_INVALID, "digest missing", detail="PUT needs ?digest=<digest>")
    digest = parse_digest(value)
    session = _session(request, name)
    async with session.lock:
        await _ready(session)
        if request.content_length or request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            expected = _expected_length(request, name, session)
            await st.uploads.receive(session, _body(request), expected=expected)
        await asyncio.to_thread(st.uploads.commit, session, digest)
    log.info("blob %s stored in %s (%d bytes)", digest, name, session.size)
    return _created(name, digest)


async def cancel_upload(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    session = _session(request, name)
    async with session.lock:
        await asyncio.to_thread(st.uploads.discard, session)
    return empty(204)
