"""An in-memory registry behind ``httpx.MockTransport`` (distribution-spec routes), with faults on demand.

Routes: ``/v2/``, manifests (GET/HEAD/PUT), blobs (GET with ``Range``, HEAD), uploads (POST with ``mount``/``from``,
PATCH with or without ``Content-Range``, PUT with ``digest``, GET status, DELETE), ``tags/list``. Every request is
logged as ``"METHOD path"`` (plus the Range header for blob GETs), and the number of blob downloads in flight at
the same time is tracked.

Faults: ``wrong[digest] = bytes`` serves other bytes for a blob; ``cuts[digest] = (n, times)`` breaks the next
``times`` blob responses after ``n`` bytes (``httpx.ReadError``); ``ignore_range`` answers ``200`` with the whole
blob to a Range request; ``fail[(method, marker)] = status`` answers that status to requests whose path contains
``marker``.

Also: helpers that build images (gzip layers, config, schema2/OCI manifests, indexes) and put them in the registry.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from tests.support.tarballs import make_tar

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})


class _CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut: int, on_close: threading.Event | None = None) -> None:
        self.data = data
        self.cut = cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("Connection reset by peer")


class _SlowStream(httpx.SyncByteStream):
    """Sends a blob in pieces, counting how many downloads are in flight together."""

    def __init__(self, registry: FakeRegistry, data: bytes, piece: int = 64 << 10) -> None:
        self.registry = registry
        self.data = data
        self.piece = piece

    def __iter__(self) -> Iterator[bytes]:
        reg = self.registry
        with reg._lock:
            reg.in_flight += 1
            reg.max_in_flight = max(reg.max_in_flight, reg.in_flight)
        try:
            for off in range(0, len(self.data), self.piece):
                if reg.delay:
                    time.sleep(reg.delay)
                yield self.data[off : off + self.piece]
        finally:
            with reg._lock:
                reg.in_flight -= 1


@dataclass
class _Upload:
    repo: str
    data: bytearray = field(default_factory=bytearray)


class FakeRegistry:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.repos: dict[str, set[str]] = {}  # repository -> digests it holds
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}  # (repo, tag or digest) -> (body, type)
        self.uploads: dict[str, _Upload] = {}
        self.log: list[str] = []
        self.wrong: dict[str, bytes] = {}
        self.cuts: dict[str, tuple[int, int]] = {}
        self.ignore_range = False
        self.fail: dict[tuple[str, str], int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0
        self.hook: Callable[[httpx.Request], None] | None = None  # called first for every request
        self._lock = threading.Lock()
        self._next = 0

    # -- content ---------------------------------------------------------------------------------------------
    def add_blob(self, repo: str, data: bytes) -> str:
        digest = sha(data)
        self.blobs[digest] = data
        self.repos.setdefault(repo, set()).add(digest)
        return digest

    def add_manifest(self, repo: str, body: bytes, media_type: str, tag: str | None = None) -> str:
        digest = sha(body)
        self.manifests[(repo, digest)] = (body, media_type)
        if tag is not None:
            self.manifests[(repo, tag)] = (body, media_type)
        return digest

    def blob_gets(self, digest: str) -> list[str]:
        return [entry for entry in self.log if entry.startswith("GET ") and f"/blobs/{digest}" in entry]

    # -- transport -------------------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        entry = f"{method} {path}"
        if "range" in request.headers:
            entry += f" Range={request.headers['range']}"
        if request.url.query:
            entry += f"?{request.url.query.decode()}"
        with self._lock:
            self.log.append(entry)
        if self.hook is not None:
            self.hook(request)
        for (fail_method, marker), status in self.fail.items():
            if method == fail_method and marker in path:
                if status == 429:
                    response = _error(429, "TOOMANYREQUESTS", "You have reached your pull rate limit.")
                    response.headers["Retry-After"] = "60"
                    return response
                return _error(status, "UNAVAILABLE", "service unavailable")
        if path == "/v2/":
            return httpx.Response(200, json={}, headers={"Docker-Distribution-API-Version": "registry/2.0"})
        if not path.startswith("/v2/"):
            return httpx.Response(404)
        rest = path[4:]
        if "/manifests/" in rest:
            repo, _, ref = rest.partition("/manifests/")
            return self._manifest(request, repo, ref)
        if "/blobs/uploads" in rest:
            repo, _, upload = rest.partition("/blobs/uploads")
            return self._upload(request, repo, upload.strip("/"))
        if "/blobs/" in rest:
            repo, _, digest = rest.partition("/blobs/")
            return self._blob(request, repo, digest)
        if rest.endswith("/tags/list"):
            repo = rest[: -len("/tags/list")]
            tags = sorted(ref for (r, ref), _ in self.manifests.items() if r == repo and not ref.startswith("sha256:"))
            if not tags:
                return _error(404, "NAME_UNKNOWN", "repository name not known to registry")
            return httpx.Response(200, json={"name": repo, "tags": tags})
        return httpx.Response(404)

    def _manifest(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        if request.method == "PUT":
            body = request.read()
            media_type = request.headers.get("content-type", "")
            manifest = json.loads(body)
            for desc in [manifest.get("config"), *manifest.get("layers", [])]:
                if desc and desc["digest"] not in self.repos.get(repo, set()):
                    return _error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")
            digest = self.add_manifest(repo, body, media_type, None if ref.startswith("sha256:") else ref)
            return httpx.Response(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{repo}/m"})
        found = self.manifests.get((repo, ref))
        if found is None:
            return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        body, media_type = found
        headers = {"Content-Type": media_type, "Docker-Content-Digest": sha(body)}
        if request.method == "HEAD":
            return httpx.Response(200, headers={**headers, "Content-Length": str(len(body))})
        return httpx.Response(200, content=body, headers=headers)

    def _blob(self, request: httpx.Request, repo: str, digest: str) -> httpx.Response:
        if digest not in self.repos.get(repo, set()):
            return _error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        data = self.wrong.get(digest, self.blobs[digest])
        if request.method == "HEAD":
            return httpx.Response(200, headers={"Content-Length": str(len(data)), "Docker-Content-Digest": digest})
        start = 0
        status = 200
        headers = {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream"}
        rng = request.headers.get("range", "")
        if rng.startswith("bytes=") and not self.ignore_range:
            start = int(rng[6:].split("-", 1)[0])
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        part = data[start:]
        headers["Content-Length"] = str(len(part))
        cut = self.cuts.get(digest)
        if cut is not None and cut[1] > 0:
            self.cuts[digest] = (cut[0], cut[1] - 1)
            return httpx.Response(status, headers=headers, stream=_CutStream(part, cut[0]))
        return httpx.Response(status, headers=headers, stream=_SlowStream(self, part))

    def _upload(self, request: httpx.Request, repo: str, upload_id: str) -> httpx.Response:
        method = request.method
        if method == "POST":
            mount, source = request.url.params.get("mount"), request.url.params.get("from")
            if mount and source and mount in self.repos.get(source, set()):
                self.repos.setdefault(repo, set()).add(mount)
                return httpx.Response(201, headers={"Docker-Content-Digest": mount, "Location": f"/v2/{repo}/b"})
            with self._lock:
                self._next += 1
                upload_id = f"u{self._next}"
            self.uploads[upload_id] = _Upload(repo)
            return httpx.Response(202, headers={"Location": f"/v2/{repo}/blobs/uploads/{upload_id}", "Range": "0-0"})
        upload = self.uploads.get(upload_id)
        if upload is None:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        location = {"Location": f"/v2/{repo}/blobs/uploads/{upload_id}"}
        if method == "DELETE":
            del self.uploads[upload_id]
            return httpx.Response(204)
        if method == "GET":
            return httpx.Response(204, headers={**location, "Range": f"0-{max(len(upload.data) - 1, 0)}"})
        body = request.read()
        if method == "PATCH":
            content_range = request.headers.get("content-range")
            if content_range and int(content_range.split("-")[0]) != len(upload.data):
                return _error(416, "RANGE_INVALID", "invalid content range")
            upload.data += body
            return httpx.Response(202, headers={**location, "Range": f"0-{len(upload.data) - 1}"})
        if method == "PUT":
            upload.data += body
            digest = request.url.params["digest"]
            if sha(bytes(upload.data)) != digest:
                return _error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            self.add_blob(repo, bytes(upload.data))
            del self.uploads[upload_id]
            return httpx.Response(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{repo}/b"})
        return httpx.Response(405)


# -- images ------------------------------------------------------------------------------------------------------


@dataclass
class ImageFixture:
    config: bytes
    layers: list[bytes]  # gzip blobs
    diff_ids: list[str]
    manifest: bytes
    media_type: str = DOCKER_MANIFEST

    @property
    def id(self) -> str:
        return sha(self.config)

    @property
    def digest(self) -> str:
        return sha(self.manifest)


def gzip_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip layer blob with ``files`` and its diff ID."""
    tar = make_tar([(name, "file", data) for name, data in files.items()])
    return gzip.compress(tar, compresslevel=1, mtime=0), sha(tar)


