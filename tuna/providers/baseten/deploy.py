"""A Baseten deploy as its steps: push with truss, record the ids, wait until the deployment is
ready and production, then make the autoscaling hold. An update pushes without promoting, waits
until the new deployment is ready, then promotes it with the autoscaling in the same call, so the
live environment never serves with Baseten's defaults."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tuna.errors import ProviderError
from tuna.models import DeploymentResult, DeployRequest, Plan, Record, Status
from tuna.provider import DeployEvents
from tuna.providers.baseten import push, wait
from tuna.providers.baseten.endpoint import curl_example, endpoint_url
from tuna.http_errors import ApiError, NotFound

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

LOG_TAIL_LINES = 20
SETTLE_READS = 20  # reads of the environment while Baseten applies autoscaling...
SETTLE_INTERVAL_S = 0.25  # ...this far apart (TUNA_POLL_INTERVAL caps it)
MANAGED_BY = "tuna"


def labels(service_name: str) -> dict[str, str]:
    """On every deployment tuna pushes, so tuna can recognise its own models later."""
    return {"managed-by": MANAGED_BY, "tuna-service": service_name}


def autoscaling_settings(request: DeployRequest) -> dict:
    scaling = request.scaling
    return {
        "min_replica": scaling.min_replicas,
        "max_replica": scaling.max_replicas,
        "concurrency_target": scaling.concurrency,
        "scale_down_delay": scaling.scale_down_delay,
    }


def autoscaling_differences(wanted: dict, live: dict) -> dict:
    return {key: {"asked": value, "live": live.get(key)} for key, value in wanted.items()
            if live.get(key) != value}


def _settings_text(settings: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings.items())


def push_plan(plan: Plan, key: str, events: DeployEvents, update: Record | None,
              truss: subprocess.Popen | None = None) -> push.Pushed:
    request = plan.request
    with tempfile.TemporaryDirectory(prefix="tuna-truss-") as tmp:
        for relative, content in plan.files.items():
            (Path(tmp) / relative).write_text(content)
        events.progress(f"Pushing {request.service_name} with truss"
                        + (" as a new deployment, promoted once it is ready" if update else ""))
        pushed = push.push(Path(tmp), key, team=request.team, labels=labels(request.service_name),
                           started=truss)
    if update and pushed.model_id != update.provider_ids["model_id"]:
        raise ProviderError(f"truss pushed to model {pushed.model_id}, not the service's "
                            f"{update.provider_ids['model_id']}; check the Baseten dashboard")
    return pushed


def record_ids(pushed: push.Pushed, events: DeployEvents, update: Record | None) -> dict:
    """Report the new ids at once. An update's deployment is a candidate until it serves."""
    if update:
        events.created({"candidate_deployment_id": pushed.deployment_id})
        return {"model_id": pushed.model_id, "deployment_id": pushed.deployment_id,
                "candidate_deployment_id": None}
    ids = {"model_id": pushed.model_id, "deployment_id": pushed.deployment_id}
    events.created(ids)
    return ids


