"""What a RunPod endpoint's health says, in tuna's terms, and the endpoints tuna made."""

from __future__ import annotations

import os

from tuna.models import RemoteService, Status
from tuna.providers.runpod.render import NAME_PREFIX

DEFAULT_SERVERLESS_URL = "https://api.runpod.ai/v2"


def serverless_url() -> str:
    """Where endpoints answer: /health, and the OpenAI-compatible route."""
    return (os.environ.get("RUNPOD_SERVERLESS_URL") or DEFAULT_SERVERLESS_URL).rstrip("/")


READY = frozenset({"READY", "SCALED_TO_ZERO"})
FAILED = frozenset({"UNHEALTHY"})  # its workers crash: vLLM will not start as configured


def health_status(health: dict, workers_min: int) -> str:
    """One word for the workers' state. An endpoint whose minimum is zero is ready with no
    worker: its first request starts one (a cold start), as a Baseten model scaled to zero."""
    workers = health.get("workers") or {}
    serving = workers.get("ready", 0) + workers.get("idle", 0) + workers.get("running", 0)
    if serving >= max(1, workers_min):
        return "READY"
    if workers.get("unhealthy", 0) and not serving:
        return "UNHEALTHY"
    if workers.get("initializing", 0) or workers.get("throttled", 0) or serving < workers_min:
        return "THROTTLED" if workers.get("throttled", 0) else "INITIALIZING"
    return "SCALED_TO_ZERO"


def tuna_status(word: str) -> Status:
    if word in READY:
        return Status.ACTIVE
    return Status.UNHEALTHY if word in FAILED else Status.DEPLOYING


def billed_workers(health: dict) -> int:
    """Workers RunPod bills now: starting, idle within their timeout, or serving."""
    workers = health.get("workers") or {}
    return sum(workers.get(k, 0) for k in ("initializing", "ready", "idle", "running"))


def services(endpoints: list[dict]) -> list[RemoteService]:
    return [RemoteService(e["name"][len(NAME_PREFIX):], "runpod",
                          {"endpoint_id": e["id"], "template_id": e.get("templateId", "")},
                          "EXISTS")
            for e in endpoints if str(e.get("name", "")).startswith(NAME_PREFIX)]
