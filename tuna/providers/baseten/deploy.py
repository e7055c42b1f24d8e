"""A Baseten deploy as its steps: push with truss, record the ids, apply autoscaling, wait."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tuna.errors import ProviderError
from tuna.models import DeploymentResult, DeployRequest, Plan, Record, Status
from tuna.provider import DeployEvents
from tuna.providers.baseten import push, wait
from tuna.providers.baseten.endpoint import curl_example, endpoint_url
from tuna.providers.baseten.errors import ApiError

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

LOG_TAIL_LINES = 20


def autoscaling_settings(request: DeployRequest) -> dict:
    scaling = request.scaling
    return {
        "min_replica": scaling.min_replicas,
        "max_replica": scaling.max_replicas,
        "concurrency_target": scaling.concurrency,
        "scale_down_delay": scaling.scale_down_delay,
    }


def push_plan(plan: Plan, key: str, events: DeployEvents, update: Record | None) -> push.Pushed:
    with tempfile.TemporaryDirectory(prefix="tuna-truss-") as tmp:
        for relative, content in plan.files.items():
            (Path(tmp) / relative).write_text(content)
        events.progress(f"Pushing {plan.request.service_name} with truss"
                        + (" as a new production deployment" if update else ""))
        pushed = push.push(Path(tmp), key, promote=update is not None)
    if update and pushed.model_id != update.provider_ids["model_id"]:
        raise ProviderError(f"truss pushed to model {pushed.model_id}, not the service's "
                            f"{update.provider_ids['model_id']}; check the Baseten dashboard")
    return pushed


def record_ids(pushed: push.Pushed, events: DeployEvents) -> dict[str, str]:
    ids = {"model_id": pushed.model_id, "deployment_id": pushed.deployment_id}
    events.created(ids)
    return ids


def apply_autoscaling(api: BasetenApi, model_id: str, request: DeployRequest,
                      events: DeployEvents) -> None:
    """Apply and read back; a failure is a warning, since Baseten's defaults scale to zero."""
    wanted = autoscaling_settings(request)
    try:
        api.update_autoscaling(model_id, wanted)
        applied = api.get_environment(model_id).get("autoscaling_settings") or {}
    except ApiError as exc:
        events.progress(f"Warning: autoscaling not applied ({exc}); Baseten's defaults hold")
        return
    # Baseten applies environment settings asynchronously: say so if not yet visible.
    pending = {k: v for k, v in wanted.items() if applied.get(k) != v}
    events.progress("Autoscaling: " + ", ".join(f"{k}={v}" for k, v in wanted.items())
                    + (f" (still applying: {', '.join(pending)})" if pending else ""))


def wait_until_ready(api: BasetenApi, pushed: push.Pushed, events: DeployEvents,
                     timeout_s: float, update: Record | None, started_ms: int) -> int | None:
    """Wait for the deployment; return its active replicas. Raise with the log tail if it fails."""
    last: dict = {}

    def read_status() -> str:
        last.update(api.get_deployment(pushed.model_id, pushed.deployment_id))
        # An update is ready once Baseten has made it production, not before.
        if update and last["status"] in wait.READY and not last.get("is_production"):
            return "PROMOTING"
        return last["status"]

    outcome = wait.wait_until_ready(
        read_status, events.status, timeout_s,
        on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
    if not outcome.ready:
        previous = " (the previous deployment keeps serving)" if update else ""
        raise ProviderError(f"deployment {pushed.deployment_id} ended {outcome.status}"
                            + previous + log_tail(api, pushed, started_ms))
    return last.get("active_replica_count")


def log_tail(api: BasetenApi, pushed: push.Pushed, since_ms: int) -> str:
    try:
        logs = api.deployment_logs(pushed.model_id, pushed.deployment_id, since_ms, LOG_TAIL_LINES)
    except ApiError:
        return ""
    lines = [str(entry.get("message", "")).rstrip() for entry in logs]
    return "; last log lines:\n" + "\n".join(lines) if lines else ""


def deploy(api: BasetenApi, key: str, plan: Plan, events: DeployEvents,
           wait_timeout: float | None, update: Record | None) -> DeploymentResult:
    request = plan.request
    started_ms = int(time.time() * 1000)
    pushed = push_plan(plan, key, events, update)
    ids = record_ids(pushed, events)
    apply_autoscaling(api, pushed.model_id, request, events)
    status, replicas = Status.DEPLOYING, None
    if wait_timeout is not None:
        replicas = wait_until_ready(api, pushed, events, wait_timeout, update, started_ms)
        status = Status.ACTIVE
    url = endpoint_url(pushed.model_id)
    return DeploymentResult(request.service_name, "baseten", status, ids, url, request.model,
                            curl_example(url, request.model), replicas)
