"""``docker search``: ``GET /v1/search`` on the registry the term names (Docker Hub's index by default).

``127.0.0.1:5000/busy`` asks ``127.0.0.1:5000`` for ``busy``; ``busy`` asks ``index.docker.io`` (unreachable
here, reported as the transport's error). Stored ``login`` credentials for that registry are sent when it asks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    import httpx

    from dockyard.registry.auth import AuthConfig

__all__ = ["INDEX_HOST", "SearchFilters", "SearchResult", "parse_filters", "search", "split_term"]

INDEX_HOST = "index.docker.io"


@dataclass(frozen=True)
class SearchResult:
    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "star_count": self.star_count,
            "is_official": self.is_official,
            "is_automated": self.is_automated,
        }


@dataclass(frozen=True)
class SearchFilters:
    stars: int = 0
    is_official: bool | None = None
    is_automated: bool | None = None

    def accept(self, r: SearchResult) -> bool:
        if r.star_count < self.stars:
            return False
        if self.is_official is not None and r.is_official != self.is_official:
            return False
        return self.is_automated is None or r.is_automated == self.is_automated


def _bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise InvalidArgument(f"Invalid filter '{key}={value}'")


def parse_filters(items: Sequence[str] | dict[str, Sequence[str]] | None) -> SearchFilters:
    """``["stars=3", "is-official=true"]`` (the CLI) or ``{"stars": ["3"]}`` (the API's ``filters``)."""
    pairs: list[tuple[str, str]] = []
    if isinstance(items, dict):
        for key, values in items.items():
            vals = values if isinstance(values, list) else list(values)
            pairs.extend((key, str(v)) for v in vals)
    else:
        for item in items or ():
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            pairs.append((key.strip().lower(), value.strip()))
    stars, official, automated = 0, None, None
    for key, value in pairs:
        if key == "stars":
            try:
                stars = max(stars, int(value))
            except ValueError:
                raise InvalidArgument(f"Invalid filter 'stars={value}'") from None
        elif key == "is-official":
            official = _bool(key, value)
        elif key == "is-automated":
            automated = _bool(key, value)
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return SearchFilters(stars, official, automated)


def split_term(term: str) -> tuple[str, str]:
    """``(registry host, query)``: Docker's ``splitReposSearchTerm``."""
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return INDEX_HOST, term


def _result(entry: object) -> SearchResult | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    stars = entry.get("star_count", 0)
    return SearchResult(
        name=entry["name"],
        description=str(entry.get("description") or ""),
        star_count=stars if isinstance(stars, int) else 0,
        is_official=bool(entry.get("is_official")),
        is_automated=bool(entry.get("is_automated")),
    )


def search(
    term: str,
    limit: int = 25,
    filters: SearchFilters | None = None,
    *,
    credentials_for: Callable[[str], AuthConfig] | None = None,
    insecure_registries: Sequence[str] = (),
    certs_dir: Path | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[SearchResult]:
    """The results of ``GET /v1/search?q=<query>&n=<limit>`` on the term's registry, filtered."""
    import httpx

    from dockyard.registry.endpoints import DEFAULT_CERTS_DIR, Endpoint, lookup_endpoints
    from dockyard.registry.tokens import RegistryAuth
    from dockyard.registry.transport import RetryPolicy, check_response, open_client, transport_error

    if limit < 1 or limit > 100:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    filters = filters or SearchFilters()
    host, query = split_term(term)
    if host == INDEX_HOST:
        endpoints = [Endpoint("https", INDEX_HOST, official=True)]
    else:
        endpoints = lookup_endpoints(host, insecure_registries=insecure_registries, include_mirrors=False)
    creds = credentials_for(host) if credentials_for is not None else None
    last: DockyardError | None = None
    for endpoint in endpoints:
        client = open_client(
            endpoint,
            RegistryAuth(creds) if creds is not None and not creds.empty else None,
            certs_dir=certs_dir or DEFAULT_CERTS_DIR,
            retry=RetryPolicy(attempts=1),
            transport=transport,
        )
        try:
            request = client.build_request("GET", endpoint.url("/v1/search"), params={"q": query, "n": str(limit)})
            try:
                response = client.send(request)
            except httpx.HTTPError as exc:
                last = transport_error(exc, request)
                continue
            try:
                response.read()
                check_response(response)
                try:
                    body = response.json()
                except ValueError:
                    raise DockyardError(f"error decoding search results from {request.url}") from None
            finally:
                response.close()
        finally:
            client.close()
        entries = body.get("results") if isinstance(body, dict) else None
        results = [r for r in map(_result, entries or []) if r is not None]
        return [r for r in results if filters.accept(r)][:limit]
    assert last is not None
    raise last
