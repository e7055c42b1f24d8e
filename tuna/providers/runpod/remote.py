"""What a RunPod endpoint and its workers say, in tuna's terms, and the endpoints tuna made.

Readiness comes from REST API v2's worker list (`GET /v2/serverless/{id}/workers`), not from the
job API's /health: health counts say nothing of which configuration a worker runs, and with no
minimum workers they are all zero whether or not the model can load. RunPod's vLLM worker
starts its job loop only once vLLM answers /health (worker-vllm src/main.py), so an IDLE or
RUNNING worker of the current configuration has loaded the model.
"""

from __future__ import annotations

import os

from tuna.models import RemoteService, Status
from tuna.providers.runpod.render import NAME_PREFIX

DEFAULT_SERVERLESS_URL = "https://api.runpod.ai/v2"


def serverless_url() -> str:
    """Where endpoints answer: /health, and the OpenAI-compatible route."""
    return (os.environ.get("RUNPOD_SERVERLESS_URL") or DEFAULT_SERVERLESS_URL).rstrip("/")


LOADED = frozenset({"IDLE", "RUNNING"})  # the worker's job loop runs: vLLM is up

# The provider's words, and what tuna calls them.
STATUSES = {
    "READY": Status.ACTIVE,  # as many loaded workers as the minimum (at least one)
    "SCALED_TO_ZERO": Status.ACTIVE,  # no worker now, but one of this config loaded before
    "COLD": Status.COLD,  # accepted, no worker yet: nothing has shown the model loads
    "INITIALIZING": Status.DEPLOYING,
    "THROTTLED": Status.DEPLOYING,  # waiting for GPU capacity
    "UNHEALTHY": Status.UNHEALTHY,  # workers crash: vLLM does not start as configured
    "SCALED_DOWN": Status.INACTIVE,  # RunPod cut max workers to 0 (after days idle)
}
# What ends a wait: with a minimum of workers, loaded ones; without, the endpoint's acceptance.
READY = frozenset({"READY", "SCALED_TO_ZERO", "COLD"})
FAILED = frozenset({"UNHEALTHY", "SCALED_DOWN"})


def worker_counts(listing: dict) -> dict[str, int]:
    """Workers by status, of the endpoint's current configuration only (a stale worker runs
    the configuration an update replaces)."""
    counts = dict.fromkeys(("RUNNING", "IDLE", "INITIALIZING", "THROTTLED", "UNHEALTHY"), 0)
    for worker in listing.get("workers") or []:
        if not worker.get("isStale") and worker.get("status") in counts:
            counts[worker["status"]] += 1
    return counts


def endpoint_status(endpoint: dict, listing: dict, loaded_before: bool) -> str:
    """One word for the endpoint: see STATUSES. `loaded_before`: tuna has seen a worker of
    this configuration load the model."""
    workers = endpoint.get("workers") or {}
    if workers.get("max", 1) == 0:
        return "SCALED_DOWN"
    counts = worker_counts(listing)
    loaded = sum(counts[state] for state in LOADED)
    minimum = workers.get("min", 0)
    if loaded and loaded >= minimum:
        return "READY"
    if counts["UNHEALTHY"] and not loaded:
        return "UNHEALTHY"
    if minimum == 0 and not counts["INITIALIZING"] and not counts["THROTTLED"]:
        return "SCALED_TO_ZERO" if loaded_before else "COLD"
    return "THROTTLED" if counts["THROTTLED"] and not counts["INITIALIZING"] else "INITIALIZING"


def billed_workers(listing: dict) -> tuple[int, int]:
    """Workers RunPod bills now, as a range. Every page bills RUNNING workers. RunPod's pricing
    page also bills start-up (loading the model) and the idle-timeout tail, while its workers
    page lists Initializing and Idle as not billed: the upper figure counts them."""
    states = [w.get("status") for w in listing.get("workers") or []]
    running = states.count("RUNNING")
    return running, running + states.count("IDLE") + states.count("INITIALIZING")


def services(endpoints: list[dict]) -> list[RemoteService]:
    return [RemoteService(e["name"][len(NAME_PREFIX):], "runpod", {"endpoint_id": e["id"]},
                          "SCALED_DOWN" if (e.get("workers") or {}).get("max") == 0 else "EXISTS")
            for e in endpoints if str(e.get("name", "")).startswith(NAME_PREFIX)]
