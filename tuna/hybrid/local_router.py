"""`tuna router serve NAME`: the hybrid router's own code on this machine, pointed at the legs
tuna's state knows, with the keys tuna keeps beside it."""

from __future__ import annotations

from tuna import keys, registry
from tuna.errors import UsageError
from tuna.hybrid import PROVIDER, HybridSettings, leg_name
from tuna.state import StateStore

IDLE_S = 600.0


def config(store: StateStore, service_name: str, port: int):
    from tuna.router.config import RouterConfig

    parent = store.require(service_name)
    if parent.provider != PROVIDER or not parent.is_live:
        raise UsageError(f"{service_name} is not a live hybrid service (`tuna list` shows them)")
    legs = {record.service_name: record for record in store.legs(parent)}
    spot, serverless = (legs.get(leg_name(service_name, leg)) for leg in ("spot", "serverless"))
    if not (spot and spot.endpoint_url and serverless and serverless.endpoint_url):
        raise UsageError(f"{service_name}'s legs have no endpoints yet: `tuna wait "
                         f"{service_name}` first")
    settings = HybridSettings.from_json(parent.hybrid)
    headers = registry.load(serverless.provider).client_headers(serverless.request) or {}
    return RouterConfig(
        key=keys.make(leg_name(service_name, "router")),
        spot_url=spot.endpoint_url.removesuffix("/v1"),
        spot_key=keys.read(spot.service_name) or "",
        serverless_url=serverless.endpoint_url, serverless_headers=headers,
        spot_cap=settings.spot_max_replicas * parent.request.scaling.concurrency,
        idle_s=IDLE_S, port=port)


def serve(store: StateStore, service_name: str, host: str, port: int, note) -> None:
    from aiohttp import web

    from tuna.router.app import Router

    router_config = config(store, service_name, port)
    note(f"Router for {service_name} on http://{host}:{port}/v1 (clients send Authorization: "
         f"Bearer <the key in {keys.path(leg_name(service_name, 'router'))}>); Ctrl-C stops it")
    web.run_app(Router(router_config).app(), host=host, port=port, print=None)
