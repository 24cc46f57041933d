"""``GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>``.

A manifest is accepted only when its digest matches a digest reference and everything it references is in the
repository: config and layers as blobs pushed or mounted there (layers with ``urls`` excepted), an index's
children as manifests of the repository; else ``MANIFEST_BLOB_UNKNOWN`` for each missing one. ``GET`` negotiates
with ``Accept`` as distribution does (a client that lists manifest types but not the stored one gets
``MANIFEST_UNKNOWN``; a manifest list asked by tag from such a client is answered with its linux/amd64 child);
no ``Accept`` or a wildcard takes the manifest as stored.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers.common import empty, manifest_url, repository, state
from dockyard.registry.server.manifests import ParsedManifest, accepted_types, parse_manifest, referrer_descriptor
from dockyard.registry.server.names import parse_reference
from dockyard.registry.server.storage import RegistryStorage

__all__ = ["delete_manifest", "get_manifest", "put_manifest"]

log = logging.getLogger(__name__)

_NOT_ACCEPTED: dict[str, str] = {
    MediaType.OCI_MANIFEST: "OCI manifest found, but accept header does not support OCI manifests",
    MediaType.OCI_INDEX: "OCI index found, but accept header does not support OCI indexes",
}


def _unknown(name: str, reference: str | Digest) -> SpecError:
    key = "Tag" if isinstance(reference, str) else "Digest"
    return SpecError(ErrorCode.MANIFEST_UNKNOWN, detail={key: str(reference), "Name": name})


def _resolve(storage: RegistryStorage, name: str, reference: str | Digest) -> tuple[Digest, str]:
    digest = storage.resolve_tag(name, reference) if isinstance(reference, str) else reference
    media_type = storage.manifest_media_type(name, digest) if digest is not None else None
    if digest is None or media_type is None:
        raise _unknown(name, reference)
    return digest, media_type


def _platform_child(storage: RegistryStorage, name: str, digest: Digest) -> tuple[Digest, str] | None:
    data = storage.read_blob_bytes(digest)
    if data is None:
        return None
    for entry in json.loads(data).get("manifests") or []:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            try:
                child = Digest.parse(str(entry.get("digest")))
            except InvalidArgument:
                return None
            media_type = storage.manifest_media_type(name, child)
            return (child, media_type) if media_type else None
    return None


def _read(
    storage: RegistryStorage, name: str, reference: str | Digest, accept: frozenset[str] | None
) -> tuple[Digest, str, bytes]:
    digest, media_type = _resolve(storage, name, reference)
    if accept is not None and media_type not in accept:
        if media_type in _NOT_ACCEPTED:
            raise SpecError(ErrorCode.MANIFEST_UNKNOWN, _NOT_ACCEPTED[media_type])
        if media_type == MediaType.DOCKER_MANIFEST_LIST and isinstance(reference, str):
            child = _platform_child(storage, name, digest)
            if child is None:
                raise _unknown(name, reference)
            digest, media_type = child
    data = storage.read_blob_bytes(digest)
    if data is None:
        raise _unknown(name, reference)
    return digest, media_type, data


async def get_manifest(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    reference = parse_reference(request.match_info["reference"])
    accept = accepted_types(request.headers.getall("Accept", []))
    digest, media_type, data = await asyncio.to_thread(_read, st.storage, name, reference, accept)
    etag = f'"{digest}"'
    headers = {"Content-Type": media_type, "Docker-Content-Digest": str(digest), "ETag": etag}
    if request.headers.get("If-None-Match") in (etag, str(digest)):
        return empty(304, headers)
    return web.Response(status=200, body=data, headers=headers)


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise SpecError(ErrorCode.MANIFEST_INVALID, detail=f"manifest exceeds {limit} bytes", status=413)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_chunked(64 << 10):
        total += len(chunk)
        if total > limit:
            raise SpecError(ErrorCode.MANIFEST_INVALID, detail=f"manifest exceeds {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _missing(storage: RegistryStorage, name: str, manifest: ParsedManifest) -> list[SpecError]:
    errors = []
    for blob in manifest.blobs:
        if blob.urls and not storage.has_layer(name, blob.digest):
            continue  # foreign / non-distributable layer fetched from its URLs
        if not storage.has_layer(name, blob.digest) or not storage.blob_path(blob.digest).exists():
            errors.append(SpecError(ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"digest": str(blob.digest)}))
    for child in manifest.manifests:
        if storage.manifest_media_type(name, child.digest) is None:
            errors.append(SpecError(ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"digest": str(child.digest)}))
    return errors


def _store(storage: RegistryStorage, name: str, manifest: ParsedManifest, data: bytes, tag: str | None) -> None:
    errors = _missing(storage, name, manifest)
    if errors:
        raise SpecError(errors[0].code, detail=errors[0].detail, more=tuple(errors[1:]))
    subject = manifest.subject.digest if manifest.subject is not None else None
    storage.put_manifest(
        name,
        manifest.digest,
        data,
        manifest.media_type,
        tag=tag,
        subject=subject,
        referrer=referrer_descriptor(manifest) if subject is not None else None,
    )


async def put_manifest(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    reference = parse_reference(request.match_info["reference"])
    data = await _read_body(request, st.config.max_manifest_size)
    algorithm = reference.algorithm if isinstance(reference, Digest) else "sha256"
    manifest = parse_manifest(data, request.headers.get("Content-Type", ""), algorithm)
    if isinstance(reference, Digest) and manifest.digest != reference:
        raise SpecError(ErrorCode.DIGEST_INVALID, detail={"expected": str(reference), "actual": str(manifest.digest)})
    tag = reference if isinstance(reference, str) else None
    await asyncio.to_thread(_store, st.storage, name, manifest, data, tag)
    log.info("manifest %s stored in %s%s", manifest.digest, name, f" as {tag}" if tag else "")
    headers = {"Location": manifest_url(name, manifest.digest), "Docker-Content-Digest": str(manifest.digest)}
    if manifest.subject is not None:
        headers["OCI-Subject"] = str(manifest.subject.digest)
    return empty(201, headers)


def _delete(storage: RegistryStorage, name: str, reference: str | Digest) -> None:
    if isinstance(reference, str):
        if not storage.delete_tag(name, reference):
            raise _unknown(name, reference)
        return
    subject = None
    data = storage.read_blob_bytes(reference)
    if data is not None:
        try:
            value = json.loads(data).get("subject")
            subject = Digest.parse(str(value["digest"])) if isinstance(value, dict) else None
        except (ValueError, KeyError, InvalidArgument):
            subject = None
    if not storage.delete_revision(name, reference, subject):
        raise _unknown(name, reference)


async def delete_manifest(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    reference = parse_reference(request.match_info["reference"])
    await asyncio.to_thread(_delete, st.storage, name, reference)
    log.info("manifest %s deleted from %s", reference, name)
    return empty(202)
