"""``/networks/...``: list, inspect, create, remove, prune, connect, disconnect."""

from __future__ import annotations

from aiohttp import web

from dockyard.api.app import Router, engine_of, in_thread
from dockyard.api.handlers.common import parse_filters
from dockyard.api.streams import json_response

__all__ = ["register"]


async def list_networks(request: web.Request) -> web.Response:
    from dockyard.engine.networks import NetworkFilters

    engine = engine_of(request)
    filters = NetworkFilters.parse(parse_filters(request))

    def work() -> list[object]:
        return [engine.networks.inspect(n.id) for n in engine.networks.list(filters)]

    return json_response(await in_thread(work))


async def inspect_network(request: web.Request) -> web.Response:
    return json_response(await in_thread(engine_of(request).networks.inspect, request.match_info["id"]))


async def create(request: web.Request) -> web.Response:
    from dockyard.network import NetworkCreate

    body = await request.json()
    engine = engine_of(request)
    ipam = body.get("IPAM") or {}
    config = (ipam.get("Config") or [{}])[0] if isinstance(ipam, dict) else {}
    req = NetworkCreate(
        name=str(body.get("Name") or ""),
        driver=str(body.get("Driver") or "bridge"),
        subnet=config.get("Subnet") or None,
        gateway=config.get("Gateway") or None,
        ip_range=config.get("IPRange") or None,
        internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")),
        ipv6=bool(body.get("EnableIPv6")),
        labels=dict(body.get("Labels") or {}),
        options=dict(body.get("Options") or {}),
    )
    network = await in_thread(engine.networks.create, req)
    return json_response({"Id": network.id, "Warning": ""}, 201)


async def remove(request: web.Request) -> web.Response:
    await in_thread(engine_of(request).networks.delete, [request.match_info["id"]])
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    from dockyard.engine.networks import NetworkFilters

    engine = engine_of(request)
    report = await in_thread(engine.networks.prune, NetworkFilters.parse(parse_filters(request)))
    return json_response({"NetworksDeleted": list(report.deleted) or None})


async def connect(request: web.Request) -> web.Response:
    from dockyard.engine.networks import ConnectOptions

    body = await request.json()
    cfg = body.get("EndpointConfig") or {}
    ipam = cfg.get("IPAMConfig") or {}
    options = ConnectOptions(aliases=tuple(cfg.get("Aliases") or ()), ip=ipam.get("IPv4Address") or None)
    await in_thread(engine_of(request).networks.connect, request.match_info["id"], str(body.get("Container")), options)
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    body = await request.json()
    await in_thread(
        engine_of(request).networks.disconnect,
        request.match_info["id"],
        str(body.get("Container")),
        bool(body.get("Force")),
    )
    return web.Response(status=200)


def register(router: Router) -> None:
    router.add("GET", "/networks", list_networks)
    router.add("GET", "/networks/", list_networks)
    router.add("POST", "/networks/create", create)
    router.add("POST", "/networks/prune", prune)
    router.add("GET", "/networks/{id}", inspect_network)
    router.add("DELETE", "/networks/{id}", remove)
    router.add("POST", "/networks/{id}/connect", connect)
    router.add("POST", "/networks/{id}/disconnect", disconnect)
