"""`tuna benchmark cold-start|load-test|show NAME`: the host's side. Results are kept beside the
service's record (the state's benchmarks table), as their --json prints them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tuna import settings
from tuna.bench import cold_start, load
from tuna.bench.target import Target, resolve
from tuna.errors import TunaError, UsageError
from tuna.state import StateStore

COLD_PROMPT_TOKENS, COLD_MAX_TOKENS = 8, 16
ZERO_POLL_S = 10.0
TIMELINE_POLL_S = 1.0


def _reading(store: StateStore, service_name: str):
    """The provider's word and billed replicas now; a hybrid service's are its legs' together."""
    from tuna import lifecycle

    def read() -> cold_start.Reading:
        report = lifecycle.status(store, service_name)
        legs = getattr(report, "legs", None)
        if legs is None:
            remote = report.remote
            return ((remote.provider_status, remote.active_replicas) if remote
                    else (report.record.status.value, 0))
        # The router's one replica is always up: a cold start is the model legs'.
        legs = {name: leg for name, leg in legs.items() if name != "router"}
        counts = [leg.remote.active_replicas if leg.remote else 0 for leg in legs.values()]
        word = " ".join(f"{name}:{leg.remote.provider_status if leg.remote else '-'}"
                        for name, leg in legs.items())
        return word, None if None in counts else sum(counts)
    return read


def _minimums(store: StateStore, target: Target) -> int:
    """The replicas the service keeps up (a hybrid's model legs; its router's are always up)."""
    from tuna.hybrid import leg_name

    router = leg_name(target.service_name, "router")
    legs = [leg for leg in store.legs(target.record) if leg.service_name != router]
    return max(leg.request.scaling.min_replicas for leg in legs or [target.record])


@dataclass(frozen=True)
class ColdStartReport:
    result: cold_start.ColdStartResult

    def to_json(self) -> dict:
        return {"service_name": self.result.service_name, "kind": "cold-start",
                **self.result.summary(), "per_run": [run.to_json() for run in self.result.runs]}

    def lines(self) -> list[str]:
        summary = self.result.summary()
        out = [f"{self.result.service_name}: {summary['runs']} cold start(s), client's clock"]
        for index, run in enumerate(self.result.runs, 1):
            head = (f"  run {index}: error {run.error}" if run.error else
                    f"  run {index}: first token {run.ttft_s:.2f} s, answer {run.total_s:.2f} s")
            steps = ", ".join(f"{word} at {at:.1f} s" for at, word, _ in run.timeline)
            out.append(head + (f"; provider: {steps}" if steps else ""))
        for name in ("ttft_s", "total_s"):
            found = summary[name]
            if found["min"] is not None:
                out.append(f"  {'first token' if name == 'ttft_s' else 'whole answer'}: min "
                           f"{found['min']:.2f} s, median {found['median']:.2f} s, max "
                           f"{found['max']:.2f} s")
        return out


def cold_starts(store: StateStore, service_name: str, runs: int, zero_timeout_s: float,
                url: str | None, note) -> ColdStartReport:
    target = resolve(store, service_name, url)
    if _minimums(store, target):
        raise UsageError(f"{service_name} keeps replicas running (--min-replicas above 0): it "
                         "never starts cold")
    read = _reading(store, service_name)
    poll = settings.poll_interval_cap(ZERO_POLL_S)
    done = []
    for index in range(runs):
        note(f"Run {index + 1}/{runs}: waiting for the provider to report no replica")
        cold_start.wait_for_zero(read, zero_timeout_s, poll)
        # Its own store: the timeline reads on another thread, and SQLite connections stay
        # with the thread that opened them.
        done.append(_one_cold_start(target, _reading(StateStore(store.directory), service_name)))
    result = cold_start.ColdStartResult(service_name, done)
    store.save_benchmark(target.record, "cold-start", ColdStartReport(result).to_json())
    return ColdStartReport(result)


