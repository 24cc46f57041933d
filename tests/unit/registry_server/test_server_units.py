"""Pure pieces of the registry server: names, ranges, pagination, manifests, negotiation, tokens, policy, errors."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.oci.digest import Digest
from dockyard.registry.server.app import required_scope
from dockyard.registry.server.auth import Authenticator, Htpasswd, Identity, Scope
from dockyard.registry.server.config import RegistryConfig, parse_addr
from dockyard.registry.server.errors import ErrorCode, SpecError, error_body
from dockyard.registry.server.handlers.blobs import parse_range
from dockyard.registry.server.handlers.listings import paginate
from dockyard.registry.server.manifests import accepted_types, parse_manifest
from dockyard.registry.server.names import parse_reference, validate_name
from dockyard.registry.server.storage import RegistryStorage
from dockyard.registry.server.tokens import TokenSigner
from dockyard.registry.server.uploads import UploadSessions


def code(exc: pytest.ExceptionInfo[SpecError]) -> ErrorCode:
    return exc.value.code


@pytest.mark.parametrize("name", ["a", "library/busybox", "a.b_c__d-e---f/g0", "x/y/z", "a" * 255, "127.0.0.1/x"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["A", "a/", "/a", "a//b", "a_", "-a", "a..b", "a___b", "a" * 256, "a/_x", "a:b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(SpecError) as exc:
        validate_name(name)
    assert code(exc) == ErrorCode.NAME_INVALID and exc.value.status == 400


def test_references() -> None:
    assert parse_reference("v1.0_rc-1") == "v1.0_rc-1"
    digest = "sha256:" + "a" * 64
    assert parse_reference(digest) == Digest.parse(digest)
    for bad, expected in (
        (".x", ErrorCode.TAG_INVALID),
        ("t" * 129, ErrorCode.TAG_INVALID),
        ("sha256:zz", ErrorCode.DIGEST_INVALID),
        ("md5:" + "a" * 32, ErrorCode.DIGEST_INVALID),
    ):
        with pytest.raises(SpecError) as exc:
            parse_reference(bad)
        assert code(exc) == expected


def test_parse_range() -> None:
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None
    assert parse_range("items=0-1", 100) is None
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-0"):
        with pytest.raises(SpecError) as exc:
            parse_range(bad, 100)
        assert exc.value.status == 416 and exc.value.headers["Content-Range"] == "bytes */100"


def test_paginate() -> None:
    items = ["a", "b", "c", "d"]
    assert paginate(items, None, None) == (items, False)
    assert paginate(items, "2", None) == (["a", "b"], True)
    assert paginate(items, "2", "b") == (["c", "d"], False)
    assert paginate(items, "0", None) == ([], True)
    assert paginate(items, None, None, cap=3) == (["a", "b", "c"], True)
    for bad in ("x", "-1"):
        with pytest.raises(SpecError) as exc:
            paginate(items, bad, None)
        assert code(exc) == ErrorCode.PAGINATION_NUMBER_INVALID


def test_error_body_is_the_spec_form() -> None:
    err = SpecError(ErrorCode.BLOB_UNKNOWN, detail={"digest": "sha256:x"})
    assert json.loads(error_body(err)) == {
        "errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": {"digest": "sha256:x"}}]
    }
    assert err.status == 404 and ErrorCode.MANIFEST_BLOB_UNKNOWN.status == 400
    many = SpecError(ErrorCode.MANIFEST_BLOB_UNKNOWN, more=(SpecError(ErrorCode.MANIFEST_BLOB_UNKNOWN),))
    assert len(json.loads(many.body)["errors"]) == 2


def _manifest(**extra: object) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "1" * 64, "size": 1},
        "layers": [{"mediaType": "x", "digest": "sha256:" + "2" * 64, "size": 2, "urls": ["http://x"]}],
    }
    body.update(extra)
    return json.dumps(body).encode()


def test_parse_manifest() -> None:
    data = _manifest(subject={"mediaType": "m", "digest": "sha256:" + "3" * 64, "size": 3}, artifactType="a/b")
    m = parse_manifest(data, "application/vnd.oci.image.manifest.v1+json")
    assert m.digest == Digest.of(data) and m.size == len(data)
    assert [str(b.digest)[-1] for b in m.blobs] == ["1", "2"] and m.blobs[1].urls == ("http://x",)
    assert m.subject is not None and m.artifact_type == "a/b" and not m.is_index
    assert parse_manifest(data, "application/json").media_type == "application/vnd.oci.image.manifest.v1+json"
    sha512 = parse_manifest(data, "", "sha512")
    assert sha512.digest == Digest("sha512", hashlib.sha512(data).hexdigest())
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(index, "").is_index
    with pytest.raises(SpecError) as exc:
        parse_manifest(data, "application/vnd.docker.distribution.manifest.v2+json")
    assert code(exc) == ErrorCode.MANIFEST_INVALID and "does not match Content-Type" in str(exc.value.detail)


def test_accepted_types() -> None:
    assert accepted_types([]) is None
    assert accepted_types(["*/*"]) is None
    assert accepted_types(["a/b; q=0.5, c/d", "e/f"]) == {"a/b", "c/d", "e/f"}
    assert accepted_types(["a/b, */*"]) is None


def test_required_scope() -> None:
    assert required_scope("base", "GET", None) is None
    assert required_scope("catalog", "GET", None) == Scope("registry", "catalog", frozenset({"*"}))
    assert required_scope("manifest", "HEAD", "a") == Scope("repository", "a", frozenset({"pull"}))
    assert required_scope("manifest", "DELETE", "a") == Scope("repository", "a", frozenset({"delete"}))
    assert required_scope("upload", "DELETE", "a") == Scope("repository", "a", frozenset({"push"}))
    assert required_scope("uploads", "POST", "a") == Scope("repository", "a", frozenset({"push"}))


def test_parse_addr() -> None:
    assert parse_addr("127.0.0.1:5000") == ("127.0.0.1", 5000)
    assert parse_addr(":5001") == ("0.0.0.0", 5001)
    assert parse_addr("[::1]:5002") == ("::1", 5002)
    with pytest.raises(Exception, match="invalid address"):
        parse_addr("nope")


def test_tokens() -> None:
    signer = TokenSigner(b"k" * 32, "svc")
    scope = Scope("repository", "a/b", frozenset({"pull", "push"}))
    token = signer.issue("alice", (scope,), 60)
    claims = signer.verify(token)
    assert claims is not None and claims.subject == "alice" and claims.access == (scope,)
    assert signer.verify(token, refresh=True) is None
    assert TokenSigner(b"x" * 32, "svc").verify(token) is None  # another key
    assert TokenSigner(b"k" * 32, "other").verify(token) is None  # another audience
    assert signer.verify(signer.issue("alice", (), -5)) is None  # expired
    assert signer.verify("a.b.c") is None and signer.verify("garbage") is None
    header, payload, sig = token.split(".")
    assert signer.verify(f"{header}.{payload}x.{sig}") is None


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    out = subprocess.run(["htpasswd", "-Bbn", "alice", "pw"], capture_output=True, text=True, check=True).stdout
    path = tmp_path / "htpasswd"
    path.write_text(out + "md5user:$apr1$abc$def\n")
    return path


def test_htpasswd(htpasswd: Path) -> None:
    users = Htpasswd(htpasswd)
    assert users.names() == {"alice"}  # non-bcrypt entries are skipped
    assert users.check("alice", "pw") and users.check("alice", "pw")  # second time from the cache
    assert not users.check("alice", "wrong") and not users.check("bob", "pw")


def test_policy(htpasswd: Path) -> None:
    pull, push = frozenset({"pull"}), frozenset({"push"})
    scope = Scope("repository", "r", push)
    open_registry = Authenticator(RegistryConfig(storage=Path("/nonexistent")))
    assert open_registry.allowed("", pull | push) == pull
    with pytest.raises(SpecError) as exc:
        open_registry.authorize(Identity(), scope, "http://h")
    assert code(exc) == ErrorCode.DENIED and exc.value.status == 403
    anon_push = Authenticator(RegistryConfig(storage=Path("/x"), allow_anonymous_push=True))
    anon_push.authorize(Identity(), scope, "http://h")
    users = Authenticator(RegistryConfig(storage=Path("/x"), htpasswd=htpasswd, realm="r1"))
    with pytest.raises(SpecError) as exc:
        users.authorize(Identity(), Scope("repository", "r", pull), "http://h")
    assert exc.value.status == 401 and exc.value.headers["WWW-Authenticate"] == 'Basic realm="r1"'
    users.authorize(Identity("alice"), scope, "http://h")
    assert asyncio.run(users.identify(None, "http://h")) == Identity()
    assert asyncio.run(users.identify("Basic Og==", "http://h")) == Identity()  # ":" means no credentials
    assert asyncio.run(users.identify("Basic YWxpY2U6cHc=", "http://h")) == Identity("alice")
    with pytest.raises(SpecError):
        asyncio.run(users.identify("Basic YWxpY2U6eA==", "http://h"))


def test_upload_commit_checks_the_digest(tmp_path: Path) -> None:
    storage = RegistryStorage(tmp_path)
    storage.prepare()
    sessions = UploadSessions(storage)
    session = sessions.create("r")
    session.write(b"hello ")
    session.write(b"world")
    with pytest.raises(SpecError) as exc:
        sessions.commit(session, Digest.of(b"something else"))
    assert code(exc) == ErrorCode.DIGEST_INVALID
    assert list(storage.iter_blobs()) == [] and not session.directory.exists()
    session = sessions.create("r")
    session.write(b"hello world")
    # After a restart the hash is rebuilt from disk.
    fresh = UploadSessions(storage).get("r", session.uuid)
    assert fresh.hasher is None and fresh.size == 11
    assert UploadSessions(storage).commit(fresh, Digest.of(b"hello world")) == 11
    assert list(storage.iter_blobs()) == [Digest.of(b"hello world")] and storage.has_layer(
        "r", Digest.of(b"hello world")
    )
    assert storage.verified_size(Digest.of(b"hello world")) == 11


def test_upload_purge(tmp_path: Path) -> None:
    storage = RegistryStorage(tmp_path)
    storage.prepare()
    sessions = UploadSessions(storage)
    old = sessions.create("r")
    info = old.directory / "info.json"
    info.write_text(json.dumps({"repository": "r", "startedat": time.time() - 1000}))
    new = sessions.create("r")
    assert sessions.purge(500) == 1
    assert not old.directory.exists() and new.directory.exists()
