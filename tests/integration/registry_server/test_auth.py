"""Authentication and authorization: Basic challenges with htpasswd (bcrypt), anonymous policy, read-only, and the
registry's own token service (Bearer flow)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from dockyard.registry.server import RegistryThread
from tests.integration.registry_server.conftest import CREDS
from tests.integration.registry_server.support import (
    PASSWORD,
    USER,
    blob_files,
    client,
    errors,
    push_image,
    server_thread,
    sha,
    unique,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_anonymous_requests_get_a_basic_challenge(auth_registry: RegistryThread) -> None:
    with client(auth_registry.url) as c:
        r = c.get("/v2/")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="test-realm"'
        assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert r.json()["errors"][0]["message"] == "authentication required"
        repo = unique()
        r = c.get(f"/v2/{repo}/manifests/latest")
        assert r.status_code == 401 and r.json()["errors"][0]["detail"] == [
            {"Type": "repository", "Name": repo, "Action": "pull"}
        ]


def test_unauthenticated_and_wrong_password_push_refused(auth_registry: RegistryThread, storage: Path) -> None:
    data = os.urandom(1000)
    before = blob_files(storage)
    for creds in (None, (USER, "wrong"), ("mallory", PASSWORD), ("", "")):
        with client(auth_registry.url, auth=creds) as c:
            r = c.post(f"/v2/{unique()}/blobs/uploads/", params={"digest": sha(data)}, content=data)
            assert r.status_code == 401, creds
            assert errors(r) == ["UNAUTHORIZED"] and r.headers["WWW-Authenticate"].startswith("Basic ")
            assert c.post(f"/v2/{unique()}/blobs/uploads/").status_code == 401
            assert c.put(f"/v2/{unique()}/manifests/x", content=b"{}").status_code == 401
    with client(auth_registry.url, auth=(USER, "wrong")) as c:
        assert c.get("/v2/").status_code == 401
    assert blob_files(storage) == before
    assert list((storage / "uploads").iterdir()) == []


def test_valid_user_can_push_and_pull(auth_registry: RegistryThread) -> None:
    repo = unique()
    with client(auth_registry.url, auth=CREDS) as c:
        assert c.get("/v2/").status_code == 200
        digest = push_image(c, repo, "v1", [b"layer"])
        assert c.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
        assert c.get("/v2/_catalog").status_code == 200
    with client(auth_registry.url) as c:
        assert c.get(f"/v2/{repo}/manifests/v1").status_code == 401  # no anonymous pulls by default


def test_htpasswd_is_reloaded_when_it_changes(auth_registry: RegistryThread, htpasswd: Path) -> None:
    from tests.integration.registry_server.support import make_htpasswd

    with client(auth_registry.url, auth=("bob", "pw-bob")) as c:
        assert c.get("/v2/").status_code == 401
        make_htpasswd(htpasswd, {USER: PASSWORD, "bob": "pw-bob"})
        os.utime(htpasswd, (1, 1))  # a different mtime even within the same second
        assert c.get("/v2/").status_code == 200


def test_anonymous_pull_when_configured(storage: Path, htpasswd: Path) -> None:
    with server_thread(storage, htpasswd=htpasswd, allow_anonymous_pull=True) as registry:
        repo = unique()
        with client(registry.url, auth=CREDS) as c:
            digest = push_image(c, repo, "v1", [b"public layer"])
        with client(registry.url) as anon:
            assert anon.get("/v2/").status_code == 401  # still challenged, so clients learn how to log in
            assert anon.get(f"/v2/{repo}/manifests/v1").status_code == 200
            assert anon.get(f"/v2/{repo}/blobs/{sha(b'public layer')}").content == b"public layer"
            assert anon.get(f"/v2/{repo}/tags/list").json()["tags"] == ["v1"]
            r = anon.post(f"/v2/{repo}/blobs/uploads/")
            assert r.status_code == 401 and errors(r) == ["UNAUTHORIZED"]
            assert anon.delete(f"/v2/{repo}/manifests/{digest}").status_code == 401


def test_without_htpasswd_pull_is_open_and_push_denied(storage: Path) -> None:
    with server_thread(storage) as registry, client(registry.url) as c:
        assert c.get("/v2/").status_code == 200
        r = c.post(f"/v2/{unique()}/blobs/uploads/")
        assert r.status_code == 403 and errors(r) == ["DENIED"]
        assert c.get(f"/v2/{unique()}/tags/list").status_code == 404  # pulls are allowed (and find nothing)
    with server_thread(storage) as registry, client(registry.url, auth=("someone", "x")) as c:
        assert c.post(f"/v2/{unique()}/blobs/uploads/").status_code == 403  # credentials cannot help here


def test_read_only(storage: Path) -> None:
    repo = unique()
    with server_thread(storage, allow_anonymous_push=True) as registry, client(registry.url) as c:
        push_image(c, repo, "v1", [b"ro"])
    with server_thread(storage, allow_anonymous_push=True, read_only=True) as registry, client(registry.url) as c:
        assert c.get(f"/v2/{repo}/manifests/v1").status_code == 200
        for r in (
            c.post(f"/v2/{repo}/blobs/uploads/"),
            c.delete(f"/v2/{repo}/manifests/v1"),
            c.put(f"/v2/{repo}/manifests/v2", content=b"{}"),
        ):
            assert r.status_code == 405 and errors(r) == ["UNSUPPORTED"]


# -- token auth ---------------------------------------------------------------------------------------------


@pytest.fixture
def token_registry(storage: Path, htpasswd: Path) -> RegistryThread:
    with server_thread(storage, htpasswd=htpasswd, token_auth=True) as registry:
        yield registry  # type: ignore[misc]


def _challenge(r: httpx.Response) -> dict[str, str]:
    scheme, _, rest = r.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict((k, v.strip('"')) for k, _, v in (p.partition("=") for p in rest.split('",')))


def test_token_flow(token_registry: RegistryThread) -> None:
    repo = unique()
    with client(token_registry.url) as c:
        r = c.get("/v2/")
        assert r.status_code == 401
        ch = _challenge(r)
        assert ch["realm"] == f"{token_registry.url}/token" and ch["service"] == "dockyard-registry"
        r = c.post(f"/v2/{repo}/blobs/uploads/")
        assert _challenge(r)["scope"] == f"repository:{repo}:push"
        scope = f"repository:{repo}:pull,push"
        # Wrong password: refused by the token service.
        assert c.get("/token", params={"scope": scope}, auth=(USER, "nope")).status_code == 401
        # Anonymous: a token without push (this registry has no anonymous access at all).
        anon = c.get("/token", params={"service": ch["service"], "scope": scope}).json()["token"]
        r = c.post(f"/v2/{repo}/blobs/uploads/", headers={"Authorization": f"Bearer {anon}"})
        assert r.status_code == 401 and _challenge(r)["error"] == "insufficient_scope"
        body = c.get("/token", params={"scope": scope, "offline_token": "true"}, auth=CREDS).json()
        assert body["expires_in"] == 300 and body["refresh_token"]
        bearer = {"Authorization": f"Bearer {body['token']}"}
        c.headers.update(bearer)
        digest = push_image(c, repo, "v1", [b"token layer"])
        assert c.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
        r = c.get(f"/v2/{unique()}/tags/list")  # the token is for one repository only
        assert r.status_code == 401 and _challenge(r)["error"] == "insufficient_scope"
        c.headers["Authorization"] = "Bearer " + body["token"][:-4] + "AAAA"
        assert _challenge(c.get(f"/v2/{repo}/tags/list"))["error"] == "invalid_token"
        # OAuth2: refresh token and password grants.
        del c.headers["Authorization"]
        r = c.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": body["refresh_token"],
                "service": ch["service"],
                "scope": f"repository:{repo}:pull",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == f"repository:{repo}:pull"
        pulled = c.get(f"/v2/{repo}/tags/list", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert pulled.json()["tags"] == ["v1"]
        r = c.post("/token", data={"grant_type": "password", "username": USER, "password": "bad", "scope": scope})
        assert r.status_code == 401
        assert c.post("/token", data={"grant_type": "refresh_token", "refresh_token": anon}).status_code == 401


def test_dockyard_client_against_the_token_registry(token_registry: RegistryThread) -> None:
    from dockyard.oci.digest import Digest
    from dockyard.registry.auth import AuthConfig
    from dockyard.registry.client import RegistryClient

    repo = unique()
    data = os.urandom(300_000)
    creds = AuthConfig(username=USER, password=PASSWORD)
    with RegistryClient(token_registry.host, repo, credentials=creds, push=True) as c:
        result = c.upload_blob(Digest.of(data), data, chunk_size=100_000)
        assert result.size == len(data)
        assert c.stat_blob(Digest.of(data)) == len(data)
    with RegistryClient(token_registry.host, repo, credentials=AuthConfig(username=USER, password="wrong")) as c:
        from dockyard.errors import Unauthorized

        with pytest.raises(Unauthorized):
            c.stat_blob(Digest.of(data))
    with client(token_registry.url) as plain:
        assert plain.get(f"/v2/{repo}/blobs/{sha(data)}").status_code == 401
