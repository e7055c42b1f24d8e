"""A loopback OpenAI-compatible server shaped like vLLM's (`vllm serve`): /v1/chat/completions
plain and streamed (SSE `data: {...}` events, then `data: [DONE]`), /v1/models, /health and
/metrics in Prometheus text with vLLM's gauge names. Tests steer it: an answer status, a cut
stream, a held stream, a queue; it records what reached it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Behaviour:
    status: int = 200  # answered to /v1 requests instead of a completion when not 200
    events: int = 5  # content events per streamed answer
    cut_after: int | None = None  # close the connection after this many events
    hold_after_first: asyncio.Event | None = None  # a stream waits for it after its first event
    waiting: int = 0  # vllm:num_requests_waiting reported by /metrics
    metrics_status: int = 200
    key: str | None = None  # vLLM's --api-key: /v1 answers 401 without it
    authorization: str | None = None  # a platform's whole header instead (Api-Key K, ...)
    first_token_delay_s: float = 0.0  # prefill
    token_delay_s: float = 0.0  # between tokens
    fail_every: int = 0  # every n-th chat request answers 503 (0: none)
    cold_start_s: float = 0.0  # a request at zero replicas waits this long for one
    idle_to_zero_s: float = 0.0  # after an answer, back to zero this much later (0: never)


@dataclass
class FakeOpenAI:
    model: str = "Qwen/Qwen3-0.6B"
    prefix: str = ""  # where a platform mounts the OpenAI routes (Baseten: .../sync)
    behaviour: Behaviour = field(default_factory=Behaviour)
    seen: list[dict] = field(default_factory=list)  # /v1 requests: path, headers, body
    probes: int = 0  # GET /metrics
    warm: bool = True  # a replica is up (with cold_start_s: starts False)
    on_status: object = None  # called with WAKING_UP, ACTIVE, SCALED_TO_ZERO as a platform says
    runner: web.AppRunner | None = None
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get(f"{self.prefix}/v1/models", self._models)
        app.router.add_post(f"{self.prefix}/v1/chat/completions", self._chat)
        return app

    def _say(self, word: str) -> None:
        if self.on_status is not None:
            self.on_status(word)

    def to_zero(self) -> None:
        self.warm = False
        self._say("SCALED_TO_ZERO")

    async def _wake(self) -> None:
        if self.warm:
            return
        self._say("WAKING_UP")
        await asyncio.sleep(self.behaviour.cold_start_s)
        self.warm = True
        self._say("ACTIVE")

    async def start(self) -> FakeOpenAI:
        self.runner = web.AppRunner(self.app())
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response()

    async def _metrics(self, _request: web.Request) -> web.Response:
        self.probes += 1
        text = ("# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                "# TYPE vllm:num_requests_waiting gauge\n"
                f'vllm:num_requests_waiting{{engine="0",model_name="{self.model}"}} '
                f"{float(self.behaviour.waiting)}\n")
        return web.Response(text=text, status=self.behaviour.metrics_status)

    def _refusal(self, request: web.Request) -> web.Response | None:
        wanted = self.behaviour.authorization or (self.behaviour.key and
                                                  f"Bearer {self.behaviour.key}")
        if wanted and request.headers.get("Authorization") != wanted:
            return web.json_response({"error": "Unauthorized"}, status=401)
        if self.behaviour.status != 200:
            return web.json_response({"error": {"message": "fake failure"}},
                                     status=self.behaviour.status)
        return None

    async def _models(self, request: web.Request) -> web.Response:
        return self._refusal(request) or web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append({"path": request.path, "headers": dict(request.headers), "body": body})
        refused = self._refusal(request)
        if refused:
            return refused
        every = self.behaviour.fail_every
        if every and len(self.seen) % every == 0:
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        await self._wake()
        try:
            return await self._answer(request, body)
        finally:
            if self.behaviour.idle_to_zero_s:
                asyncio.get_running_loop().call_later(self.behaviour.idle_to_zero_s, self.to_zero)

    async def _answer(self, request: web.Request, body: dict) -> web.StreamResponse:
        count = min(self.behaviour.events, body.get("max_tokens") or self.behaviour.events)
        words = [f"w{i} " for i in range(count)]
        await asyncio.sleep(self.behaviour.first_token_delay_s)
        if not body.get("stream"):
            return web.json_response({
                "id": "chatcmpl-1", "object": "chat.completion", "model": self.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "".join(words)}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(words),
                          "total_tokens": 5 + len(words)}})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index, word in enumerate(words):
            if self.behaviour.cut_after is not None and index == self.behaviour.cut_after:
                request.transport.close()
                return response
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": self.model,
                     "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if index == 0 and self.behaviour.hold_after_first is not None:
                await self.behaviour.hold_after_first.wait()
            if self.behaviour.token_delay_s and index < len(words) - 1:
                await asyncio.sleep(self.behaviour.token_delay_s)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
                     "usage": {"prompt_tokens": 5, "completion_tokens": len(words),
                               "total_tokens": 5 + len(words)}}
            await response.write(f"data: {json.dumps(usage)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


class BackgroundLoop:
    """An asyncio loop on its own thread, so synchronous tests (and the tuna CLI in a
    subprocess) can talk to aiohttp servers."""

    def __init__(self):
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
