"""``HEAD/GET/DELETE /v2/<name>/blobs/<digest>``: blobs served only when their content matches their digest.

* ``HEAD`` and ranged ``GET`` hash the file first unless its ``stat`` signature is the one remembered from the last
  time it was hashed (see ``storage.py``): a touched file is re-hashed once, a corrupt one is quarantined and
  reported as ``BLOB_UNKNOWN`` (so a client pushes it again).
* A full ``GET`` of a small blob reads, hashes and then sends it. A large blob goes out with ``sendfile`` while a
  thread hashes the same file; the last ``_TAIL`` bytes are held back until the hash is known, and if it does not
  match, the connection is aborted instead: the client sees a short body, never a complete wrong one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import threading
from typing import BinaryIO

from aiohttp import web

from dockyard.oci.digest import Digest
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers.common import empty, repository, state
from dockyard.registry.server.names import parse_digest
from dockyard.registry.server.storage import RegistryStorage, hash_file

__all__ = ["delete_blob", "get_blob", "parse_range"]

log = logging.getLogger(__name__)

_SMALL = 1 << 20  # read, verify, then send
_TAIL = 256 << 10  # bytes held back until the streaming hash is checked
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` -> ``(start, end)`` inclusive; ``None`` when the header should be ignored.

    Raises ``RANGE_INVALID`` (416) for a range that cannot be satisfied.
    """
    m = _RANGE_RE.match(value.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # malformed or multiple ranges: RFC 9110 lets us send the whole blob
    first, last = m.group(1), m.group(2)
    if not first:
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> SpecError:
    return SpecError(ErrorCode.RANGE_INVALID, headers={"Content-Range": f"bytes */{size}"})


def _headers(digest: Digest) -> dict[str, str]:
    return {
        "Docker-Content-Digest": str(digest),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        "Cache-Control": "max-age=31536000",
    }


def _unknown(digest: Digest) -> SpecError:
    return SpecError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})


def _open(storage: RegistryStorage, digest: Digest) -> tuple[BinaryIO, os.stat_result] | None:
    try:
        f = open(storage.blob_path(digest), "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        return None
    return f, os.fstat(f.fileno())


def _read_verified(storage: RegistryStorage, digest: Digest, f: BinaryIO) -> bytes | None:
    data = f.read()
    h = digest.hasher()
    h.update(data)
    if h.hexdigest() != digest.hex:
        storage.quarantine(digest, "content does not match")
        return None
    storage.mark_verified(digest, os.fstat(f.fileno()))
    return data


def _hash_fd(fd: int, algorithm: str, size: int, cancel: threading.Event) -> str:
    h = hashlib.new(algorithm)
    offset = 0
    while offset < size and not cancel.is_set():
        chunk = os.pread(fd, min(1 << 20, size - offset), offset)
        if not chunk:
            break
        h.update(chunk)
        offset += len(chunk)
    return str(h.hexdigest()) if offset == size else ""


async def _send(request: web.Request, response: web.StreamResponse, f: BinaryIO, offset: int, count: int) -> None:
    if count <= 0:
        return
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("connection lost")
    loop = asyncio.get_running_loop()
    try:
        await loop.sendfile(transport, f, offset, count)
    except NotImplementedError:
        f.seek(offset)
        left = count
        while left > 0:
            chunk = await asyncio.to_thread(f.read, min(1 << 20, left))
            if not chunk:
                raise ConnectionResetError("blob ended early") from None
            await response.write(chunk)
            left -= len(chunk)


async def get_blob(request: web.Request) -> web.StreamResponse:
    st = state(request)
    name = repository(request)
    digest = parse_digest(request.match_info["digest"])
    storage = st.storage
    if not await asyncio.to_thread(storage.has_layer, name, digest):
        raise _unknown(digest)
    if request.method == "HEAD":
        size = await asyncio.to_thread(storage.verified_size, digest)
        if size is None:
            raise _unknown(digest)
        response = web.StreamResponse(status=200, headers=_headers(digest))
        response.content_length = size
        return response
    opened = await asyncio.to_thread(_open, storage, digest)
    if opened is None:
        raise _unknown(digest)
    f, stat = opened
    try:
        return await _serve(request, storage, digest, f, stat)
    finally:
        f.close()


async def _serve(
    request: web.Request, storage: RegistryStorage, digest: Digest, f: BinaryIO, stat: os.stat_result
) -> web.StreamResponse:
    size = stat.st_size
    wanted = parse_range(request.headers["Range"], size) if "Range" in request.headers and size else None
    if wanted is not None:
        if not storage.is_verified(digest, stat):
            hex_, _ = await asyncio.to_thread(hash_file, f.fileno(), digest.algorithm)
            if hex_ != digest.hex:
                await asyncio.to_thread(storage.quarantine, digest, "content does not match")
                raise _unknown(digest)
            storage.mark_verified(digest, stat)
        start, end = wanted
        response = web.StreamResponse(status=206, headers=_headers(digest))
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.content_length = end - start + 1
        await response.prepare(request)
        await _send(request, response, f, start, end - start + 1)
        await response.write_eof()
        return response
    if size <= _SMALL:
        data = await asyncio.to_thread(_read_verified, storage, digest, f)
        if data is None:
            raise _unknown(digest)
        return web.Response(body=data, headers=_headers(digest))
    response = web.StreamResponse(status=200, headers=_headers(digest))
    response.content_length = size
    await response.prepare(request)
    cancel = threading.Event()
    hashing = asyncio.ensure_future(asyncio.to_thread(_hash_fd, f.fileno(), digest.algorithm, size, cancel))
    try:
        await _send(request, response, f, 0, size - _TAIL)
        if await hashing != digest.hex:
            await asyncio.to_thread(storage.quarantine, digest, "content does not match")
            log.error("GET %s: aborted the download of a corrupt blob", request.path)
            response.force_close()
            if request.transport is not None:
                request.transport.abort()
            return response
        storage.mark_verified(digest, stat)
        await _send(request, response, f, size - _TAIL, _TAIL)
        await response.write_eof()
        return response
    finally:
        cancel.set()
        with contextlib.suppress(BaseException):
            await hashing


async def delete_blob(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    digest = parse_digest(request.match_info["digest"])
    if not await asyncio.to_thread(st.storage.unlink_layer, name, digest):
        raise _unknown(digest)
    return empty(202, {"Docker-Content-Digest": str(digest)})
