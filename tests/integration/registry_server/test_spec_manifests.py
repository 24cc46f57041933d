"""Manifests, tags, catalog and referrers against the spec with plain httpx."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.integration.registry_server.support import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    errors,
    image,
    push_blob,
    push_image,
    sha,
    unique,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ALL_TYPES = ",".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_push_and_pull_a_manifest_by_tag_and_digest(http: httpx.Client, media_type: str) -> None:
    repo = unique()
    layers = [os.urandom(1000), os.urandom(2000)]
    _, manifest = image(layers, media_type=media_type)
    digest = push_image(http, repo, "v1", layers, media_type)
    assert digest == sha(manifest)
    for reference in ("v1", digest):
        r = http.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": ALL_TYPES})
        assert r.status_code == 200 and r.content == manifest
        assert r.headers["Content-Type"] == media_type
        assert r.headers["Docker-Content-Digest"] == digest
        h = http.head(f"/v2/{repo}/manifests/{reference}", headers={"Accept": ALL_TYPES})
        assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(manifest) and h.content == b""
    assert http.get(f"/v2/{repo}/manifests/v1").content == manifest  # no Accept: as stored
    r = http.get(f"/v2/{repo}/manifests/v1", headers={"If-None-Match": f'"{digest}"'})
    assert r.status_code == 304


def test_put_returns_location_and_digest(http: httpx.Client) -> None:
    repo = unique()
    layers = [b"layer"]
    config, manifest = image(layers)
    for blob in (config, *layers):
        push_blob(http, repo, blob)
    r = http.put(f"/v2/{repo}/manifests/{sha(manifest)}", content=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/{repo}/manifests/{sha(manifest)}"
    assert r.headers["Docker-Content-Digest"] == sha(manifest)
    assert http.get(f"/v2/{repo}/tags/list").json() == {"name": repo, "tags": []}


def test_manifest_referencing_missing_blobs_is_refused(http: httpx.Client) -> None:
    repo = unique()
    layers = [os.urandom(100), os.urandom(100)]
    config, manifest = image(layers)
    push_blob(http, repo, config)
    push_blob(http, repo, layers[0])
    r = http.put(f"/v2/{repo}/manifests/v1", content=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400
    body = r.json()["errors"]
    assert [e["code"] for e in body] == ["MANIFEST_BLOB_UNKNOWN"]
    assert body[0]["detail"] == {"digest": sha(layers[1])} and body[0]["message"] == "blob unknown to registry"
    # A blob pushed to another repository does not count.
    push_blob(http, unique(), layers[1])
    r = http.put(f"/v2/{repo}/manifests/v1", content=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert errors(r) == ["MANIFEST_BLOB_UNKNOWN"]
    assert http.get(f"/v2/{repo}/manifests/v1").status_code == 404


def test_index_needs_its_child_manifests(http: httpx.Client) -> None:
    repo = unique()
    child = push_image(http, repo, "amd64", [b"amd64 layer"])
    size = len(http.get(f"/v2/{repo}/manifests/{child}").content)
    missing = sha(b"no such manifest")
    entries = [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": size, "platform": {"os": "linux", "architecture": "amd64"}}
    ]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    bad = {**index, "manifests": [*entries, {"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]}
    r = http.put(f"/v2/{repo}/manifests/multi", content=json.dumps(bad), headers={"Content-Type": OCI_INDEX})
    assert errors(r) == ["MANIFEST_BLOB_UNKNOWN"] and r.json()["errors"][0]["detail"] == {"digest": missing}
    body = json.dumps(index).encode()
    r = http.put(f"/v2/{repo}/manifests/multi", content=body, headers={"Content-Type": OCI_INDEX})
    assert r.status_code == 201
    assert http.get(f"/v2/{repo}/manifests/multi", headers={"Accept": ALL_TYPES}).content == body
    # Content negotiation: a client that lists manifest types but not OCI indexes (distribution's wording).
    r = http.get(f"/v2/{repo}/manifests/multi", headers={"Accept": DOCKER_MANIFEST})
    assert r.status_code == 404 and errors(r) == ["MANIFEST_UNKNOWN"]
    assert r.json()["errors"][0]["message"] == "OCI index found, but accept header does not support OCI indexes"


def test_docker_manifest_list_by_tag_falls_back_to_linux_amd64(http: httpx.Client) -> None:
    repo = unique()
    child = push_image(http, repo, "child", [b"layer"], DOCKER_MANIFEST)
    child_body = http.get(f"/v2/{repo}/manifests/{child}").content
    entry = {
        "mediaType": DOCKER_MANIFEST,
        "digest": child,
        "size": len(child_body),
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    body = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [entry]})
    assert (
        http.put(f"/v2/{repo}/manifests/list", content=body, headers={"Content-Type": DOCKER_LIST}).status_code == 201
    )
    r = http.get(f"/v2/{repo}/manifests/list", headers={"Accept": DOCKER_MANIFEST})
    assert r.status_code == 200 and r.content == child_body and r.headers["Docker-Content-Digest"] == child
    r = http.get(f"/v2/{repo}/manifests/list", headers={"Accept": f"{DOCKER_MANIFEST}, {DOCKER_LIST}"})
    assert r.headers["Content-Type"] == DOCKER_LIST


def test_manifest_digest_must_match_the_url(http: httpx.Client) -> None:
    repo = unique()
    push_image(http, repo, "v1", [b"x"])
    _, manifest = image([b"x"])
    r = http.put(f"/v2/{repo}/manifests/{sha(b'other')}", content=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and errors(r) == ["DIGEST_INVALID"]


def test_invalid_manifests(http: httpx.Client) -> None:
    repo = unique()
    cases = [
        (b"not json", OCI_MANIFEST),
        (b"[]", OCI_MANIFEST),
        (json.dumps({"schemaVersion": 1, "name": "x"}).encode(), "application/json"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode(), OCI_MANIFEST),
        (json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {}}).encode(), OCI_MANIFEST),
        (json.dumps({"schemaVersion": 2, "mediaType": "application/x-unknown", "config": {}}).encode(), "text/x"),
    ]
    for body, content_type in cases:
        r = http.put(f"/v2/{repo}/manifests/t", content=body, headers={"Content-Type": content_type})
        assert r.status_code == 400 and errors(r) == ["MANIFEST_INVALID"], body
    big = b'{"schemaVersion": 2, "x": "' + b"a" * (4 << 20) + b'"}'
    r = http.put(f"/v2/{repo}/manifests/t", content=big, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 413 and errors(r) == ["MANIFEST_INVALID"]
    r = http.put(f"/v2/{repo}/manifests/bad:tag:x", content=b"{}", headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and errors(r) == ["DIGEST_INVALID"]
    r = http.get(f"/v2/{repo}/manifests/.hidden")
    assert r.status_code == 400 and errors(r) == ["TAG_INVALID"]


def test_unknown_manifest_and_repository(http: httpx.Client) -> None:
    repo = unique()
    r = http.get(f"/v2/{repo}/manifests/latest")
    assert r.status_code == 404 and errors(r) == ["MANIFEST_UNKNOWN"]
    assert r.json()["errors"][0]["message"] == "manifest unknown"
    h = http.head(f"/v2/{repo}/manifests/latest")
    assert h.status_code == 404 and h.content == b""
    r = http.get(f"/v2/{repo}/tags/list")
    assert r.status_code == 404 and errors(r) == ["NAME_UNKNOWN"]


def test_tags_list_pagination(http: httpx.Client) -> None:
    repo = unique()
    digest = push_image(http, repo, "a", [b"layer"])
    body = http.get(f"/v2/{repo}/manifests/{digest}").content
    tags = ["a", "b", "c", "d", "e"]
    for tag in tags[1:]:
        assert http.put(f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST}).is_success
    assert http.get(f"/v2/{repo}/tags/list").json() == {"name": repo, "tags": tags}
    r = http.get(f"/v2/{repo}/tags/list", params={"n": 2})
    assert r.json()["tags"] == ["a", "b"]
    assert r.headers["Link"] == f'</v2/{repo}/tags/list?last=b&n=2>; rel="next"'
    seen, url = [], f"/v2/{repo}/tags/list?n=2"
    while url:
        r = http.get(url)
        seen += r.json()["tags"]
        url = r.headers.get("Link", "").partition("<")[2].partition(">")[0]
    assert seen == tags
    r = http.get(f"/v2/{repo}/tags/list", params={"n": 2, "last": "d"})
    assert r.json()["tags"] == ["e"] and "Link" not in r.headers
    assert http.get(f"/v2/{repo}/tags/list", params={"n": 0}).json()["tags"] == []
    r = http.get(f"/v2/{repo}/tags/list", params={"n": "-1"})
    assert r.status_code == 400 and errors(r) == ["PAGINATION_NUMBER_INVALID"]


def test_catalog(http: httpx.Client) -> None:
    names = sorted(f"catalog-{os.getpid()}/r{i}" for i in range(3))
    for name in names:
        push_image(http, name, "v1", [name.encode()])
    push_blob(http, "catalog-only-blobs/x", b"blob without manifest")
    everything = http.get("/v2/_catalog").json()["repositories"]
    assert [n for n in everything if n.startswith(f"catalog-{os.getpid()}/")] == names
    assert "catalog-only-blobs/x" not in everything
    r = http.get("/v2/_catalog", params={"n": 1})
    assert len(r.json()["repositories"]) == 1 and 'rel="next"' in r.headers["Link"]


def test_delete_manifest_by_digest_and_tag(http: httpx.Client) -> None:
    repo = unique()
    digest = push_image(http, repo, "v1", [b"delete"])
    body = http.get(f"/v2/{repo}/manifests/v1").content
    assert http.put(f"/v2/{repo}/manifests/v2", content=body, headers={"Content-Type": OCI_MANIFEST}).is_success
    assert http.delete(f"/v2/{repo}/manifests/v2").status_code == 202  # a tag: only the tag goes
    assert http.get(f"/v2/{repo}/tags/list").json()["tags"] == ["v1"]
    assert http.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
    assert http.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202  # the digest: tags pointing at it too
    assert errors(http.get(f"/v2/{repo}/manifests/{digest}")) == ["MANIFEST_UNKNOWN"]
    assert errors(http.get(f"/v2/{repo}/manifests/v1")) == ["MANIFEST_UNKNOWN"]
    assert http.get(f"/v2/{repo}/tags/list").json()["tags"] == []
    assert errors(http.delete(f"/v2/{repo}/manifests/{digest}")) == ["MANIFEST_UNKNOWN"]


def test_referrers(http: httpx.Client) -> None:
    repo = unique()
    subject = push_image(http, repo, "v1", [b"subject layer"])
    subject_size = len(http.get(f"/v2/{repo}/manifests/{subject}").content)
    empty = b"{}"
    push_blob(http, repo, empty)
    artifact = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(empty), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(empty), "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
        "annotations": {"org.example": "yes"},
    }
    body = json.dumps(artifact).encode()
    r = http.put(f"/v2/{repo}/manifests/{sha(body)}", content=body, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201 and r.headers["OCI-Subject"] == subject
    r = http.get(f"/v2/{repo}/referrers/{subject}")
    assert r.status_code == 200 and r.headers["Content-Type"] == OCI_INDEX
    assert r.json()["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha(body),
            "size": len(body),
            "artifactType": "application/vnd.example.sbom",
            "annotations": {"org.example": "yes"},
        }
    ]
    r = http.get(f"/v2/{repo}/referrers/{subject}", params={"artifactType": "application/other"})
    assert r.json()["manifests"] == [] and r.headers["OCI-Filters-Applied"] == "artifactType"
    assert http.delete(f"/v2/{repo}/manifests/{sha(body)}").status_code == 202
    assert http.get(f"/v2/{repo}/referrers/{subject}").json()["manifests"] == []
