"""``docker search``: the term's registry, the filters, the request and answers, the CLI's rows and table."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from dockyard.cli.commands.distribution import SEARCH_HEADERS, search_rows
from dockyard.cli.output import render_rows
from dockyard.engine.search import SearchFilters, SearchResult, parse_filters, search, split_term
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.registry.auth import AuthConfig


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("busybox", ("index.docker.io", "busybox")),
        ("library/busybox", ("index.docker.io", "library/busybox")),
        ("127.0.0.1:5000/busy", ("127.0.0.1:5000", "busy")),
        ("localhost/team/app", ("localhost", "team/app")),
        ("registry.example.com/x", ("registry.example.com", "x")),
        ("host:5000", ("index.docker.io", "host:5000")),
    ],
)
def test_split_term(term: str, expected: tuple[str, str]) -> None:
    assert split_term(term) == expected


def test_parse_filters() -> None:
    assert parse_filters([]) == SearchFilters()
    assert parse_filters(["stars=3", "is-official=true", "is-automated=false"]) == SearchFilters(3, True, False)
    assert parse_filters({"stars": ["2"]}) == SearchFilters(stars=2)
    for bad, message in [
        (["stars=x"], "Invalid filter 'stars=x'"),
        (["is-official=maybe"], "Invalid filter 'is-official=maybe'"),
        (["color=red"], "invalid filter 'color'"),
        (["stars"], "bad format of filter (expected name=value): stars"),
    ]:
        with pytest.raises(InvalidArgument) as info:
            parse_filters(bad)
        assert info.value.message == message


def test_filters_accept() -> None:
    official = SearchResult("a", star_count=5, is_official=True)
    plain = SearchResult("b", star_count=1, is_automated=True)
    assert [r.name for r in (official, plain) if SearchFilters(stars=2).accept(r)] == ["a"]
    assert [r.name for r in (official, plain) if SearchFilters(is_official=False).accept(r)] == ["b"]
    assert [r.name for r in (official, plain) if SearchFilters(is_automated=True).accept(r)] == ["b"]


def _registry(seen: list[httpx.Request], *, password: str | None = None) -> httpx.MockTransport:
    results = [
        {"name": "team/app", "description": "d", "star_count": 4, "is_official": False, "is_automated": True},
        {"name": "app", "description": "", "star_count": 0, "is_official": True, "is_automated": False},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if password is not None:
            expected = httpx.BasicAuth("alice", password)._auth_header
            if request.headers.get("authorization") != expected:
                body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
                return httpx.Response(401, json=body, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(200, json={"num_results": 2, "query": request.url.params["q"], "results": results})

    return httpx.MockTransport(handler)


def test_search_request_and_results() -> None:
    seen: list[httpx.Request] = []
    results = search("127.0.0.1:5000/app", 10, transport=_registry(seen))
    assert [r.name for r in results] == ["team/app", "app"]
    assert results[0] == SearchResult("team/app", "d", 4, False, True)
    assert str(seen[0].url) == "https://127.0.0.1:5000/v1/search?q=app&n=10"
    assert [r.name for r in search("127.0.0.1:5000/app", 1, transport=_registry(seen))] == ["team/app"]
    filtered = search("127.0.0.1:5000/app", filters=SearchFilters(is_official=True), transport=_registry(seen))
    assert [r.name for r in filtered] == ["app"]
    seen.clear()
    search("busybox", transport=_registry(seen))
    assert str(seen[0].url) == "https://index.docker.io/v1/search?q=busybox&n=25"


def test_search_sends_stored_credentials_and_reports_401() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(DockyardError) as info:
        search("127.0.0.1:5000/app", transport=_registry(seen, password="pw"))
    assert info.value.message == "unauthorized: authentication required"
    asked: list[str] = []

    def creds(host: str) -> AuthConfig:
        asked.append(host)
        return AuthConfig(username="alice", password="pw", server_address=host)

    results = search("127.0.0.1:5000/app", credentials_for=creds, transport=_registry(seen, password="pw"))
    assert asked == ["127.0.0.1:5000"] and len(results) == 2


def test_search_limit_range() -> None:
    for limit in (0, 101):
        with pytest.raises(InvalidArgument) as info:
            search("x", limit)
        assert info.value.message == f"limit {limit} is outside the range of [1, 100]"


def test_search_unreachable_is_worded_like_go() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(DockyardError) as info:
        search("busybox", transport=httpx.MockTransport(handler))
    assert info.value.message == (
        'Get "https://index.docker.io/v1/search?q=busybox&n=25": dial tcp: lookup index.docker.io: no such host'
    )


def test_rows_truncate_descriptions_and_mark_flags() -> None:
    long = "A very long description that goes well beyond forty-five characters"
    results = [SearchResult("app", long, 12, True, False), SearchResult("b", "line\none", 0, False, True)]
    rows = search_rows(results)
    assert rows[0] == {
        "Name": "app",
        "Description": long[:44] + "…",
        "StarCount": "12",
        "IsOfficial": "[OK]",
        "IsAutomated": "",
    }
    assert rows[1]["Description"] == "line one" and rows[1]["IsAutomated"] == "[OK]"
    assert search_rows(results, trunc=False)[0]["Description"] == long


def test_default_table_and_format() -> None:
    rows = search_rows([SearchResult("app", "web app", 3, True, False)])
    out = io.StringIO()
    render_rows(None, rows, SEARCH_HEADERS, out=out)
    assert out.getvalue().splitlines() == [
        "NAME      DESCRIPTION   STARS     OFFICIAL   AUTOMATED",
        "app       web app       3         [OK]",
    ]
    out = io.StringIO()
    render_rows("{{.Name}}: {{.StarCount}}", rows, SEARCH_HEADERS, out=out)
    assert out.getvalue() == "app: 3\n"
    out = io.StringIO()
    render_rows("{{json .}}", rows, SEARCH_HEADERS, out=out)
    assert json.loads(out.getvalue())["IsOfficial"] == "[OK]"
