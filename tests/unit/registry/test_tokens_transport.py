"""The auth flow (Basic, Bearer token exchange, caching, refresh tokens) and bounded retries, on a mock network.

The same code runs against real registries in tests/integration/registry; this covers the decisions exactly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from dockyard.registry.auth import AuthConfig
from dockyard.registry.errors import RegistryUnauthorized
from dockyard.registry.tokens import RegistryAuth, request_scopes
from dockyard.registry.transport import NO_RETRY, RetryingTransport, RetryPolicy

REALM = "http://auth.example.com/token"


def req(method: str, url: str) -> httpx.Request:
    return httpx.Request(method, url)


def test_request_scopes() -> None:
    base = "http://r/v2/"
    assert request_scopes(req("GET", base)) == []
    assert request_scopes(req("GET", base + "library/busybox/manifests/latest")) == ["repository:library/busybox:pull"]
    assert request_scopes(req("HEAD", base + "a/b/c/blobs/sha256:00")) == ["repository:a/b/c:pull"]
    assert request_scopes(req("GET", base + "x/tags/list")) == ["repository:x:pull"]
    assert request_scopes(req("POST", base + "x/blobs/uploads/")) == ["repository:x:pull,push"]
    assert request_scopes(req("PUT", base + "x/manifests/v1")) == ["repository:x:pull,push"]
    assert request_scopes(req("DELETE", base + "x/manifests/sha256:00")) == ["repository:x:pull,push,delete"]
    assert request_scopes(req("GET", base + "x/manifests/v1"), push=True) == ["repository:x:pull,push"]
    assert request_scopes(req("POST", base + "x/blobs/uploads/?mount=sha256:00&from=lib/y")) == [
        "repository:x:pull,push",
        "repository:lib/y:pull",
    ]
    assert request_scopes(req("GET", base + "_catalog")) == ["registry:catalog:*"]
    ext = httpx.Request(
        "GET", base + "odd/blobs/name/blobs/sha256:00", extensions={"dockyard.repository": "odd/blobs/name"}
    )
    assert request_scopes(ext) == ["repository:odd/blobs/name:pull"]


class FakeRegistry:
    """A registry behind a token service, as a MockTransport handler; records every request."""

    def __init__(self, *, users: dict[str, str] | None = None, scheme: str = "bearer", refresh: bool = False) -> None:
        self.users = users or {"alice": "pw"}
        self.scheme = scheme
        self.refresh = refresh
        self.requests: list[httpx.Request] = []
        self.issued: dict[str, set[str]] = {}
        self.refresh_tokens = {"refresh-1": "alice"}
        self.post_supported = True

    def _basic_user(self, request: httpx.Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == pw else ""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "auth.example.com":
            return self._token(request)
        header = request.headers.get("authorization", "")
        if self.scheme == "basic":
            if self._basic_user(request):
                return httpx.Response(200, json={})
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}, json={"errors": []})
        needed = request_scopes(request)
        granted = self.issued.get(header.removeprefix("Bearer "), set())
        if header.startswith("Bearer ") and all(s in granted for s in needed):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(
            401,
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}",service="reg"'},
            json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
        )

    def _token(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if not self.post_supported:
                return httpx.Response(404)
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
                return httpx.Response(401, json={"details": "invalid refresh token"})
            scopes = form.get("scope", "").split()
        else:
            user = self._basic_user(request)
            if user == "":
                return httpx.Response(401, json={"details": "incorrect username or password"})
            scopes = request.url.params.get_list("scope")
        token = f"tok{len(self.issued)}"
        expanded = set()
        for s in scopes:
            res, _, actions = s.rpartition(":")
            expanded |= {f"{res}:{a}" for a in actions.split(",")} | {s}
            expanded |= {f"{res}:pull"} if "pull" in actions else set()
        self.issued[token] = {*scopes, *expanded}
        body: dict[str, object] = {"token": token, "expires_in": 300}
        if self.refresh and request.url.params.get("offline_token") == "true":
            body["refresh_token"] = "refresh-new"
        return httpx.Response(200, json=body)


def client(reg: FakeRegistry, auth: RegistryAuth) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(reg), auth=auth)


def token_requests(reg: FakeRegistry) -> list[httpx.Request]:
    return [r for r in reg.requests if r.url.host == "auth.example.com"]


def test_bearer_flow_fetches_once_per_scope_and_reuses_wider_tokens() -> None:
    reg = FakeRegistry()
    auth = RegistryAuth(AuthConfig(username="alice", password="pw"))
    with client(reg, auth) as c:
        assert c.get("http://reg/v2/lib/x/manifests/latest").status_code == 200
        tok = token_requests(reg)
        assert len(tok) == 1
        assert tok[0].method == "GET"
        assert tok[0].url.params.get_list("scope") == ["repository:lib/x:pull"]
        assert tok[0].url.params["service"] == "reg"
        assert tok[0].url.params["account"] == "alice"
        assert "offline_token" not in tok[0].url.params
        # same scope again: authorized up front from the cache, no 401, no token request
        n = len(reg.requests)
        assert c.get("http://reg/v2/lib/x/blobs/sha256:00").status_code == 200
        assert len(reg.requests) == n + 1
        # a push needs a wider token...
        assert c.post("http://reg/v2/lib/x/blobs/uploads/").status_code == 200
        assert token_requests(reg)[-1].url.params.get_list("scope") == ["repository:lib/x:pull,push"]
        # ...which also serves later pulls of another path in the same repository
        n = len(token_requests(reg))
        assert c.head("http://reg/v2/lib/x/blobs/sha256:11").status_code == 200
        assert len(token_requests(reg)) == n


def test_token_expiry_refetches() -> None:
    now = [1000.0]
    reg = FakeRegistry()
    auth = RegistryAuth(AuthConfig(username="alice", password="pw"), clock=lambda: now[0])
    with client(reg, auth) as c:
        c.get("http://reg/v2/x/manifests/a")
        c.get("http://reg/v2/x/manifests/a")
        assert len(token_requests(reg)) == 1
        now[0] += 600
        c.get("http://reg/v2/x/manifests/a")
        assert len(token_requests(reg)) == 2


def test_token_refusal_reads_like_docker() -> None:
    reg = FakeRegistry()
    auth = RegistryAuth(AuthConfig(username="alice", password="wrong"))
    with client(reg, auth) as c, pytest.raises(RegistryUnauthorized) as info:
        c.get("http://reg/v2/")
    assert info.value.message == 'Get "http://reg/v2/": unauthorized: incorrect username or password'


def test_anonymous_bearer_asks_without_credentials() -> None:
    reg = FakeRegistry()
    with client(reg, RegistryAuth()) as c:
        c.get("http://reg/v2/x/manifests/a")
    tok = token_requests(reg)[0]
    assert "authorization" not in tok.headers and "account" not in tok.url.params


def test_login_asks_for_offline_token_and_keeps_the_refresh_token() -> None:
    reg = FakeRegistry(refresh=True)
    auth = RegistryAuth(AuthConfig(username="alice", password="pw"), offline_token=True, client_id="dockyard")
    with client(reg, auth) as c:
        assert c.get("http://reg/v2/").status_code == 200
    tok = token_requests(reg)[0]
    assert tok.url.params["offline_token"] == "true" and tok.url.params["client_id"] == "dockyard"
    assert auth.refresh_token == "refresh-new"


def test_identity_token_uses_oauth_post_then_falls_back_to_get() -> None:
    reg = FakeRegistry()
    auth = RegistryAuth(AuthConfig(username="alice", identity_token="refresh-1"))
    with client(reg, auth) as c:
        assert c.get("http://reg/v2/x/manifests/a").status_code == 200
    post = token_requests(reg)[0]
    assert post.method == "POST"
    form = parse_qs(post.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-1"]
    assert form["scope"] == ["repository:x:pull"] and form["service"] == ["reg"] and form["client_id"] == ["dockyard"]
    # a token service without OAuth2 (POST -> 404): GET instead
    reg2 = FakeRegistry()
    reg2.post_supported = False
    with client(reg2, RegistryAuth(AuthConfig(username="alice", password="pw", identity_token="refresh-1"))) as c:
        assert c.get("http://reg/v2/x/manifests/a").status_code == 200
    assert [r.method for r in token_requests(reg2)] == ["POST", "GET"]


def test_registry_token_is_used_as_is() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization") == "Bearer given":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})

    with httpx.Client(
        transport=httpx.MockTransport(handler), auth=RegistryAuth(AuthConfig(registry_token="given"))
    ) as c:
        assert c.get("http://reg/v2/x/manifests/a").status_code == 200
    assert seen == ["", "Bearer given"]


def test_basic_flow_and_missing_credentials() -> None:
    reg = FakeRegistry(scheme="basic")
    auth = RegistryAuth(AuthConfig(username="alice", password="pw"))
    with client(reg, auth) as c:
        assert c.get("http://reg/v2/").status_code == 200
        n = len(reg.requests)
        assert c.get("http://reg/v2/x/tags/list").status_code == 200
        assert len(reg.requests) == n + 1  # authorized up front
    bad = RegistryAuth(AuthConfig(username="alice", password="bad"))
    with client(reg, bad) as c:
        n = len(reg.requests)
        assert c.get("http://reg/v2/").status_code == 401  # unauthenticated, then with the credentials: no loop
        assert len(reg.requests) == n + 2
        assert c.get("http://reg/v2/x/tags/list").status_code == 401  # known challenge: one request only
        assert len(reg.requests) == n + 3
    with client(reg, RegistryAuth()) as c, pytest.raises(RegistryUnauthorized) as info:
        c.head("http://reg/v2/x/manifests/latest")
    assert info.value.message == 'Head "http://reg/v2/x/manifests/latest": no basic auth credentials'


# -- retries -----------------------------------------------------------------------------------------------------


def retrying(handler: Callable[[httpx.Request], httpx.Response], attempts: int = 4) -> tuple[httpx.Client, list[float]]:
    sleeps: list[float] = []
    transport = RetryingTransport(httpx.MockTransport(handler), RetryPolicy(attempts, 0.5, 2.0), sleeps.append)
    return httpx.Client(transport=transport), sleeps


def test_5xx_retried_with_backoff_then_success() -> None:
    statuses = iter([503, 502, 500, 200])
    c, sleeps = retrying(lambda r: httpx.Response(next(statuses)))
    assert c.get("http://reg/v2/").status_code == 200
    assert sleeps == [0.5, 1.0, 2.0]


def test_retries_are_bounded_and_keep_the_last_answer() -> None:
    calls = []
    c, sleeps = retrying(lambda r: calls.append(1) or httpx.Response(503), attempts=3)
    assert c.get("http://reg/v2/").status_code == 503
    assert len(calls) == 3 and sleeps == [0.5, 1.0]


def test_retry_after_is_honoured_within_bounds() -> None:
    statuses = iter([503, 200])
    c, sleeps = retrying(lambda r: httpx.Response(next(statuses), headers={"Retry-After": "1.5"}))
    c.get("http://reg/v2/")
    assert sleeps == [1.5]


def test_429_and_non_idempotent_requests_are_not_retried() -> None:
    calls = []
    c, sleeps = retrying(lambda r: calls.append(r.method) or httpx.Response(429, headers={"Retry-After": "7"}))
    assert c.get("http://reg/v2/").status_code == 429
    c2, _ = retrying(lambda r: calls.append(r.method) or httpx.Response(503))
    assert c2.post("http://reg/v2/x/blobs/uploads/").status_code == 503
    assert calls == ["GET", "POST"] and sleeps == []


def test_connection_errors_are_retried_unless_tls_or_streamed() -> None:
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) < 3:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(200)

    c, sleeps = retrying(flaky)
    assert c.get("http://reg/v2/").status_code == 200 and sleeps == [0.5, 1.0]

    def tls(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=request)

    c, sleeps = retrying(tls)
    with pytest.raises(httpx.ConnectError):
        c.get("https://reg/v2/")
    assert sleeps == []

    def always(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    c, sleeps = retrying(always)
    with pytest.raises(httpx.ConnectError):
        c.put("http://reg/v2/x/blobs/uploads/1", content=iter([b"a", b"b"]))
    assert sleeps == []  # a streamed body cannot be sent twice
    with pytest.raises(httpx.ConnectError):
        c.send(c.build_request("GET", "http://reg/v2/", extensions=dict(NO_RETRY)))
    assert sleeps == []


def test_read_errors_retried_for_idempotent_requests_only() -> None:
    calls: list[str] = []

    def reset(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ReadError("Connection reset by peer", request=request)
        return httpx.Response(200, content=json.dumps({}).encode())

    c, _sleeps = retrying(reset)
    assert c.get("http://reg/v2/").status_code == 200
    assert calls == ["GET", "GET"]
