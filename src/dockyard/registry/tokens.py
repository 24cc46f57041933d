"""Registry authentication as an ``httpx.Auth`` flow: Basic, and Bearer tokens from a token service.

The flow follows Docker (distribution's ``registry/client/auth``) and the distribution token spec:

* Challenges are remembered per origin (``scheme://host``). Once known, requests are authorized up front, so a
  streamed upload never has to be replayed after a 401.
* ``Basic``: the user name and password. Without them the request fails with ``no basic auth credentials``.
* ``Bearer``: a token for the request's scope (``repository:<name>:pull`` or ``pull,push``, plus
  ``repository:<from>:pull`` for a cross-repository mount, ``registry:catalog:*`` for the catalog). Tokens are
  fetched with ``GET <realm>?service=&scope=&account=`` and Basic credentials, or — with an identity (refresh)
  token — ``POST <realm>`` with ``grant_type=refresh_token`` (falling back to GET when the server has no OAuth2
  endpoint). Login asks for ``offline_token=true`` so the server may hand out a refresh token, which becomes the
  identity token Docker stores instead of the password. Tokens are cached per scope until they expire; a cached
  token for ``pull,push`` also serves ``pull``.
* A token service that refuses reports as Docker does: ``Get "https://host/v2/": unauthorized: ...``.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import httpx

from dockyard.registry.auth import AuthConfig
from dockyard.registry.challenge import Challenge, parse_challenges
from dockyard.registry.errors import (
    RegistryError,
    RegistryUnauthorized,
    error_from_response,
    url_error,
)

__all__ = ["MIN_TOKEN_LIFETIME", "REPOSITORY_EXTENSION", "RegistryAuth", "Token", "request_scopes"]

log = logging.getLogger(__name__)

MIN_TOKEN_LIFETIME = 60  # seconds; distribution assumes at least this much
DEFAULT_CLIENT_ID = "dockyard"
_REPO_PATH = re.compile(r"^(?P<name>.+?)/(?:manifests|blobs|tags|referrers)(?:/|$)")
_MAX_TOKEN_BODY = 1 << 20
#: Request extension naming the repository a request is for (its path may be ambiguous).
REPOSITORY_EXTENSION = "dockyard.repository"

Flow = Generator[httpx.Request, httpx.Response, None]


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float
    scopes: frozenset[str]


def _parse_scope(scope: str) -> tuple[str, frozenset[str]]:
    resource, _, actions = scope.rpartition(":")
    return resource, frozenset(a for a in actions.split(",") if a)


def _covers(have: frozenset[str], need: Iterable[str]) -> bool:
    granted: dict[str, set[str]] = {}
    for scope in have:
        resource, actions = _parse_scope(scope)
        granted.setdefault(resource, set()).update(actions)
    for scope in need:
        resource, actions = _parse_scope(scope)
        got = granted.get(resource)
        if got is None or not (actions <= got or "*" in got):
            return False
    return True


def request_scopes(request: httpx.Request, push: bool = False) -> list[str]:
    """The token scopes a registry request needs, from its path, method and ``from=`` mount parameter."""
    path = request.url.path
    idx = path.find("/v2/")
    if idx < 0:
        return []
    rest = path[idx + 4 :]
    if not rest:
        return []
    if rest.startswith("_catalog"):
        return ["registry:catalog:*"]
    name = request.extensions.get(REPOSITORY_EXTENSION)
    if not isinstance(name, str) or not rest.startswith(name + "/"):
        m = _REPO_PATH.match(rest)
        if not m:
            return []
        name = m.group("name")
    actions = ["pull"]
    if push or request.method not in ("GET", "HEAD"):
        actions.append("push")
    if request.method == "DELETE":
        actions.append("delete")
    scopes = [f"repository:{name}:{','.join(actions)}"]
    source = request.url.params.get("from")
    if source:
        scopes.append(f"repository:{source}:pull")
    return scopes


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def _basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


class RegistryAuth(httpx.Auth):
    """Authorization for one registry and one set of credentials; share it between clients of that registry."""

    def __init__(
        self,
        credentials: AuthConfig | None = None,
        *,
        push: bool = False,
        offline_token: bool = False,
        client_id: str = DEFAULT_CLIENT_ID,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials or AuthConfig()
        self.push = push
        self.offline_token = offline_token
        self.client_id = client_id
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, list[Challenge]] = {}
        self._tokens: list[tuple[str, Token]] = []
        self._refresh_token = self.credentials.identity_token

    # -- state shared with the client ------------------------------------------------------------------------

    @property
    def refresh_token(self) -> str:
        """The identity token: the one configured, or one a token service handed out (login)."""
        return self._refresh_token

    def add_challenges(self, url: httpx.URL, response: httpx.Response) -> list[Challenge]:
        """Record the challenges of an unauthenticated ``/v2/`` ping (an empty list means: no auth needed)."""
        challenges = (
            parse_challenges(response.headers.get_list("www-authenticate")) if response.status_code == 401 else []
        )
        with self._lock:
            self._challenges[_origin(url)] = challenges
        return challenges

    def challenges(self, url: httpx.URL) -> list[Challenge] | None:
        with self._lock:
            return self._challenges.get(_origin(url))

    # -- the flow --------------------------------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Flow:
        if "authorization" in request.headers:
            yield request
            return
        challenges = self.challenges(request.url)
        if challenges:
            yield from self._authorize(request, challenges, fresh=False)
        response = yield request
        if response.status_code != 401:
            return
        new = parse_challenges(response.headers.get_list("www-authenticate"))
        if not new or not _replayable(request):
            return
        with self._lock:
            self._challenges[_origin(request.url)] = new
        if challenges and "authorization" not in request.headers:
            return  # we had nothing to offer last time either
        if challenges and not any(c.scheme == "bearer" for c in new):
            return  # the same Basic credentials would only be refused again
        request.headers.pop("authorization", None)
        yield from self._authorize(request, new, fresh=bool(challenges))
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        raise NotImplementedError("RegistryAuth is synchronous; run the registry client in a thread")
        yield request  # pragma: no cover

    def _authorize(self, request: httpx.Request, challenges: list[Challenge], *, fresh: bool) -> Flow:
        creds = self.credentials
        for challenge in challenges:
            if challenge.scheme == "bearer":
                if creds.registry_token:
                    request.headers["Authorization"] = f"Bearer {creds.registry_token}"
                    return
                scopes = request_scopes(request, self.push)
                extra = challenge.scope
                if fresh and extra:
                    scopes.extend(s for s in extra.split(" ") if s and s not in scopes)
                token = None if fresh else self._cached(challenge, scopes)
                if token is None:
                    token = yield from self._fetch_token(request, challenge, scopes)
                request.headers["Authorization"] = f"Bearer {token.value}"
                return
        for challenge in challenges:
            if challenge.scheme == "basic":
                if creds.username and creds.password:
                    request.headers["Authorization"] = _basic_header(creds.username, creds.password)
                    return
                raise RegistryUnauthorized(url_error(request.method, str(request.url), "no basic auth credentials"))
        log.debug("no supported authentication scheme in %s", [c.scheme for c in challenges])

    def _key(self, challenge: Challenge) -> str:
        return f"{challenge.realm} {challenge.service}"

    def _cached(self, challenge: Challenge, scopes: list[str]) -> Token | None:
        key = self._key(challenge)
        now = self._clock()
        with self._lock:
            self._tokens = [(k, t) for k, t in self._tokens if t.expires_at > now]
            for k, token in self._tokens:
                if k == key and _covers(token.scopes, scopes):
                    return token
        return None

    def _fetch_token(
        self, request: httpx.Request, challenge: Challenge, scopes: list[str]
    ) -> Generator[httpx.Request, httpx.Response, Token]:
        realm = challenge.realm
        if not realm:
            raise RegistryUnauthorized(
                url_error(request.method, str(request.url), "no realm specified for token auth challenge")
            )
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL as exc:
            raise RegistryUnauthorized(
                url_error(request.method, str(request.url), f"invalid token auth challenge realm: {exc}")
            ) from exc
        creds = self.credentials
        refresh = self._refresh_token
        response: httpx.Response | None = None
        if refresh:
            form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": self.client_id}
            if challenge.service:
                form["service"] = challenge.service
            if scopes:
                form["scope"] = " ".join(scopes)
            if self.offline_token:
                form["access_type"] = "offline"
            token_request = httpx.Request(
                "POST",
                realm_url,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                extensions=request.extensions,
            )
            response = yield token_request
            if response.status_code in (404, 405):
                response = None  # no OAuth2 endpoint: fall back to GET
        if response is None:
            params: list[tuple[str, str | int | float | bool | None]] = []
            if challenge.service:
                params.append(("service", challenge.service))
            params.extend(("scope", s) for s in scopes)
            headers = {}
            if creds.username and creds.password:
                params.append(("account", creds.username))
                headers["Authorization"] = _basic_header(creds.username, creds.password)
            if self.offline_token:
                params.extend([("offline_token", "true"), ("client_id", self.client_id)])
            token_request = httpx.Request(
                "GET", realm_url.copy_merge_params(params), headers=headers, extensions=request.extensions
            )
            response = yield token_request
        body = response.read()[:_MAX_TOKEN_BODY]
        if not 200 <= response.status_code < 400:
            err = error_from_response(response.status_code, body, challenge_error=_bearer_error(response))
            wrapped = type(err)(url_error(request.method, str(request.url), err.message), err.hint)
            wrapped.status_code, wrapped.codes, wrapped.retry_after = err.status_code, err.codes, err.retry_after
            raise wrapped
        return self._store_token(request, challenge, scopes, body)

    def _store_token(self, request: httpx.Request, challenge: Challenge, scopes: list[str], body: bytes) -> Token:
        import json

        try:
            obj = json.loads(body)
        except ValueError as exc:
            raise RegistryError(
                url_error(request.method, str(request.url), f"unable to decode token response: {exc}")
            ) from exc
        if not isinstance(obj, dict):
            raise RegistryError(url_error(request.method, str(request.url), "unable to decode token response"))
        value = str(obj.get("access_token") or obj.get("token") or "")
        if not value:
            raise RegistryUnauthorized(
                url_error(
                    request.method, str(request.url), "authorization server did not include a token in the response"
                )
            )
        try:
            expires_in = int(obj.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0
        expires_in = max(expires_in, MIN_TOKEN_LIFETIME)
        issued = self._clock()
        issued_at = obj.get("issued_at")
        if isinstance(issued_at, str) and issued_at:
            with contextlib.suppress(ValueError):
                issued = datetime.fromisoformat(issued_at.replace("Z", "+00:00")).timestamp()
        refresh = obj.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = refresh
        token = Token(value, issued + expires_in - 5, frozenset(scopes))
        with self._lock:
            self._tokens.append((self._key(challenge), token))
        return token


def _bearer_error(response: httpx.Response) -> tuple[str, str] | None:
    for challenge in parse_challenges(response.headers.get_list("www-authenticate")):
        if challenge.scheme == "bearer" and challenge.params.get("error"):
            return challenge.params["error"], challenge.params.get("error_description", "")
    return None
