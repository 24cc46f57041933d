"""The registry as an ``aiohttp`` application: routes, and the middleware that logs, authorizes and reports errors.

Every response carries ``Docker-Distribution-API-Version: registry/2.0``. Errors are the spec's JSON body (none for
``HEAD``). With ``--read-only``, writes are refused with ``405 UNSUPPORTED`` as distribution does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from dockyard.registry.server.auth import Authenticator, Scope
from dockyard.registry.server.config import RegistryConfig
from dockyard.registry.server.errors import ErrorCode, SpecError
from dockyard.registry.server.handlers import blobs, listings, manifests, token, uploads
from dockyard.registry.server.handlers.common import IDENTITY, STATE, RegistryState, base_url
from dockyard.registry.server.names import validate_name
from dockyard.registry.server.storage import RegistryStorage
from dockyard.registry.server.tokens import TokenSigner
from dockyard.registry.server.uploads import UploadSessions

__all__ = ["API_VERSION", "create_app", "required_scope"]

log = logging.getLogger(__name__)

API_VERSION = "registry/2.0"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def required_scope(route: str, method: str, name: str | None) -> Scope | None:
    """What a request needs: ``None`` for ``/v2/``, else a repository (or catalog) scope."""
    if route in ("catalog", "search"):  # v1 search lists repositories as the catalog does
        return Scope("registry", "catalog", frozenset({"*"}))
    if name is None:
        return None
    if method in ("GET", "HEAD"):
        actions = {"pull"}
    elif method == "DELETE" and route in ("manifest", "blob"):
        actions = {"delete"}
    else:
        actions = {"push"}
    return Scope("repository", name, frozenset(actions))


def _error_response(request: web.Request, error: SpecError) -> web.Response:
    headers = dict(error.headers)
    return web.Response(status=error.status, body=error.body, headers=headers, content_type="application/json")


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.monotonic()
    response: web.StreamResponse | None = None
    try:
        response = await _handle(request, handler)
    except SpecError as exc:
        response = _error_response(request, exc)
    except web.HTTPException as exc:
        response = exc
        raise
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        response = _error_response(request, SpecError(ErrorCode.UNKNOWN, detail=str(exc)))
    finally:
        if response is not None:
            log.info(
                '%s "%s %s" %d %s %.3fs',
                request.remote,
                request.method,
                request.path_qs,
                response.status,
                response.content_length if response.content_length is not None else "-",
                time.monotonic() - started,
            )
    return response


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    st = request.app[STATE]
    route = request.match_info.route.name or ""
    if route == "token":
        return await handler(request)
    if st.config.read_only and request.method in _WRITES:
        raise SpecError(ErrorCode.UNSUPPORTED, detail="the registry is in read-only mode")
    name = request.match_info.get("name")
    if name is not None:
        validate_name(name)
    url = base_url(request)
    who = await st.auth.identify(request.headers.get("Authorization"), url)
    st.auth.authorize(who, required_scope(route, request.method, name), url)
    request[IDENTITY] = who
    return await handler(request)


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Docker-Distribution-API-Version", API_VERSION)


_PURGE_EVERY = 3600.0


async def _purge_uploads(app: web.Application) -> AsyncIterator[None]:
    """Every hour, drop upload sessions older than the expiry (clients that never came back)."""
    st = app[STATE]

    async def loop() -> None:
        while True:
            await asyncio.sleep(_PURGE_EVERY)
            try:
                purged = await asyncio.to_thread(st.uploads.purge, st.config.upload_expiry)
            except OSError as exc:
                log.warning("purging upload sessions: %s", exc)
                continue
            if purged:
                log.info("removed %d expired upload sessions", purged)

    task = asyncio.ensure_future(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(config: RegistryConfig) -> web.Application:
    """The application for ``config`` (creates the storage directories, drops stale temporary files)."""
    storage = RegistryStorage(config.storage)
    storage.prepare()
    sessions = UploadSessions(storage)
    purged = sessions.purge(config.upload_expiry)
    if purged:
        log.info("removed %d upload sessions older than %.0f s", purged, config.upload_expiry)
    signer = TokenSigner.from_storage(config.storage, config.token_service) if config.token_auth else None
    auth = Authenticator(config, signer)
    app = web.Application(middlewares=[_middleware], client_max_size=config.max_manifest_size)
    app[STATE] = RegistryState(config, storage, sessions, auth)
    app.on_response_prepare.append(_on_prepare)
    app.cleanup_ctx.append(_purge_uploads)
    name = "{name:.+}"
    table: list[tuple[str, str, dict[str, Handler]]] = [
        ("base", "/v2/", {"GET": listings.base, "HEAD": listings.base}),
        ("base-noslash", "/v2", {"GET": listings.base, "HEAD": listings.base}),
        ("catalog", "/v2/_catalog", {"GET": listings.catalog}),
        ("search", "/v1/search", {"GET": listings.search}),
        ("tags", f"/v2/{name}/tags/list", {"GET": listings.tags_list, "HEAD": listings.tags_list}),
        ("referrers", f"/v2/{name}/referrers/{{digest}}", {"GET": listings.referrers}),
        (
            "manifest",
            f"/v2/{name}/manifests/{{reference}}",
            {
                "GET": manifests.get_manifest,
                "HEAD": manifests.get_manifest,
                "PUT": manifests.put_manifest,
                "DELETE": manifests.delete_manifest,
            },
        ),
        ("uploads", f"/v2/{name}/blobs/uploads/", {"POST": uploads.start_upload}),
        (
            "upload",
            f"/v2/{name}/blobs/uploads/{{uuid}}",
            {
                "GET": uploads.upload_status,
                "PATCH": uploads.patch_upload,
                "PUT": uploads.finish_upload,
                "DELETE": uploads.cancel_upload,
            },
        ),
        (
            "blob",
            f"/v2/{name}/blobs/{{digest}}",
            {"GET": blobs.get_blob, "HEAD": blobs.get_blob, "DELETE": blobs.delete_blob},
        ),
    ]
    if signer is not None:
        table.append(("token", "/token", {"GET": token.get_token, "POST": token.post_token}))
    for route_name, path, handlers in table:
        resource = app.router.add_resource(path, name=route_name)
        for method, handler in handlers.items():
            resource.add_route(method, handler)
    return app
