"""Baseten: vLLM in a Truss `docker_server`, pushed with the truss CLI, run through the REST API."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tuna import catalog
from tuna.errors import ProviderError, TunaError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, ServiceStatus,
                         Status)
from tuna.provider import DeployEvents, Provider
from tuna.providers.baseten import push, render, truss_config, wait
from tuna.providers.baseten.errors import ApiError, KeyRejected, NotFound
from tuna.state import Record

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

KEY_HINT = ("create an API key at https://app.baseten.co/settings/api_keys, then "
            "`export BASETEN_API_KEY=...`")
LOG_TAIL_LINES = 20


def endpoint_url(model_id: str) -> str:
    """Baseten's documented OpenAI-compatible base URL for the production environment."""
    return f"https://model-{model_id}.api.baseten.co/environments/production/sync/v1"


def curl_example(model_id: str, served_model_name: str) -> str:
    return (
        f"curl {endpoint_url(model_id)}/chat/completions \\\n"
        '  -H "Authorization: Api-Key $BASETEN_API_KEY" -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"model": "{served_model_name}", '
        '"messages": [{"role": "user", "content": "Hello"}]}\''
    )


def _api_key() -> str:
    key = os.environ.get("BASETEN_API_KEY", "").strip()
    if not key:
        raise TunaError(f"BASETEN_API_KEY is not set: {KEY_HINT}")
    return key


def _client(key: str) -> BasetenApi:
    # requests is imported only by commands that talk to Baseten, not by --dry-run.
    from tuna.providers.baseten.api import BasetenApi

    return BasetenApi(key)


def _autoscaling_settings(request: DeployRequest) -> dict:
    scaling = request.scaling
    return {
        "min_replica": scaling.min_replicas,
        "max_replica": scaling.max_replicas,
        # Never above predict_concurrency, or requests would queue inside a replica.
        "concurrency_target": scaling.concurrency,
        "scale_down_delay": scaling.scale_down_delay,
    }