def _one_cold_start(target: Target, read) -> cold_start.ColdRun:
    import time

    import aiohttp

    body = {"model": target.model, "max_tokens": COLD_MAX_TOKENS, "stream": True,
            "messages": [{"role": "user", "content": load.prompt(COLD_PROMPT_TOKENS)}]}
    timeline = cold_start.Timeline(read, settings.poll_interval_cap(TIMELINE_POLL_S))

    async def send():
        timeout = aiohttp.ClientTimeout(total=load.REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            timeline.start(time.perf_counter())
            return await load.one_request(session, target, body)

    sample = asyncio.run(send())
    return cold_start.ColdRun(sample.ttft_s, sample.total_s, sample.error, timeline.stop())


@dataclass(frozen=True)
class LoadReport:
    service_name: str
    summary: dict
    price_per_hour: float | None  # the replicas that served, at tuna's price
    price_note: str

    @property
    def usd_per_million_output_tokens(self) -> float | None:
        tokens, seconds = self.summary["output_tokens"], self.summary["duration_s"]
        if self.price_per_hour is None or not tokens:
            return None
        return self.price_per_hour * seconds / 3600 / tokens * 1e6

    def to_json(self) -> dict:
        return {"service_name": self.service_name, "kind": "load-test", **self.summary,
                "price_per_hour": self.price_per_hour, "price_note": self.price_note,
                "usd_per_million_output_tokens": self.usd_per_million_output_tokens}

    def lines(self) -> list[str]:
        s = self.summary
        out = [f"{self.service_name}: {s['completed']}/{s['requests']} requests in "
               f"{s['duration_s']:.1f} s at concurrency {s['concurrency']}",
               f"  {s['requests_per_s']:.2f} requests/s, {s['output_tokens_per_s']:.1f} output "
               f"tokens/s ({s['output_tokens']} tokens)"]
        for name, title in (("ttft_s", "time to first token"), ("inter_token_s", "between tokens"),
                            ("latency_s", "whole answer")):
            found = s[name]
            if found["p50"] is not None:
                out.append(f"  {title:<20} p50 {found['p50'] * 1000:8.1f} ms  p90 "
                           f"{found['p90'] * 1000:8.1f} ms  p99 {found['p99'] * 1000:8.1f} ms")
        if s["errors"]:
            out.append("  errors: " + ", ".join(f"{kind} {n}" for kind, n in s["errors"].items()))
        cost = self.usd_per_million_output_tokens
        out.append(f"  cost: ${cost:.2f} per million output tokens ({self.price_note})" if cost
                   is not None else f"  cost: not known ({self.price_note})")
        out.append(f"  load generator: {s['client_cpu_ms_per_request']:.2f} ms CPU per request")
        return out


def _leg_price(report) -> tuple[float | None, str]:
    """USD per hour of the replicas that served: those billed at the end, and at least one
    (a serverless service may already be back at zero, or not count its replicas)."""
    from tuna import cost

    record = report.record
    price = cost.replica_price(record)
    if price is None:
        return None, f"tuna has no price for {record.provider}'s replicas"
    active = report.remote.active_replicas if report.remote else None
    replicas = max(1, active or 0)
    why = ("" if active else "; at least one served" if active == 0 else
           f"; {record.provider} reports no replica count: at least one served")
    return replicas * price, f"{replicas} x ${price:.2f}/hour at tuna's price{why}"


def _price(store: StateStore, service_name: str) -> tuple[float | None, str]:
    """USD per hour of what served, at tuna's price; a hybrid service's model legs together."""
    from tuna import lifecycle

    report = lifecycle.status(store, service_name)
    legs = getattr(report, "legs", None)
    if legs is None:
        return _leg_price(report)
    priced = {name: _leg_price(leg) for name, leg in legs.items() if name != "router"}
    unknown = [f"{name}: {why}" for name, (price, why) in priced.items() if price is None]
    if unknown:
        return None, "; ".join(unknown)
    return (sum(price for price, _ in priced.values()),
            "; ".join(f"{name}: {why}" for name, (_, why) in priced.items()))


def load_test(store: StateStore, service_name: str, concurrency: int, requests: int | None,
              duration_s: float | None, prompt_tokens: int, max_tokens: int, url: str | None,
              progress) -> LoadReport:
    if (requests is None) == (duration_s is None):
        raise UsageError("tuna benchmark load-test: give --requests N or --duration D")
    target = resolve(store, service_name, url)
    result = asyncio.run(load.run(target, concurrency, requests, duration_s, prompt_tokens,
                                  max_tokens, progress))
    summary = result.summary()
    if not summary["completed"]:
        kinds = ", ".join(f"{kind} {n}" for kind, n in summary["errors"].items())
        raise TunaError(f"{service_name} answered no request completely ({kinds}): check "
                        f"`tuna status {service_name}` and the key its callers need")
    price, note = _price(store, service_name)
    report = LoadReport(service_name, summary, price, note)
    store.save_benchmark(target.record, "load-test", report.to_json())
    return report


@dataclass(frozen=True)
class Results:
    service_name: str
    results: list[tuple[str, float, dict]]

    def to_json(self) -> list[dict]:
        from tuna.models import iso_time

        return [{"kind": kind, "at": iso_time(at), **result} for kind, at, result in self.results]

    def lines(self) -> list[str]:
        from tuna.models import iso_time

        if not self.results:
            return [f"No benchmarks of {self.service_name} yet: `tuna benchmark cold-start "
                    f"{self.service_name}` or `tuna benchmark load-test {self.service_name}`"]
        out = []
        for kind, at, result in self.results:
            if kind == "load-test":
                out.append(f"{iso_time(at)}  load-test  {result['requests_per_s']:.2f} req/s, "
                           f"{result['output_tokens_per_s']:.1f} tok/s, ttft p50 "
                           f"{(result['ttft_s']['p50'] or 0) * 1000:.0f} ms")
            else:
                ttft = result["ttft_s"]
                out.append(f"{iso_time(at)}  cold-start {result['runs']} run(s), first token "
                           f"median {ttft['median'] or 0:.2f} s")
        return out


def show(store: StateStore, service_name: str) -> Results:
    record = store.require(service_name)
    return Results(service_name, store.benchmarks(record))
