"""A load test through the OpenAI-compatible endpoint: C workers stream chat completions (aiohttp,
one connection pool) until N requests are done or D seconds pass, timing each answer's first
token, the gaps between tokens and the whole answer."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tuna.bench.stats import percentiles
from tuna.bench.target import Target

REQUEST_TIMEOUT_S = 600.0


@dataclass
class Sample:
    """One request as the client saw it."""

    error: str | None = None  # None: a whole answer; else its kind (http_503, connect, cut, ...)
    ttft_s: float | None = None
    total_s: float = 0.0
    gaps_s: list[float] = field(default_factory=list)  # between successive tokens
    tokens: int = 0  # the usage the endpoint reported, else the content chunks counted


def prompt(tokens: int) -> str:
    """About `tokens` tokens of prompt: one common word is one token in most vocabularies."""
    return " ".join(["hello"] * max(1, tokens))


async def one_request(session, target: Target, body: dict,
                      clock: Callable[[], float] = time.perf_counter) -> Sample:
    import aiohttp

    sample, start = Sample(), clock()
    last, done, usage = None, False, None
    try:
        async with session.post(f"{target.base_url}/chat/completions", json=body,
                                headers=target.headers) as answer:
            if answer.status != 200:
                sample.error = f"http_{answer.status}"
                await answer.read()
            else:
                async for raw in answer.content:
                    line = raw.strip()
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    chunk = json.loads(data)
                    usage = (chunk.get("usage") or {}).get("completion_tokens", usage)
                    if any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                        now = clock()
                        if sample.ttft_s is None:
                            sample.ttft_s = now - start
                        else:
                            sample.gaps_s.append(now - last)
                        last = now
                        sample.tokens += 1
                if not done:
                    sample.error = "cut"  # the stream ended without [DONE]
    except aiohttp.ClientPayloadError:
        sample.error = "cut"
    except (aiohttp.ClientConnectionError, OSError):
        sample.error = "connect"
    except asyncio.TimeoutError:
        sample.error = "timeout"
    except ValueError:
        sample.error = "bad_answer"  # not the OpenAI stream format
    sample.total_s = clock() - start
    if usage is not None and sample.error is None:
        sample.tokens = usage
    return sample


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    duration_s: float
    samples: list[Sample]
    client_cpu_s: float  # the load generator's own CPU time: it must not be the bottleneck

    @property
    def completed(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None]

    def summary(self) -> dict:
        done = self.completed
        tokens = sum(s.tokens for s in done)
        return {
            "concurrency": self.concurrency, "requests": len(self.samples),
            "completed": len(done), "errors": dict(Counter(s.error for s in self.samples
                                                           if s.error)),
            "duration_s": self.duration_s,
            "requests_per_s": len(done) / self.duration_s if self.duration_s else None,
            "output_tokens": tokens,
            "output_tokens_per_s": tokens / self.duration_s if self.duration_s else None,
            "ttft_s": percentiles([s.ttft_s for s in done if s.ttft_s is not None]),
            "inter_token_s": percentiles([g for s in done for g in s.gaps_s]),
            "latency_s": percentiles([s.total_s for s in done]),
            "client_cpu_ms_per_request": (1000 * self.client_cpu_s / len(self.samples)
                                          if self.samples else None),
        }


async def run(target: Target, concurrency: int, requests: int | None, duration_s: float | None,
              prompt_tokens: int, max_tokens: int,
              progress: Callable[[int, int, float], None] = lambda *_: None,
              clock: Callable[[], float] = time.perf_counter) -> LoadResult:
    """Until `requests` are sent or `duration_s` has passed (whichever is given)."""
    import aiohttp

    body = {"model": target.model, "messages": [{"role": "user", "content": prompt(prompt_tokens)}],
            "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}}
    samples: list[Sample] = []
    started, cpu = clock(), time.process_time()
    sent = 0

    def more() -> bool:
        nonlocal sent
        if requests is not None and sent >= requests:
            return False
        if duration_s is not None and clock() - started >= duration_s:
            return False
        sent += 1
        return True

    async def worker(session):
        while more():
            samples.append(await one_request(session, target, body, clock))

    async def report():
        while True:
            await asyncio.sleep(0.5)
            progress(len(samples), sum(1 for s in samples if s.error), clock() - started)

    limits = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S, sock_connect=10)
    async with aiohttp.ClientSession(connector=limits, timeout=timeout) as session:
        reporter = asyncio.create_task(report())
        try:
            await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        finally:
            reporter.cancel()
    progress(len(samples), sum(1 for s in samples if s.error), clock() - started)
    return LoadResult(concurrency, clock() - started, samples, time.process_time() - cpu)
