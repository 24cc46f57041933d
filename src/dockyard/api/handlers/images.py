"""``/images/...``: list, inspect, history, tag, remove, prune, pull (create), push, save (get), load."""

from __future__ import annotations

import os
import tempfile

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag, parse_filters, registry_auth
from dockyard.api.schemas.images import image_history, image_inspect, image_summary
from dockyard.api.streams import JsonStream, json_response
from dockyard.errors import InvalidArgument

__all__ = ["register"]


async def list_images(request: web.Request) -> web.Response:
    from dockyard.engine.images import ImageFilters

    engine = engine_of(request)
    filters = ImageFilters.parse(parse_filters(request))

    def work() -> list[dict[str, object]]:
        out = []
        for record in engine.images.list(all=flag(request, "all"), filters=filters):
            labels = dict(engine.images.load(record).config.config.labels)
            out.append(image_summary(record, labels))
        return out

    return json_response(await in_thread(work))


async def inspect_image(request: web.Request) -> web.Response:
    engine = engine_of(request)

    def work() -> dict[str, object]:
        image = engine.images.get(request.match_info["name"])
        return image_inspect(image, engine.store.layers.chain(image.record.top_layer), str(engine.store.layers.root))

    return json_response(await in_thread(work))


async def history(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return json_response(image_history(await in_thread(engine.images.history, request.match_info["name"])))


async def tag(request: web.Request) -> web.Response:
    repo = request.query.get("repo", "")
    tag_ = request.query.get("tag", "")
    if not repo:
        raise InvalidArgument("repository name must have at least one component")
    target = f"{repo}:{tag_}" if tag_ else repo
    await in_thread(engine_of(request).images.tag, request.match_info["name"], target)
    return web.Response(status=201)


async def remove(request: web.Request) -> web.Response:
    from dockyard.engine.images import RemoveOptions

    options = RemoveOptions(force=flag(request, "force"), prune_parents=not flag(request, "noprune"))
    reports = await in_thread(engine_of(request).images.remove, [request.match_info["name"]], options)
    return json_response([{"Untagged": r.untagged} if r.untagged else {"Deleted": r.deleted} for r in reports])


async def prune(request: web.Request) -> web.Response:
    from dockyard.engine.images import ImageFilters

    items = parse_filters(request)
    dangling = [i for i in items if i.startswith("dangling=")]
    all_ = bool(dangling) and dangling[-1].split("=", 1)[1].lower() in ("false", "0")
    filters = ImageFilters.parse([i for i in items if not i.startswith("dangling=")])
    report = await in_thread(engine_of(request).images.prune, all_, filters)
    deleted = [{"Untagged": r.untagged} if r.untagged else {"Deleted": r.deleted} for r in report.deleted]
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": report.space_reclaimed})


async def search(request: web.Request) -> web.Response:
    """``GET /images/search?term=&limit=&filters=``: the term's registry's ``/v1/search`` results."""
    from dockyard.engine.search import parse_filters as search_filters

    term = request.query.get("term", "")
    raw = request.query.get("limit", "")
    try:
        limit = int(raw) if raw else 25
    except ValueError:
        raise InvalidArgument(f"invalid limit: {raw!r}") from None
    filters = search_filters(parse_filters(request))
    credentials = registry_auth(request)
    service = engine_of(request).distribution
    results = await in_thread(service.search, term, limit, filters, credentials=credentials)
    return json_response([r.to_json() for r in results])


async def create(request: web.Request) -> web.StreamResponse:
    """``docker pull`` (``fromImage``) or ``docker import`` (``fromSrc``) as a JSON progress stream."""
    engine = engine_of(request)
    from_image = request.query.get("fromImage", "")
    from_src = request.query.get("fromSrc", "")
    tag_ = request.query.get("tag", "")
    if from_src:
        return await _import(request, from_src, request.query.get("repo", ""), tag_)
    if not from_image:
        raise InvalidArgument("fromImage or fromSrc is required")
    ref = from_image
    if tag_:
        ref = f"{from_image}@{tag_}" if tag_.startswith("sha256:") else f"{from_image}:{tag_}"
    from dockyard.engine.distribution import PullOptions, encode_json_line

    credentials = registry_auth(request)
    platform = request.query.get("platform") or None
    stream = JsonStream(request)

    def work() -> None:
        engine.distribution.pull(
            ref,
            PullOptions(platform=platform),
            lambda ev: stream.send_threadsafe(encode_json_line(ev)),
            credentials=credentials,
        )

    return await stream.run(work)


async def _import(request: web.Request, src: str, repo: str, tag_: str) -> web.StreamResponse:
    from dockyard.engine.archive import import_rootfs

    engine = engine_of(request)
    changes = request.query.getall("changes", [])
    message = request.query.get("message", "")
    target = (f"{repo}:{tag_}" if tag_ else repo) or None
    tmp_path = None
    if src == "-":
        fd, tmp_path = tempfile.mkstemp(prefix="import-")
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.content.iter_chunked(1 << 20):
                f.write(chunk)
        src = tmp_path
    stream = JsonStream(request)

    def work() -> None:
        try:
            image_id = import_rootfs(engine, src, target, changes, message, request.query.get("platform") or None)
            stream.send_threadsafe({"status": image_id})
        finally:
            if tmp_path:
                os.unlink(tmp_path)

    return await stream.run(work)


async def push(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.distribution import PushOptions, encode_json_line

    engine = engine_of(request)
    name = request.match_info["name"]
    tag_ = request.query.get("tag", "")
    ref = f"{name}:{tag_}" if tag_ else name
    credentials = registry_auth(request)
    stream = JsonStream(request)

    def work() -> None:
        engine.distribution.push(
            ref,
            PushOptions(all_tags=not tag_),
            lambda ev: stream.send_threadsafe(encode_json_line(ev)),
            credentials=credentials,
        )

    return await stream.run(work)


async def save(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.archive import save_images

    engine = engine_of(request)
    names = [request.match_info["name"]] if "name" in request.match_info else request.query.getall("names", [])
    fd, path = tempfile.mkstemp(prefix="save-")
    os.close(fd)
    try:
        await in_thread(save_images, engine, names, path, "docker-archive")
        response = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        os.unlink(path)


async def load(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.archive import load_images

    engine = engine_of(request)
    fd, path = tempfile.mkstemp(prefix="load-")
    with os.fdopen(fd, "wb") as f:
        async for chunk in request.content.iter_chunked(1 << 20):
            f.write(chunk)
    stream = JsonStream(request)

    def work() -> None:
        # quiet=1 (what the CLI sends when stdout is not a terminal) hides progress, never the result lines
        try:
            for line in load_images(engine, path):
                stream.send_threadsafe({"stream": line + "\n"})
        finally:
            os.unlink(path)

    return await stream.run(work)


def register(router: Router) -> None:
    router.add("GET", "/images/json", list_images)
    router.add("POST", "/images/create", create)
    router.add("POST", "/images/load", load)
    router.add("POST", "/images/prune", prune)
    router.add("GET", "/images/get", save)
    router.add("GET", "/images/search", search)
    router.add("GET", "/images/{name:.+}/json", inspect_image)
    router.add("GET", "/images/{name:.+}/history", history)
    router.add("GET", "/images/{name:.+}/get", save)
    router.add("POST", "/images/{name:.+}/tag", tag)
    router.add("POST", "/images/{name:.+}/push", push)
    router.add("DELETE", "/images/{name:.+}", remove)
