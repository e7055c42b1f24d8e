"""The Baseten plugin: tuna's InferenceProvider contract, each method a few named steps."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tuna import catalog
from tuna.errors import ProviderError, TunaError, UsageError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, Record,
                         ServiceStatus, Status)
from tuna.provider import (QUANTIZATION, SCALE_DOWN_DELAY, TP_SIZE, DeployEvents,
                           InferenceProvider, Limit, Preflight)
from tuna.providers.baseten import checks, deploy, render, truss_config, wait
from tuna.providers.baseten.credentials import client, required_api_key
from tuna.providers.baseten.deploy import autoscaling_differences, autoscaling_settings
from tuna.providers.baseten.endpoint import endpoint_url
from tuna.providers.baseten.errors import NotFound


class BasetenProvider(InferenceProvider):
    name = "baseten"
    extra = "baseten"
    requires = ("truss",)
    limits = (
        Limit(TP_SIZE, {1, 2, 4, 8}, "a Baseten replica has 1, 2, 4 or 8 GPUs"),
        Limit(TP_SIZE, {1}, "an H100 MIG slice is a single GPU", frozenset({"H100_MIG_40GB"})),
        Limit(SCALE_DOWN_DELAY, range(0, 3601), "Baseten accepts a scale-down delay of 0-3600 s"),
        Limit(QUANTIZATION, (), "vLLM's gguf loads one .gguf file, and Baseten's weight cache "
              "mounts a directory", refused=frozenset({"gguf"})),
    )
    environment = {
        "BASETEN_API_KEY": "workspace API key (https://app.baseten.co/settings/api_keys)",
        "BASETEN_API_URL": "management REST API (default https://api.baseten.co)",
        "BASETEN_REMOTE_URL": "what `truss push` talks to (default https://app.baseten.co)",
    }

    # --- offline ---------------------------------------------------------------------------

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().offer(request.gpu, self.name)
        if offer is None:
            raise TunaError(f"baseten does not offer {request.gpu}")
        gpus = request.gpu_count
        return Plan(self.name, request, {"config.yaml": render.render_config(
            request, offer.provider_gpu_id)}, {
            "model": f"{request.model}@{request.revision} (Baseten weight cache)",
            "image": request.image or render.default_image(),
            "accelerator": render.accelerator(offer.provider_gpu_id, gpus),
            "price": f"${offer.price_per_gpu_hour * gpus:.2f}/hour per replica "
                     f"({gpus} x {request.gpu}), billed per {offer.billing_unit}",
            "weights auth": request.hf_secret or f"none (uses secret {render.DEFAULT_HF_SECRET} "
                                                 "at deploy if the workspace has it)",
        })

    def validate(self, plan: Plan) -> str:
        with tempfile.TemporaryDirectory(prefix="tuna-validate-") as tmp:
            path = Path(tmp) / "config.yaml"
            path.write_text(plan.files["config.yaml"])
            return truss_config.validate(path)

    # --- checks ----------------------------------------------------------------------------

    def check_account(self) -> list[Check]:
        return [checks.account()[0], checks.truss_runs()]

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        return checks.preflight(request, update)

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        key = required_api_key()
        return deploy.deploy(client(key), key, plan, events, wait_timeout, update)

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        from tuna.providers.baseten.api import LOG_WINDOW_S, MAX_LOG_LINES

        # A few seconds inside the window: Baseten measures it against its own clock.
        oldest_ms = int((time.time() - LOG_WINDOW_S + 5) * 1000)
        if since_ms < oldest_ms - 60_000:
            raise UsageError("--since: Baseten serves logs of the last 7 days at most")
        entries = client().deployment_logs(record.provider_ids["model_id"],
                                           record.provider_ids["deployment_id"],
                                           max(since_ms, oldest_ms), limit=MAX_LOG_LINES)
        return [LogLine(int(e["timestamp"]), str(e.get("message", "")), e.get("replica"))
                for e in entries]

    def _model_id(self, api, record: Record) -> str | None:
        """The record's model, or for a record whose push never reported back, the model
        that push created under the record's exact name."""
        if record.provider_ids.get("model_id"):
            return record.provider_ids["model_id"]
        found = api.models_named(record.service_name)
        if len(found) > 1:
            raise ProviderError(f"{len(found)} Baseten models are named {record.service_name!r}; "
                                "delete the right one in the Baseten dashboard")
        return found[0]["id"] if found else None

    def _deployment(self, api, model: dict, record: Record) -> dict | None:
        """The record's deployment; else production; else the newest (a push that never
        reported back, before its first promotion)."""
        for deployment_id in (record.provider_ids.get("deployment_id"),
                              model.get("production_deployment_id")):
            if deployment_id:
                try:
                    return api.get_deployment(model["id"], deployment_id)
                except NotFound:
                    continue
        found = api.deployments(model["id"])
        return max(found, key=lambda d: d.get("created_at") or "") if found else None

    def status(self, record: Record) -> ServiceStatus:
        api = client()
        model_id = self._model_id(api, record)
        if model_id is None:
            return ServiceStatus(record.status, "NOT_CREATED", None,
                                 details={"note": f"no Baseten model named {record.service_name} yet"})
        try:
            model = api.get_model(model_id)  # only this 404 means the model is gone
        except NotFound:
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0,
                                 {"note": f"model {model_id} no longer exists on Baseten"})
        url = record.endpoint_url or endpoint_url(model_id)
        deployment = self._deployment(api, model, record)
        if deployment is None:
            return ServiceStatus(Status.DEPLOYING, "NO_DEPLOYMENT", url, 0, {"model_id": model_id})
        details = {"model_id": model_id, "deployment_id": deployment["id"],
                   "production": bool(deployment.get("is_production")),
                   "instance_type": deployment.get("instance_type_name")}
        if model.get("production_deployment_id"):
            live = api.get_environment(model_id).get("autoscaling_settings") or {}
            details["autoscaling"] = live
            differs = autoscaling_differences(autoscaling_settings(record.request), live)
            if differs:
                details["autoscaling_asked"] = {k: v["asked"] for k, v in differs.items()}
        return ServiceStatus(wait.tuna_status(deployment["status"]), deployment["status"], url,
                             deployment.get("active_replica_count") or 0, details)

    def destroy(self, record: Record) -> None:
        api = client()
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
