"""The hybrid router's own cost, on loopback (from the repository root):

    uv run --locked --all-extras python benchmarks/router.py

A fake vLLM (tests/fake_openai.py) and the router (tuna/router/) run in processes of their own;
this process is the client. It reports the latency the router adds to a plain chat completion
(medians and p90 of requests sent directly and through the router, taking turns) and the
router's CPU time per streamed answer of 200 SSE events (read from /proc for its process).
Budgets (issue 23): under 2 ms added per request, under 5 ms CPU per 200-event stream.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import ROOT, cpu_seconds, fake_vllm, free_port, report, start, stop  # noqa: E402

BUDGETS = {"added_ms_per_request": 2.0, "cpu_ms_per_200_event_stream": 5.0}
KEY = "bench-key"
CHAT = {"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "Hi"}]}

ROUTER = """
import sys
sys.path.insert(0, {root!r})
from tuna.router.app import serve
from tuna.router.config import RouterConfig
serve(RouterConfig(key={key!r}, spot_url={spot!r}, spot_key="", serverless_url={spot!r} + "/v1",
                   spot_cap=10**6, port={port}, probe_every_s=3600))
"""


async def _latencies(session, url: str, headers: dict, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        async with session.post(f"{url}/v1/chat/completions", json=CHAT, headers=headers) as r:
            await r.read()
            assert r.status == 200, r.status
        times.append((time.perf_counter() - start) * 1000)
    return times


async def _streams(session, url: str, headers: dict, count: int) -> None:
    for _ in range(count):
        async with session.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": True},
                                headers=headers) as r:
            events = (await r.read()).count(b"data: ")
            assert events == 201, events  # 200 content events and [DONE]


async def _measure(spot: str, router: str, router_pid: int, rounds: int, per_round: int,
                   streams: int) -> dict:
    import aiohttp

    auth = {"Authorization": f"Bearer {KEY}"}
    direct, routed = [], []
    async with aiohttp.ClientSession() as session:
        # The router learns spot is ready (one probe), then everything warms up.
        await _latencies(session, router, auth, 20)
        await _latencies(session, spot, {}, 20)
        for _ in range(rounds):  # turns, so a busy moment hits both alike
            direct += await _latencies(session, spot, {}, per_round)
            routed += await _latencies(session, router, auth, per_round)
        before = cpu_seconds(router_pid)
        await _streams(session, router, auth, streams)
        cpu_ms = (cpu_seconds(router_pid) - before) * 1000 / streams

    def p90(values):
        return statistics.quantiles(values, n=10)[-1]

    return {"requests_each_way": len(direct),
            "direct_median_ms": statistics.median(direct), "direct_p90_ms": p90(direct),
            "routed_median_ms": statistics.median(routed), "routed_p90_ms": p90(routed),
            "added_ms_per_request": statistics.median(routed) - statistics.median(direct),
            "streams": streams, "cpu_ms_per_200_event_stream": cpu_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fake, spot = fake_vllm(events=200)
    router_port = free_port()
    router = start(ROUTER.format(root=str(ROOT), key=KEY, spot=spot, port=router_port),
                   router_port)
    try:
        found = asyncio.run(_measure(spot, f"http://127.0.0.1:{router_port}", router.pid,
                                     args.rounds, args.per_round, args.streams))
    finally:
        stop(router, fake)
    return report(found, BUDGETS, args.json)


if __name__ == "__main__":
    sys.exit(main())