def make_image(
    layers: list[dict[str, bytes]] | list[tuple[bytes, str]],
    *,
    arch: str = "amd64",
    oci: bool = False,
    diff_ids: list[str] | None = None,
    cmd: str = "sh",
) -> ImageFixture:
    blobs: list[bytes] = []
    ids: list[str] = []
    for layer in layers:
        blob, diff_id = layer if isinstance(layer, tuple) else gzip_layer(layer)
        blobs.append(blob)
        ids.append(diff_id)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": [cmd]},
            "created": "2024-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": diff_ids if diff_ids is not None else ids},
            "history": [{"created_by": f"layer {i}"} for i in range(len(blobs))],
        },
        separators=(",", ":"),
    ).encode()
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    layer_type = "application/vnd.oci.image.layer.v1.tar+gzip" if oci else DOCKER_LAYER
    config_type = "application/vnd.oci.image.config.v1+json" if oci else DOCKER_CONFIG
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "size": len(config), "digest": sha(config)},
            "layers": [{"mediaType": layer_type, "size": len(b), "digest": sha(b)} for b in blobs],
        },
        indent=3,
    ).encode()
    return ImageFixture(config, blobs, ids, manifest, media_type)


def publish(registry: FakeRegistry, repo: str, image: ImageFixture, tag: str | None = "latest") -> str:
    registry.add_blob(repo, image.config)
    for blob in image.layers:
        registry.add_blob(repo, blob)
    return registry.add_manifest(repo, image.manifest, image.media_type, tag)


def publish_index(
    registry: FakeRegistry, repo: str, images: dict[str, ImageFixture], tag: str, *, attestation: bool = True
) -> str:
    """An OCI index over ``{"linux/amd64": image, ...}``, with an attestation manifest (unknown/unknown) first."""
    entries = []
    if attestation:
        att = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": registry.add_manifest(repo, att, OCI_MANIFEST),
                "size": len(att),
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            }
        )
    for platform, image in images.items():
        os_, arch = platform.split("/")[:2]
        digest = publish(registry, repo, image, None)
        entries.append(
            {
                "mediaType": image.media_type,
                "digest": digest,
                "size": len(image.manifest),
                "platform": {"architecture": arch, "os": os_},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    return registry.add_manifest(repo, index, OCI_INDEX, tag)