class BasetenProvider(Provider):
    name = "baseten"
    extra = "baseten"
    requires = ("truss",)
    limits = {
        "tp_size": (8, "a Baseten replica has at most 8 GPUs"),
        "scale_down_delay": (3600, "Baseten accepts a scale-down delay of 0-3600 s"),
    }

    # --- offline ---------------------------------------------------------------------------

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().offer(request.gpu, self.name)
        if offer is None:
            raise TunaError(f"baseten does not offer {request.gpu}")
        config = render.render_config(request, offer.provider_gpu_id)
        with tempfile.TemporaryDirectory(prefix="tuna-validate-") as tmp:
            path = Path(tmp) / "config.yaml"
            path.write_text(config)
            truss_config.validate(path)
        gpus = request.gpu_count
        return Plan(self.name, request, {"config.yaml": config}, {
            "model": f"{request.model}@{request.revision} (Baseten weight cache)",
            "image": request.image or render.DEFAULT_IMAGE,
            "accelerator": render.accelerator(offer.provider_gpu_id, gpus),
            "price": f"${offer.price_per_gpu_hour * gpus:.2f}/hour per replica "
                     f"({gpus} x {request.gpu}), billed per {offer.billing_unit}",
            "weights auth": request.hf_secret or f"none (uses secret {render.DEFAULT_HF_SECRET} "
                                                 "at deploy if the workspace has it)",
        })

    # --- checks ----------------------------------------------------------------------------

    def preflight(self, request: DeployRequest | None, update: Record | None = None) -> list[Check]:
        checks = [self._truss_check()]
        key = os.environ.get("BASETEN_API_KEY", "").strip()
        if not key:
            return [Check("API key", False, "BASETEN_API_KEY is not set", KEY_HINT), *checks]
        api = _client(key)
        try:
            secrets = api.secret_names()
        except KeyRejected:
            return [Check("API key", False, "key rejected by Baseten (HTTP 401/403)",
                          "use a workspace API key with management access: " + KEY_HINT), *checks]
        except ApiError as exc:
            return [Check("Baseten API", False, str(exc),
                          f"check the network and BASETEN_API_URL ({api.base_url})"), *checks]
        checks.insert(0, Check("API key", True, f"accepted by {api.base_url}"))
        if request is None:
            return checks
        offered = catalog.load().offer(request.gpu, self.name) is not None
        checks.append(Check("GPU", offered, f"{request.gpu} " + ("offered" if offered else
                            "not offered"), "`tuna show-gpus --provider baseten` lists GPUs"))
        if request.hf_secret:
            found = request.hf_secret in secrets
            checks.append(Check(
                "secret", found, f"workspace secret {request.hf_secret!r} "
                + ("exists" if found else "is missing"),
                f"add it with your Hugging Face token at https://app.baseten.co/settings/secrets "
                f"(name: {request.hf_secret})"))
        found = {m["id"] for m in api.models_named(request.service_name)}
        ours = {update.provider_ids["model_id"]} if update else set()
        checks.append(Check(
            "model name", found <= ours,
            f"{request.service_name!r} " + ("is already a model in the workspace"
                                             if found - ours else "is free or ours"),
            "choose another --service-name: tuna does not push into a model it did not create"))
        return checks

    def _truss_check(self) -> Check:
        executable = push.truss_executable()
        if executable is None:
            return Check("truss", False, "truss CLI not found", "pip install 'tuna[baseten]'")
        try:
            version = subprocess.run([executable, "--version"], capture_output=True, text=True,
                                     timeout=60, check=True,
                                     env={**os.environ, "TRUSS_NO_UPDATE_CHECK": "1"}).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return Check("truss", False, f"{executable} does not run ({type(exc).__name__})",
                         "reinstall it: pip install 'tuna[baseten]'")
        return Check("truss", True, version.strip())

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        key = _api_key()
        api = _client(key)
        request = plan.request
        if request.hf_secret is None and render.DEFAULT_HF_SECRET in api.secret_names():
            request = replace(request, hf_secret=render.DEFAULT_HF_SECRET)
            plan = self.plan(request)
            events.progress(f"Weights authenticate with workspace secret {request.hf_secret}")
        started_ms = int(time.time() * 1000)
        with tempfile.TemporaryDirectory(prefix="tuna-truss-") as tmp:
            plan.write(Path(tmp))
            events.progress(f"Pushing {request.service_name} with truss"
                            + (" as a new production deployment" if update else ""))
            pushed = push.push(Path(tmp), key, promote=update is not None)
        if update and pushed.model_id != update.provider_ids["model_id"]:
            raise ProviderError(f"truss pushed to model {pushed.model_id}, not the service's "
                                f"{update.provider_ids['model_id']}; check the Baseten dashboard")
        ids = {"model_id": pushed.model_id, "deployment_id": pushed.deployment_id}
        events.created(ids)
        self._apply_autoscaling(api, pushed.model_id, request, events)
        status, replicas = Status.DEPLOYING, None
        if wait_timeout is not None:
            last: dict = {}

            def read_status() -> str:
                last.update(api.get_deployment(pushed.model_id, pushed.deployment_id))
                # An update is ready once Baseten has made it production, not before.
                if update and last["status"] in wait.READY and not last.get("is_production"):
                    return "PROMOTING"
                return last["status"]

            outcome = wait.wait_until_ready(
                read_status, events.status, wait_timeout,
                on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
            if not outcome.ready:
                previous = " (the previous deployment keeps serving)" if update else ""
                raise ProviderError(f"deployment {pushed.deployment_id} ended {outcome.status}"
                                    + previous + self._log_tail(api, pushed, started_ms))
            status, replicas = Status.ACTIVE, last.get("active_replica_count")
        return DeploymentResult(
            request.service_name, self.name, status, ids, endpoint_url(pushed.model_id),
            request.model, curl_example(pushed.model_id, request.model), replicas)

    def _apply_autoscaling(self, api: BasetenApi, model_id: str, request: DeployRequest,
                           events: DeployEvents) -> None:
        """Apply and read back; a failure is a warning, since Baseten's defaults scale to zero."""
        wanted = _autoscaling_settings(request)
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

    def _log_tail(self, api: BasetenApi, pushed: push.Pushed, since_ms: int) -> str:
        try:
            logs = api.deployment_logs(pushed.model_id, pushed.deployment_id, since_ms,
                                       LOG_TAIL_LINES)
        except ApiError:
            return ""
        lines = [str(entry.get("message", "")).rstrip() for entry in logs]
        return "; last log lines:\n" + "\n".join(lines) if lines else ""

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        api = _client(_api_key())
        entries = api.deployment_logs(record.provider_ids["model_id"],
                                      record.provider_ids["deployment_id"], since_ms, limit=1000)
        return [LogLine(int(e["timestamp"]), str(e.get("message", "")), e.get("replica"))
                for e in entries]

    def _model_id(self, api: BasetenApi, record: Record) -> str | None:
        """The record's model, or for a record whose push never reported back, the model
        that push created under the record's exact name."""
        if record.provider_ids.get("model_id"):
            return record.provider_ids["model_id"]
        found = api.models_named(record.service_name)
        if len(found) > 1:
            raise ProviderError(f"{len(found)} Baseten models are named {record.service_name!r}; "
                                "delete the right one in the Baseten dashboard")
        return found[0]["id"] if found else None

    def status(self, record: Record) -> ServiceStatus:
        api = _client(_api_key())
        model_id = self._model_id(api, record)
        if model_id is None:
            return ServiceStatus(record.status, "NOT_CREATED", None,
                                 {"note": f"no Baseten model named {record.service_name} yet"})
        deployment_id = record.provider_ids.get("deployment_id") or "production"
        try:
            deployment = api.get_deployment(model_id, deployment_id)
        except NotFound:
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0,
                                 {"note": f"model {model_id} no longer exists on Baseten"})
        environment = api.get_environment(model_id)
        replicas = deployment.get("active_replica_count") or 0
        return ServiceStatus(
            wait.tuna_status(deployment["status"]), deployment["status"], endpoint_url(model_id),
            replicas,
            {"model_id": model_id, "deployment_id": deployment["id"],
             "autoscaling": environment.get("autoscaling_settings") or {},
             "instance_type": deployment.get("instance_type_name")})

    def destroy(self, record: Record) -> None:
        api = _client(_api_key())
        model_id = self._model_id(api, record)
        if model_id is None:
            return  # the push never created a model: nothing to remove
        try:
            api.delete_model(model_id)
        except NotFound:
            pass  # already gone
        try:
            api.get_model(model_id)
        except NotFound:
            return
        raise ProviderError(f"Baseten still lists model {model_id} after the delete; "
                            f"run `tuna destroy --service-name {record.service_name}` again")
