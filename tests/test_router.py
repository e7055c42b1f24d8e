"""The hybrid router against a fake vLLM (the spot leg) and a fake serverless leg, all on
127.0.0.1: which leg serves, failover before the first byte, SSE passing event by event, a cut
stream surfacing as an error, demand probes only while clients are active."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import aiohttp
import pytest
from aiohttp import web

from tests.fake_openai import FakeOpenAI
from tuna.router.app import Router
from tuna.router.config import RouterConfig
from tuna.router.routing import SpotHealth, choose

KEY, SPOT_KEY = "router-key", "spot-vllm-key"
CHAT = {"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "Hello"}]}


class Rig:
    def __init__(self, router: Router, url: str, spot: FakeOpenAI, serverless: FakeOpenAI,
                 client: aiohttp.ClientSession):
        self.router, self.url, self.spot, self.serverless, self.client = (
            router, url, spot, serverless, client)

    def post(self, body=CHAT, key=KEY):
        return self.client.post(f"{self.url}/v1/chat/completions", json=body,
                                headers={"Authorization": f"Bearer {key}"})

    async def metrics(self) -> str:
        async with self.client.get(f"{self.url}/metrics") as answer:
            return await answer.text()

    async def chat(self, body=CHAT) -> tuple[int, str, str]:
        async with self.post(body) as answer:
            return answer.status, answer.headers.get("X-Tuna-Leg", ""), await answer.text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def rig(spot_url: str | None = None, **config):
    spot, serverless = await FakeOpenAI().start(), await FakeOpenAI().start()
    spot.behaviour.key = SPOT_KEY
    router = Router(RouterConfig(
        key=KEY, spot_url=spot_url or spot.url, spot_key=SPOT_KEY,
        serverless_url=f"{serverless.url}/v1",
        serverless_headers={"Authorization": "Api-Key serverless-key"}, **config))
    runner = web.AppRunner(router.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    async with aiohttp.ClientSession() as client:
        try:
            yield Rig(router, url, spot, serverless, client)
        finally:
            await runner.cleanup()
            await spot.stop()
            await serverless.stop()


def run(scenario):
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_the_choice_reads_as_a_spec():
    ready = SpotHealth(ready=True)
    assert choose(ready, spot_inflight=0, spot_cap=4) == "spot"
    assert choose(SpotHealth(ready=False), 0, 4) == "serverless"  # no ready replica
    assert choose(SpotHealth(ready=True, waiting=2), 0, 4) == "serverless"  # the fleet queues
    assert choose(ready, spot_inflight=4, spot_cap=4) == "serverless"  # at its cap


def test_clients_need_the_router_key_but_the_probe_does_not():
    async def scenario():
        async with rig() as r:
            async with r.post(key="wrong") as answer:
                assert answer.status == 401
            async with r.client.get(f"{r.url}/v1/models") as answer:
                assert answer.status == 401
            async with r.client.get(f"{r.url}/router/health") as answer:
                assert answer.status == 200
                assert await answer.json() == {"spot_ready": False, "saturated": False,
                                               "inflight": 0}
            assert r.spot.seen == r.serverless.seen == []
    run(scenario)


def test_spot_serves_while_ready_with_its_own_key_and_serverless_with_its_own():
    async def scenario():
        async with rig() as r:
            status, leg, _ = await r.chat()
            assert (status, leg) == (200, "serverless")  # never probed: not known ready
            sent = r.serverless.seen[-1]
            assert sent["path"] == "/v1/chat/completions"
            assert sent["headers"]["Authorization"] == "Api-Key serverless-key"
            assert (await r.router.probe_spot()).ready
            status, leg, text = await r.chat()
            assert (status, leg) == (200, "spot") and json.loads(text)["choices"]
            assert r.spot.seen[-1]["headers"]["Authorization"] == f"Bearer {SPOT_KEY}"
            assert KEY not in json.dumps(r.spot.seen + r.serverless.seen)  # never passed on
    run(scenario)


@pytest.mark.parametrize("failure", [503, 500, "refused"])
def test_a_spot_failure_before_the_first_byte_is_retried_once_on_serverless(failure):
    async def scenario():
        async with rig(spot_url=f"http://127.0.0.1:{_free_port()}" if failure == "refused"
                       else None) as r:
            r.router.health.ready = True  # listed ready, then preempted
            if failure != "refused":  # SkyServe's load balancer says it to every path
                r.spot.behaviour.status = r.spot.behaviour.metrics_status = failure
            status, leg, text = await r.chat()
            assert (status, leg) == (200, "serverless") and json.loads(text)["choices"]
            assert len(r.serverless.seen) == 1
            assert not r.router.health.ready  # spot is marked down until a probe passes
            metrics = await r.metrics()
            assert 'tuna_router_failovers_total{from_leg="spot"} 1.0' in metrics
            assert 'tuna_router_requests_total{leg="serverless",outcome="ok"} 1.0' in metrics
    run(scenario)


def test_a_client_error_is_the_clients_answer_not_a_failover():
    async def scenario():
        async with rig() as r:
            await r.router.probe_spot()
            r.spot.behaviour.status = 400
            status, leg, _ = await r.chat()
            assert (status, leg) == (400, "spot") and r.serverless.seen == []
    run(scenario)


def test_both_legs_down_is_a_503_saying_so():
    async def scenario():
        async with rig() as r:
            r.serverless.behaviour.status = 502
            status, _, text = await r.chat()
            assert status == 503 and "serverless answered 502" in text
    run(scenario)


def test_a_queueing_or_full_fleet_sends_the_overflow_to_serverless():
    async def scenario():
        async with rig(spot_cap=1) as r:
            r.spot.behaviour.waiting = 3
            await r.router.probe_spot()
            assert (await r.chat())[1] == "serverless"
            r.spot.behaviour.waiting = 0
            await r.router.probe_spot()
            release = asyncio.Event()
            r.spot.behaviour.hold_after_first = release
            async with r.post({**CHAT, "stream": True}) as first:  # holds spot's one slot
                assert first.headers["X-Tuna-Leg"] == "spot"
                await first.content.readline()
                r.spot.behaviour.hold_after_first = None
                assert (await r.chat())[1] == "serverless"
                release.set()
                await first.read()
    run(scenario)


def test_sse_passes_event_by_event():
    async def scenario():
        async with rig() as r:
            await r.router.probe_spot()
            release = asyncio.Event()
            r.spot.behaviour.hold_after_first = release
            async with r.post({**CHAT, "stream": True}) as answer:
                assert answer.headers["Content-Type"].startswith("text/event-stream")
                # The first event arrives while the fake still holds the rest back.
                first = await asyncio.wait_for(answer.content.readline(), 5)
                assert first.startswith(b"data: ") and b"w0" in first
                release.set()
                rest = (await answer.read()).decode()
            events = [line for line in rest.split("\n") if line.startswith("data: ")]
            assert len(events) == 5 and events[-1] == "data: [DONE]"
    run(scenario)


def test_a_stream_cut_after_the_first_byte_is_an_error_to_the_client_and_not_retried():
    async def scenario():
        async with rig() as r:
            await r.router.probe_spot()
            r.spot.behaviour.cut_after = 2
            with pytest.raises(aiohttp.ClientPayloadError):
                async with r.post({**CHAT, "stream": True}) as answer:
                    await answer.read()
            assert r.serverless.seen == []
            metrics = await r.metrics()
            assert 'tuna_router_requests_total{leg="spot",outcome="cut"} 1.0' in metrics
    run(scenario)


def test_demand_is_reported_only_while_clients_are_active():
    async def scenario():
        now = [0.0]
        async with rig(idle_s=60, probe_every_s=0.005) as r:
            r.router.clock = lambda: now[0]
            await asyncio.sleep(0.05)
            assert r.spot.probes == 0  # no client yet: nothing wakes the fleet
            await r.chat()  # diverted (spot not known ready): one probe at once
            for _ in range(200):
                if r.spot.probes >= 3:
                    break
                await asyncio.sleep(0.005)
            assert r.spot.probes >= 3  # active: the loop keeps probing
            now[0] = 61.0  # clients silent past idle_s
            await asyncio.sleep(0.02)
            settled = r.spot.probes
            await asyncio.sleep(0.05)
            assert r.spot.probes == settled
    run(scenario)
