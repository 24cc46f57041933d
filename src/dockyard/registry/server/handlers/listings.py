"""``GET /v2/``, ``/v2/<name>/tags/list``, ``/v2/_catalog`` (``n``/``last`` pagination, ``Link``), referrers."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from aiohttp import web

from dockyard.oci.mediatypes import MediaType
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers.common import repository, state
from dockyard.registry.server.names import parse_digest

__all__ = ["base", "catalog", "paginate", "referrers", "search", "tags_list"]

MAX_CATALOG_ENTRIES = 1000  # distribution's default for the catalog


def _json(body: object, headers: dict[str, str] | None = None, content_type: str = "application/json") -> web.Response:
    response = web.Response(body=json.dumps(body).encode(), headers=headers or {})
    response.content_type = content_type
    return response


def paginate(items: list[str], n: str | None, last: str | None, cap: int | None = None) -> tuple[list[str], bool]:
    """The page after ``last`` with at most ``n`` entries (all when ``n`` is absent), and whether more follow."""
    if last:
        items = [i for i in items if i > last]
    if n is None or n == "":
        limit = cap if cap is not None else len(items)
    else:
        try:
            limit = int(n)
        except ValueError:
            raise SpecError(ErrorCode.PAGINATION_NUMBER_INVALID, detail={"n": n}) from None
        if limit < 0:
            raise SpecError(ErrorCode.PAGINATION_NUMBER_INVALID, detail={"n": n})
        if cap is not None:
            limit = min(limit, cap)
    return items[:limit], len(items) > limit


def _link(path: str, n: str | None, page: list[str]) -> dict[str, str]:
    query = {"last": page[-1]}
    if n:
        query["n"] = n
    return {"Link": f'<{path}?{urlencode(query)}>; rel="next"'}


async def base(request: web.Request) -> web.Response:
    return _json({})


async def tags_list(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    tags = await asyncio.to_thread(st.storage.tag_names, name)
    if tags is None:
        raise SpecError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    n, last = request.query.get("n"), request.query.get("last")
    page, more = paginate(tags, n, last)
    headers = _link(f"/v2/{name}/tags/list", n, page) if more and page else {}
    return _json({"name": name, "tags": page}, headers)


async def catalog(request: web.Request) -> web.Response:
    st = state(request)
    repositories = await asyncio.to_thread(st.storage.repositories)
    n, last = request.query.get("n"), request.query.get("last")
    page, more = paginate(repositories, n, last, MAX_CATALOG_ENTRIES)
    headers = _link("/v2/_catalog", n, page) if more and page else {}
    return _json({"repositories": page}, headers)


async def referrers(request: web.Request) -> web.Response:
    st = state(request)
    name = repository(request)
    subject = parse_digest(request.match_info["digest"])
    entries = await asyncio.to_thread(st.storage.referrers, name, subject)
    manifests = [json.loads(e) for e in entries]
    headers = {}
    wanted = request.query.get("artifactType")
    if wanted:
        manifests = [m for m in manifests if m.get("artifactType") == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": manifests}
    return _json(body, headers, content_type=MediaType.OCI_INDEX)


async def search(request: web.Request) -> web.Response:
    """Docker's v1 ``GET /v1/search?q=&n=&page=``: the repositories whose name contains ``q`` (any case)."""
    st = state(request)
    repositories = await asyncio.to_thread(st.storage.repositories)
    query = request.query.get("q", "")
    try:
        size = int(request.query.get("n") or 25)
        page = int(request.query.get("page") or 1)
    except ValueError:
        raise SpecError(ErrorCode.PAGINATION_NUMBER_INVALID, detail=dict(request.query)) from None
    size = min(max(size, 1), 100)
    page = max(page, 1)
    matches = [r for r in repositories if query.lower() in r.lower()]
    chosen = matches[(page - 1) * size : page * size]
    results = [
        {"name": r, "description": "", "star_count": 0, "is_official": False, "is_automated": False} for r in chosen
    ]
    body = {
        "num_pages": max(1, -(-len(matches) // size)),
        "num_results": len(matches),
        "page": page,
        "page_size": size,
        "query": query,
        "results": results,
    }
    return _json(body)
