"""Which leg serves a request: pure rules, so a test can read them as a spec."""

from __future__ import annotations

import math
from dataclasses import dataclass

SPOT, SERVERLESS = "spot", "serverless"
# Answers that mean "this leg cannot take it now" before any byte reached the client: SkyServe's
# load balancer says 503 "No ready replicas" and 500 "Max retries 3 exceeded"; gateways 502/504.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# A diverted request probes spot at most this often: each probe is demand SkyServe counts.
DIVERTED_PROBE_EVERY_S = 1.0


@dataclass
class SpotHealth:
    """What the last probe of the spot fleet (GET /metrics through its load balancer) said."""

    ready: bool = False
    waiting: float = 0.0  # vllm:num_requests_waiting on the replica that answered
    probed_at: float = -math.inf


def choose(health: SpotHealth, spot_inflight: int, spot_cap: int) -> str:
    """Spot while it is ready, not queueing (the load balancer probes its least-loaded replica, so
    a queue there means the fleet is full) and under its cap; else serverless."""
    if health.ready and health.waiting == 0 and spot_inflight < spot_cap:
        return SPOT
    return SERVERLESS


def other(leg: str) -> str:
    return SERVERLESS if leg == SPOT else SPOT


def may_retry_on(leg: str, health: SpotHealth) -> bool:
    """A failed first try moves once to the other leg: always to serverless, to spot only while
    it is ready."""
    return leg == SPOT or health.ready


def waiting_requests(metrics_text: str) -> float:
    """vLLM's queue from its Prometheus text (one sample per model/engine: summed)."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "vllm:num_requests_waiting":
            total += sum(sample.value for sample in family.samples)
    return total


@dataclass
class Demand:
    """When clients last sent something: the router reports demand to SkyServe (its probes) only
    while they are active, so the fleet scales to zero once they stop."""

    idle_s: float
    last_request_at: float = -math.inf
    last_diverted_probe_at: float = -math.inf

    def active(self, now: float) -> bool:
        return now - self.last_request_at < self.idle_s

    def probe_for_diverted(self, now: float) -> bool:
        if now - self.last_diverted_probe_at < DIVERTED_PROBE_EVERY_S:
            return False
        self.last_diverted_probe_at = now
        return True
