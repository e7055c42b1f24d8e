"""The router in front of SkyServe's own load balancer (sky/serve/load_balancer.py, skypilot
0.14.1) and its own autoscaler (sky/serve/autoscalers.py), on loopback. The load balancer runs
as SkyServe runs it, except that a test calls its controller sync (the real method) instead of
waiting 20 s for it, and its retry backoff starts at 10 ms instead of 1 s; a stand-in controller
answers POST /controller/load_balancer_sync as sky/serve/controller.py does."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading

import aiohttp
import pytest
from aiohttp import web

from tests.fake_openai import FakeOpenAI
from tuna.router.app import Router
from tuna.router.config import RouterConfig

KEY, SPOT_KEY = "router-key", "spot-key"
CHAT = {"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "Hi"}]}


class Controller:
    """sky/serve/controller.py's load_balancer_sync: takes the LB's request timestamps and
    answers the ready replicas."""

    def __init__(self):
        self.ready: list[str] = []
        self.timestamps: list[float] = []

    async def sync(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.timestamps += body["request_aggregator"]["timestamps"]
        return web.json_response({"replica_info": {url: {} for url in self.ready}})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoadBalancer:
    """SkyServe's load balancer class, served by uvicorn as its run() serves it."""

    def __init__(self, controller_url: str, monkeypatch):
        import uvicorn
        from sky.serve import load_balancer
        from sky.utils import common_utils

        real = common_utils.Backoff
        monkeypatch.setattr(load_balancer.common_utils, "Backoff",
                            lambda initial_backoff=1, **kw: real(initial_backoff / 100, **kw))
        self.lb = load_balancer.SkyServeLoadBalancer(
            controller_url=controller_url, load_balancer_port=_free_port(),
            load_balancing_policy_name="least_load", stream_timeout_seconds=3600)
        # As run() registers it (its startup task, the 20 s sync loop, is what tests replace).
        self.lb._app.add_api_route("/{path:path}", self.lb._proxy_with_retries,
                                   methods=["GET", "POST", "PUT", "DELETE"])
        self.loop: asyncio.AbstractEventLoop | None = None

        @self.lb._app.on_event("startup")
        async def remember_loop():
            self.loop = asyncio.get_running_loop()

        self.server = uvicorn.Server(uvicorn.Config(
            self.lb._app, host="127.0.0.1", port=self.lb._load_balancer_port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        self.url = f"http://127.0.0.1:{self.lb._load_balancer_port}"

    def sync(self) -> None:
        """One controller sync, in the load balancer's own loop."""
        asyncio.run_coroutine_threadsafe(self.lb._sync_with_controller_once(),
                                         self.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.asynccontextmanager
async def _site(app: web.Application):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
def rig(monkeypatch):
    """Yields a coroutine runner: each scenario gets the controller, the load balancer, a fake
    vLLM replica, a serverless fake and the router, on one asyncio loop of its own."""

    def run(scenario) -> Controller:
        controller = Controller()

        async def main():
            app = web.Application()
            app.router.add_post("/controller/load_balancer_sync", controller.sync)
            async with _site(app) as controller_url:
                balancer = LoadBalancer(controller_url, monkeypatch)
                replica = await FakeOpenAI().start()
                replica.behaviour.key = SPOT_KEY
                serverless = await FakeOpenAI().start()
                router = Router(RouterConfig(key=KEY, spot_url=balancer.url, spot_key=SPOT_KEY,
                                             serverless_url=f"{serverless.url}/v1"))
                try:
                    async with _site(router.app()) as url, aiohttp.ClientSession(
                            headers={"Authorization": f"Bearer {KEY}"}) as client:
                        await scenario(controller, balancer, replica, serverless, router, url,
                                       client)
                finally:
                    await replica.stop()
                    await serverless.stop()
                    await asyncio.to_thread(balancer.stop)

        asyncio.run(asyncio.wait_for(main(), 60))
        return controller
    return run


async def _sync(balancer):
    await asyncio.to_thread(balancer.sync)


def test_through_skyserves_balancer_spot_serves_and_sse_passes_both_hops(rig):
    async def scenario(controller, balancer, replica, serverless, router, url, client):
        controller.ready = [replica.url]
        await _sync(balancer)
        assert (await router.probe_spot()).ready
        release = asyncio.Event()
        replica.behaviour.hold_after_first = release
        async with client.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": True}) as r:
            assert r.headers["X-Tuna-Leg"] == "spot"
            first = await asyncio.wait_for(r.content.readline(), 10)  # before the rest exists
            assert b"w0" in first
            release.set()
            events = [line for line in (await r.read()).decode().split("\n") if line]
        assert events[-1] == "data: [DONE]" and len(events) == 5
        assert replica.seen[-1]["headers"]["Authorization"] == f"Bearer {SPOT_KEY}"
        assert serverless.seen == []
    rig(scenario)


def test_no_ready_replica_sends_traffic_to_serverless(rig):
    async def scenario(controller, balancer, replica, serverless, router, url, client):
        await _sync(balancer)  # the controller lists nothing ready
        async with client.get(f"{balancer.url}/metrics") as answer:
            assert answer.status == 503  # SkyServe's own "No ready replicas"
            assert "No ready replicas" in await answer.text()
        assert not (await router.probe_spot()).ready
        async with client.post(f"{url}/v1/chat/completions", json=CHAT) as answer:
            assert answer.status == 200 and answer.headers["X-Tuna-Leg"] == "serverless"
        assert replica.seen == []
    rig(scenario)


def test_a_preempted_replica_still_listed_fails_over_with_no_client_error(rig):
    async def scenario(controller, balancer, replica, serverless, router, url, client):
        controller.ready = [replica.url]
        await _sync(balancer)
        assert (await router.probe_spot()).ready
        await replica.stop()  # preempted: the VM is gone, the controller has not noticed
        async with client.post(f"{url}/v1/chat/completions", json=CHAT) as answer:
            assert answer.status == 200 and answer.headers["X-Tuna-Leg"] == "serverless"
            assert (await answer.json())["choices"]
        assert not router.health.ready
        metrics = await (await client.get(f"{url}/metrics")).text()
        assert 'tuna_router_failovers_total{from_leg="spot"} 1.0' in metrics
    rig(scenario)


def test_skyserves_autoscaler_fed_the_routers_demand_scales_from_zero_and_back(rig, monkeypatch):
    """The demand the router sends (requests and probes, failed ones too: the balancer counts a
    request before it picks a replica) reaches the controller, and SkyServe's own autoscaler,
    set up from tuna's rendered spot service, wakes the fleet and later lets it go."""
    from sky.serve import autoscalers

    from tuna.models import DeployRequest, Scaling
    from tuna.providers.skyserve import render, sky_client

    async def scenario(controller, balancer, replica, serverless, router, url, client):
        await _sync(balancer)  # scaled to zero: nothing ready
        for _ in range(6):
            async with client.post(f"{url}/v1/chat/completions", json=CHAT) as answer:
                assert answer.status == 200  # served by serverless meanwhile
        await router.probe_spot()
        await _sync(balancer)  # the balancer reports what it counted
    controller_timestamps = rig(scenario).timestamps
    # The diverted requests probe spot at most once a second (each probe is a request SkyServe
    # counts), plus the explicit probe: demand without flooding the balancer.
    assert 2 <= len(controller_timestamps) <= 3

    request = DeployRequest(model="Qwen/Qwen3-0.6B", gpu="L4", service_name="q-spot",
                            scaling=Scaling(min_replicas=0, max_replicas=4, scale_down_delay=300))
    task = sky_client.task_from_yaml(render.render_spot(request, "L4", render.SpotFleet()))
    now = [max(controller_timestamps)]
    monkeypatch.setattr(autoscalers.time, "time", lambda: now[0])
    scaler = autoscalers.Autoscaler.from_spec("q-spot", task.service)
    assert scaler.target_num_replicas == 0
    scaler.collect_request_information({"timestamps": controller_timestamps})
    scaler.generate_scaling_decisions([], [1])
    assert scaler.target_num_replicas == math.ceil(len(controller_timestamps) / 60 / 2.5) == 1
    # The clients stop and the router stops probing: after the QPS window and the downscale
    # delay (300 s = 15 decisions of 20 s) the fleet is let go.
    for _ in range(20):
        now[0] += 20
        scaler.collect_request_information({"timestamps": []})
        scaler.generate_scaling_decisions([], [1])
    assert scaler.target_num_replicas == 0