def wait_until_ready(api: BasetenApi, pushed: push.Pushed, events: DeployEvents,
                     timeout_s: float, update: Record | None, started_ms: int) -> int | None:
    """Wait until the deployment is ready and production; return its active replicas. Raise
    with the log tail if it fails."""
    last: dict = {}

    def read_status() -> str:
        last.update(api.get_deployment(pushed.model_id, pushed.deployment_id))
        # Baseten promotes a first deployment only after it has deployed: until then it does not
        # serve the production endpoint. An update's is promoted by tuna, once it is ready.
        if last["status"] in wait.READY and not last.get("is_production") and not update:
            return "PROMOTING"
        return last["status"]

    try:
        outcome = wait.wait_until_ready(
            read_status, events.status, timeout_s,
            on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
    except NotFound:
        raise ProviderError(f"deployment {pushed.deployment_id} was deleted while tuna waited for "
                            "it (by another tuna process or in the Baseten dashboard)") from None
    if not outcome.ready:
        previous = " (the previous deployment keeps serving)" if update else ""
        raise ProviderError(f"deployment {pushed.deployment_id} ended {outcome.status}"
                            + previous + log_tail(api, pushed, started_ms))
    return last.get("active_replica_count")


def promote(api: BasetenApi, pushed: push.Pushed, wanted: dict, events: DeployEvents,
            timeout_s: float) -> None:
    """Promote the ready deployment with `wanted` in the same call, then wait until the
    environment serves it (Baseten completes a promotion asynchronously)."""
    events.progress("Promoting the new deployment to production with autoscaling "
                    + _settings_text(wanted))
    api.promote(pushed.model_id, pushed.deployment_id, wanted)

    def read_environment() -> str:
        current = api.get_environment(pushed.model_id).get("current_deployment") or {}
        return "ACTIVE" if current.get("id") == pushed.deployment_id else "PROMOTING"

    outcome = wait.wait_until_ready(read_environment, events.status, timeout_s)
    if not outcome.ready:
        raise ProviderError(f"the promotion of deployment {pushed.deployment_id} ended "
                            f"{outcome.status}; the previous deployment keeps serving")


def apply_autoscaling(api: BasetenApi, model_id: str, wanted: dict, events: DeployEvents,
                      sleep: Callable[[float], None] = time.sleep) -> dict:
    """Make the production environment hold `wanted`: read it, apply what differs, read back
    until it holds (Baseten applies settings asynchronously). Returns what finally holds."""
    try:
        live = api.get_environment(model_id).get("autoscaling_settings") or {}
        if autoscaling_differences(wanted, live):
            api.update_autoscaling(model_id, wanted)
            for _ in range(SETTLE_READS):
                live = api.get_environment(model_id).get("autoscaling_settings") or {}
                if not autoscaling_differences(wanted, live):
                    break
                sleep(min(SETTLE_INTERVAL_S, wait.poll_intervals()[1]))
    except ApiError as exc:
        events.progress(f"Warning: autoscaling not applied ({exc}); `tuna status` shows what holds")
        return {}
    differs = autoscaling_differences(wanted, live)
    if differs:
        events.progress(f"Warning: Baseten still holds {_settings_text({k: v['live'] for k, v in differs.items()})}"
                        f" instead of {_settings_text({k: v['asked'] for k, v in differs.items()})}; "
                        "`tuna status` shows what holds")
    else:
        events.progress("Autoscaling holds: " + _settings_text({k: live[k] for k in wanted}))
    return live


def send_autoscaling(api: BasetenApi, model_id: str, wanted: dict, events: DeployEvents) -> None:
    """For a deploy that does not wait: send the settings once. Baseten applies them
    asynchronously and may replace them with its defaults at the first promotion, which tuna
    does not wait for here: `tuna wait` and `tuna status` see what holds."""
    try:
        api.update_autoscaling(model_id, wanted)
    except ApiError as exc:
        events.progress(f"Warning: autoscaling not sent ({exc})")
        return
    events.progress(f"Autoscaling sent: {_settings_text(wanted)}; `tuna wait` makes sure it "
                    "holds once the deployment is production")


def log_tail(api: BasetenApi, pushed: push.Pushed, since_ms: int) -> str:
    try:
        logs = api.deployment_logs(pushed.model_id, pushed.deployment_id, since_ms, LOG_TAIL_LINES)
    except ApiError:
        return ""
    lines = [str(entry.get("message", "")).rstrip() for entry in logs]
    return "; last log lines:\n" + "\n".join(lines) if lines else ""


def deploy(api: BasetenApi, key: str, plan: Plan, events: DeployEvents,
           wait_timeout: float | None, update: Record | None,
           truss: subprocess.Popen | None = None) -> DeploymentResult:
    request = plan.request
    started_ms = int(time.time() * 1000)
    pushed = push_plan(plan, key, events, update, truss)
    ids = record_ids(pushed, events, update)
    url = endpoint_url(pushed.model_id, pushed.predict_url)
    wanted = autoscaling_settings(request)
    status, replicas = Status.DEPLOYING, None
    if wait_timeout is not None:
        deadline = time.monotonic() + wait_timeout
        replicas = wait_until_ready(api, pushed, events, wait_timeout, update, started_ms)
        if update:
            promote(api, pushed, wanted, events, max(1.0, deadline - time.monotonic()))
        apply_autoscaling(api, pushed.model_id, wanted, events)
        status = Status.ACTIVE
    elif update:
        # Promoting needs a ready deployment: until then the previous one serves as it is.
        events.progress("The previous deployment serves until the new one is ready: `tuna wait "
                        f"--service-name {request.service_name}` promotes it then")
    else:
        send_autoscaling(api, pushed.model_id, wanted, events)
    return DeploymentResult(request.service_name, "baseten", status, ids, url, request.model,
                            curl_example(url, request.model), replicas)
