"""Docker Hub's endpoints (registry-1.docker.io, the auth.docker.io token service, the index.docker.io credentials
key) and registry mirrors, on a mock network: Docker Hub cannot be reached from here."""

from __future__ import annotations

import json

import httpx
import pytest

from dockyard.errors import NotFound
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import MediaType
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.login import registry_host_for_login, verify_login
from dockyard.registry.transport import RetryPolicy

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": MediaType.DOCKER_MANIFEST,
        "config": {"mediaType": MediaType.DOCKER_CONFIG, "digest": "sha256:" + "a" * 64, "size": 1},
        "layers": [],
    }
).encode()


class Hub:
    """registry-1.docker.io + auth.docker.io, and an optional mirror that has nothing."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = request.url
        if url.host == "mirror.example.com":
            if url.path == "/v2/":
                return httpx.Response(200)
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
        if url.host == "auth.docker.io":
            assert url.scheme == "https" and url.path == "/token"
            return httpx.Response(200, json={"token": "hub-token", "expires_in": 300})
        assert url.host == "registry-1.docker.io" and url.scheme == "https", url
        if request.headers.get("authorization") != "Bearer hub-token":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
                },
                json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            )
        if url.path == "/v2/":
            return httpx.Response(200)
        if url.path == "/v2/library/busybox/manifests/latest":
            return httpx.Response(
                200,
                content=MANIFEST,
                headers={"Content-Type": MediaType.DOCKER_MANIFEST, "Docker-Content-Digest": str(Digest.of(MANIFEST))},
            )
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})


def hub_client(hub: Hub, **kw: object) -> RegistryClient:
    return RegistryClient(
        "docker.io",
        "library/busybox",
        transport=httpx.MockTransport(hub),
        retry=RetryPolicy(1, 0, 0),
        **kw,  # type: ignore[arg-type]
    )


def test_pull_from_docker_hub_uses_registry_1_and_the_auth_service() -> None:
    hub = Hub()
    with hub_client(hub) as c:
        got = c.get_manifest("latest")
        assert got.digest == Digest.of(MANIFEST) and got.media_type == MediaType.DOCKER_MANIFEST
        assert c.display_name == "busybox"
    token = [r for r in hub.requests if r.url.host == "auth.docker.io"]
    assert len(token) == 1
    assert token[0].url.params["service"] == "registry.docker.io"
    assert token[0].url.params.get_list("scope") == ["repository:library/busybox:pull"]
    assert "authorization" not in token[0].headers  # anonymous pull


def test_hub_credentials_go_to_the_token_service() -> None:
    hub = Hub()
    with hub_client(hub, credentials=AuthConfig(username="pango", password="pw")) as c:
        c.get_manifest("latest")
    token = next(r for r in hub.requests if r.url.host == "auth.docker.io")
    assert token.url.params["account"] == "pango" and token.headers["authorization"].startswith("Basic ")


def test_mirror_without_the_image_falls_back_to_docker_hub() -> None:
    hub = Hub()
    with hub_client(hub, mirrors=["mirror.example.com"]) as c:
        assert c.endpoint.mirror
        assert c.get_manifest("latest").data == MANIFEST
        assert c.endpoint.official
    hosts = [r.url.host for r in hub.requests]
    assert hosts.index("mirror.example.com") < hosts.index("registry-1.docker.io")


def test_not_found_on_hub_names_the_familiar_reference() -> None:
    with hub_client(Hub()) as c, pytest.raises(NotFound) as info:
        c.get_manifest("nope")
    assert info.value.message == "manifest for busybox:nope not found: manifest unknown: manifest unknown"


def test_mirrors_are_not_used_for_push() -> None:
    hub = Hub()
    with hub_client(hub, mirrors=["mirror.example.com"], push=True) as c:
        assert c.endpoint.official
    assert all(r.url.host != "mirror.example.com" for r in hub.requests)


def test_login_to_docker_hub() -> None:
    assert registry_host_for_login("https://index.docker.io/v1/") == "index.docker.io"
    assert registry_host_for_login("127.0.0.1:5000") == "127.0.0.1:5000"
    assert registry_host_for_login("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    hub = Hub()
    status = verify_login(
        "https://index.docker.io/v1/", AuthConfig(username="pango", password="pw"), transport=httpx.MockTransport(hub)
    )
    assert status.status == "Login Succeeded" and status.endpoint == "https://registry-1.docker.io"
    token = next(r for r in hub.requests if r.url.host == "auth.docker.io")
    assert token.url.params["offline_token"] == "true" and token.url.params["account"] == "pango"
