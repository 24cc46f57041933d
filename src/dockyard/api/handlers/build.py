"""``POST /build`` (the classic builder's endpoint, ``version=1``) and ``POST /build/prune``.

The request body is the build context as a tar (compressed or not). It is spooled to disk first (dockerd, too,
answers only once the whole context has arrived), then the Dockerfile is parsed: a syntax error is a plain ``400``
with dockerd's wording (``dockerfile parse error line 4: unknown instruction: RUNN``). After that the response is
a stream of JSON messages (``{"stream": ...}``, ``{"aux": {"ID": ...}}``); a failure mid-build ends it with
``{"errorDetail": {"code": 1, "message": ...}, "error": ...}`` under the 200 already sent. With ``q=1`` only the
image ID is streamed.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import flag, parse_filters
from dockyard.api.streams import JsonStream, json_response
from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.builds import BuildOptions

__all__ = ["register"]


def _json_map(request: web.Request, name: str) -> dict[str, str | None]:
    raw = request.query.get(name)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{name}: expected a JSON object")
    return {str(k): None if v is None else str(v) for k, v in data.items()}


def _options(request: web.Request) -> BuildOptions:
    from dockyard.engine.builds import BuildNetwork, BuildOptions

    q = request.query
    labels = {k: v or "" for k, v in _json_map(request, "labels").items()}
    extra_hosts: list[str] = []
    for value in q.getall("extrahosts", []):
        extra_hosts += [h for h in value.split(",") if h]
    network = q.get("networkmode", "")
    return BuildOptions(
        tags=tuple(q.getall("t", [])),
        dockerfile=q.get("dockerfile") or "Dockerfile",
        build_args=_json_map(request, "buildargs"),
        target=q.get("target", ""),
        no_cache=flag(request, "nocache"),
        pull=flag(request, "pull"),
        labels=labels,
        quiet=flag(request, "q"),
        network=BuildNetwork.parse(network if network not in ("", "default") else None),
        remove=flag(request, "rm", True),
        force_remove=flag(request, "forcerm"),
        platform=q.get("platform", ""),
        extra_hosts=tuple(extra_hosts),
    )


async def build(request: web.Request) -> web.StreamResponse:
    from dockyard.build.dockerfile import DockerfileError
    from dockyard.engine.builds import BuildError
    from dockyard.engine.distribution import BuildAux, BuildOutput, encode_json_line

    engine = engine_of(request)
    if request.query.get("remote"):
        raise InvalidArgument("remote build contexts are not supported by dockyard")
    if request.query.get("version", "1") == "2":
        raise InvalidArgument("dockyard builds with the classic builder (version=1) only: set DOCKER_BUILDKIT=0")
    options = _options(request)
    tmp = engine.settings.layout.tmp
    tmp.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="build-context-", dir=tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.content.iter_chunked(1 << 20):
                f.write(chunk)

        def prepare():  # type: ignore[no-untyped-def]
            with open(path, "rb") as body:
                context = engine.builds.open_stream(body, options.dockerfile)
            try:
                tag_id = ",".join(options.tags) or "api"
                return engine.builds.prepare(context, options, context_id=f"api:{tag_id}")
            except BaseException:
                context.close()
                raise

        try:
            prepared = await in_thread(prepare)
        except DockerfileError as exc:
            return json_response({"message": exc.legacy_message}, 400)
    finally:
        os.unlink(path)

    stream = JsonStream(request)

    def send(event: object) -> None:
        if options.quiet and isinstance(event, BuildAux):
            return
        stream.send_threadsafe(encode_json_line(event))  # type: ignore[arg-type]

    def work() -> None:
        try:
            result = engine.builds.run(prepared, send)
            if options.quiet:
                send(BuildOutput(f"{result.image_id}\n"))
        except BuildError as exc:
            detail: dict[str, object] = {"message": exc.detail}
            if exc.code is not None:
                detail = {"code": exc.code, "message": exc.detail}
            stream.send_threadsafe({"errorDetail": detail, "error": exc.detail})
        except DockyardError as exc:
            stream.send_threadsafe({"errorDetail": {"message": exc.message}, "error": exc.message})
        finally:
            prepared.close()

    return await stream.run(work)


async def prune(request: web.Request) -> web.Response:
    import time

    from dockyard.engine.builds import BuildPruneOptions
    from dockyard.timeutil import parse_timestamp

    until: float | None = None
    for item in parse_filters(request):
        key, _, value = item.partition("=")
        if key in ("until", "unused-for"):
            until = parse_timestamp(value, time.time())
        elif key not in ("type", "inuse", "shared", "private", "id", "parent", "description"):
            raise InvalidArgument(f"invalid filter '{key}'")
    report = await in_thread(engine_of(request).builds.prune, BuildPruneOptions(all=flag(request, "all"), until=until))
    return json_response({"CachesDeleted": list(report.deleted) or None, "SpaceReclaimed": report.space_reclaimed})


def register(router: Router) -> None:
    router.add("POST", "/build", build)
    router.add("POST", "/build/prune", prune)
