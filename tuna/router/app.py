"""The hybrid router: one OpenAI-compatible endpoint in front of a spot fleet and a serverless
deployment. Clients call /v1/... with the router's key; each request goes to spot while spot can
take it, else to serverless; a failure before the first byte is retried once on the other leg,
after it never (the client's stream is cut: an error, not a short answer)."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from tuna.router.config import RouterConfig
from tuna.router.routing import (SERVERLESS, SPOT, RETRY_STATUSES, Demand, SpotHealth, choose,
                                 may_retry_on, other, waiting_requests)

# Hop-by-hop and recomputed headers (RFC 9110 7.6.1) never pass a proxy.
_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                  "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                  "authorization"})


class _Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("tuna_router_requests", "Requests answered, by leg and outcome",
                                ["leg", "outcome"], registry=self.registry)
        self.failovers = Counter("tuna_router_failovers", "Requests retried on the other leg",
                                 ["from_leg"], registry=self.registry)
        self.inflight = Gauge("tuna_router_inflight", "Requests in flight", ["leg"],
                              registry=self.registry)
        self.spot_ready = Gauge("tuna_router_spot_ready", "1 when the last spot probe passed",
                                registry=self.registry)


class _Failed(Exception):
    """A leg failed before the first byte reached the client: another leg may take the request."""


class Router:
    def __init__(self, config: RouterConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock
        self.health = SpotHealth()
        self.demand = Demand(config.idle_s)
        self.metrics = _Metrics()
        self.inflight = {SPOT: 0, SERVERLESS: 0}
        self.session: aiohttp.ClientSession | None = None
        self._prober: asyncio.Task | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/router/health", self.health_check)
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_route("*", "/v1/{path:.*}", self.proxy)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        # No total timeout: a generation streams as long as it streams.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.config.connect_timeout_s)
        self.session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        self._prober = asyncio.create_task(self._probe_while_active())

    async def _stop(self, _app: web.Application) -> None:
        self._prober.cancel()
        await self.session.close()

    # --- the spot fleet's readiness, and demand for SkyServe's autoscaler ---

    async def probe_spot(self) -> SpotHealth:
        """GET /metrics through the spot load balancer: 200 means ready; its queue says whether
        the fleet is full. SkyServe counts the probe as a request: it is demand."""
        self.health.probed_at = self.clock()
        try:
            async with self.session.get(
                    f"{self.config.spot_url}/metrics",
                    timeout=aiohttp.ClientTimeout(total=self.config.probe_timeout_s)) as answer:
                text = await answer.text() if answer.status == 200 else ""
                self.health.ready = answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self.health.ready, text = False, ""
        try:
            self.health.waiting = waiting_requests(text) if text else 0.0
        except ValueError:  # not Prometheus text: ready, queue unknown
            self.health.waiting = 0.0
        self.metrics.spot_ready.set(int(self.health.ready))
        return self.health

    async def _probe_while_active(self) -> None:
        while True:
            if self.demand.active(self.clock()):
                await self.probe_spot()
            await asyncio.sleep(self.config.probe_every_s)

    # --- endpoints ---

    async def health_check(self, _request: web.Request) -> web.Response:
        """SkyServe's readiness probe of the router itself (no key)."""
        return web.json_response({"spot_ready": self.health.ready,
                                  "saturated": self.inflight[SPOT] >= self.config.spot_cap,
                                  "inflight": sum(self.inflight.values())})

    async def prometheus(self, _request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.metrics.registry),
                            content_type="text/plain", charset="utf-8")

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(),
                                                                  self.config.key.encode())

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response({"error": {"message": "invalid router key",
                                                "type": "authentication_error"}}, status=401)
        body = await request.read()
        now = self.clock()
        self.demand.last_request_at = now
        leg = choose(self.health, self.inflight[SPOT], self.config.spot_cap)
        if leg == SERVERLESS and not self.health.ready and self.demand.probe_for_diverted(now):
            asyncio.create_task(self.probe_spot())  # wakes the fleet: SkyServe counts it
        try:
            return await self._send(leg, request, body)
        except _Failed as failure:
            if not may_retry_on(leg, self.health):
                return self._gateway_error(failure)
            self.metrics.failovers.labels(leg).inc()
            if leg == SPOT:
                self.health.ready = False
                self.metrics.spot_ready.set(0)
                asyncio.create_task(self.probe_spot())
            try:
                return await self._send(other(leg), request, body)
            except _Failed as second:
                return self._gateway_error(second)

    def _gateway_error(self, failure: _Failed) -> web.Response:
        return web.json_response({"error": {"message": f"no leg could serve: {failure}",
                                            "type": "service_unavailable"}}, status=503)

    def _upstream(self, leg: str, request: web.Request) -> tuple[str, dict[str, str]]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        if leg == SPOT:
            headers["Authorization"] = f"Bearer {self.config.spot_key}"
            base = f"{self.config.spot_url}/v1"
        else:
            headers.update(self.config.serverless_headers)
            base = self.config.serverless_url
        return f"{base}/{request.match_info['path']}", headers

    async def _send(self, leg: str, request: web.Request, body: bytes) -> web.StreamResponse:
        url, headers = self._upstream(leg, request)
        self.inflight[leg] += 1
        self.metrics.inflight.labels(leg).inc()
        try:
            return await self._relay(leg, request, url, headers, body)
        finally:
            self.inflight[leg] -= 1
            self.metrics.inflight.labels(leg).dec()

    async def _relay(self, leg, request, url, headers, body) -> web.StreamResponse:
        try:
            upstream = await self.session.request(request.method, url, headers=headers,
                                                  params=request.query, data=body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.metrics.requests.labels(leg, "connect_error").inc()
            raise _Failed(f"{leg}: {type(exc).__name__}") from None
        async with upstream:
            if upstream.status in RETRY_STATUSES:
                self.metrics.requests.labels(leg, f"http_{upstream.status}").inc()
                raise _Failed(f"{leg} answered {upstream.status}")
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            response.headers.update({k: v for k, v in upstream.headers.items()
                                     if k.lower() not in _HOP})
            response.headers["X-Tuna-Leg"] = leg
            await response.prepare(request)
            try:
                # Bytes as they arrive: each SSE event reaches the client when the leg sent it.
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                self.metrics.requests.labels(leg, "cut").inc()
                # Close without the final chunk: the client sees a broken stream, never a
                # complete-looking short answer.
                if request.transport:
                    request.transport.close()
                return response
            await response.write_eof()
            self.metrics.requests.labels(leg, "ok" if upstream.status < 400 else
                                         f"http_{upstream.status}").inc()
            return response


def serve(config: RouterConfig) -> None:
    web.run_app(Router(config).app(), port=config.port, print=None)
