"""The Baseten plugin: tuna's InferenceProvider contract, each method a few named steps."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tuna import catalog
from tuna.errors import ProviderError, UsageError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, Record,
                         RemoteService, ServiceStatus, Status)
from tuna.provider import (QUANTIZATION, SCALE_DOWN_DELAY, TP_SIZE, DeployEvents,
                           InferenceProvider, Limit, Preflight)
from tuna.providers.baseten import (checks, deploy, instances, lookup, push, render,
                                    truss_config, wait)
from tuna.providers.baseten.credentials import api_key, client, required_api_key
from tuna.providers.baseten.deploy import autoscaling_differences, autoscaling_settings
from tuna.providers.baseten.endpoint import curl_example, endpoint_url
from tuna.providers.baseten.push import Pushed
from tuna.http_errors import NotFound


class BasetenProvider(InferenceProvider):
    name = "baseten"
    limits = (
        Limit(TP_SIZE, {1, 2, 4, 8}, "a Baseten replica has 1, 2, 4 or 8 GPUs"),
        Limit(TP_SIZE, {1}, "an H100 MIG slice is a single GPU", frozenset({"H100_MIG_40GB"})),
        Limit(SCALE_DOWN_DELAY, range(0, 3601), "Baseten accepts a scale-down delay of 0-3600 s"),
        Limit(QUANTIZATION, (), "vLLM's gguf loads one .gguf file, and Baseten's weight cache "
              "mounts a directory", refused=frozenset({"gguf"})),
    )
    credentials = ("BASETEN_API_KEY",)
    _truss = None  # a truss process warm_up started, waiting for deploy's push
    environment = {
        "BASETEN_API_KEY": "workspace API key (https://app.baseten.co/settings/api_keys)",
        "BASETEN_API_URL": "management REST API (default https://api.baseten.co)",
        "BASETEN_REMOTE_URL": "what `truss push` talks to (default https://app.baseten.co)",
    }

    # --- offline ---------------------------------------------------------------------------

    def client_headers(self, request: DeployRequest) -> dict[str, str] | None:
        return {"Authorization": f"Api-Key {required_api_key()}"}

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().require_offer(request.gpu, self.name)
        gpus = request.gpu_count
        return Plan(self.name, request, {"config.yaml": render.render_config(
            request, offer.provider_gpu_id)}, {
            "model": f"{request.weights}; Baseten weight cache",
            "image": render.image(request),
            "vllm": request.vllm_version or "unknown (a custom image)",
            "accelerator": render.accelerator(offer.provider_gpu_id, gpus),
            "price": offer.replica_price(gpus),
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

    def warm_up(self) -> None:
        # truss's CLI takes about a second to import: it imports while the account and the
        # model are checked, and pushes only if deploy() follows.
        key = api_key()
        self._truss = push.start(key) if key else None

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        return checks.preflight(request, update)

    # --- remote ----------------------------------------------------------------------------

    def replica_price(self, request: DeployRequest) -> float | None:
        from tuna.http_errors import ApiError

        key = api_key()
        if key is None:
            return None
        offer = catalog.load().require_offer(request.gpu, self.name)
        try:
            return instances.hourly(client(key).instance_type_prices(), offer, request.gpu_count)
        except ApiError:
            return None  # the catalog price stands

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        key = required_api_key()
        truss, self._truss = self._truss, None
        return deploy.deploy(client(key), key, plan, events, wait_timeout, update, truss)

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        api = client()
        model = lookup.model_of(api, record)
        if model is None:
            raise ProviderError(f"Baseten has no model for {record.service_name} any more")
        candidate = record.provider_ids.get("candidate_deployment_id")
        deployment_id = (candidate or record.provider_ids.get("deployment_id")
                         or lookup.deployment_of(api, model, record)["id"])
        pushed = Pushed(model["id"], deployment_id)
        request = record.candidate or record.request
        deadline = time.monotonic() + timeout
        promoting = bool(candidate) and candidate != model.get("production_deployment_id")
        replicas = deploy.wait_until_ready(api, pushed, events, timeout, promoting,
                                           int((time.time() - 3600) * 1000))
        if promoting:
            deploy.promote(api, pushed, autoscaling_settings(request), events,
                           max(1.0, deadline - time.monotonic()))
        deploy.apply_autoscaling(api, model["id"], autoscaling_settings(request), events)
        url = record.endpoint_url or endpoint_url(model["id"])
        return DeploymentResult(record.service_name, self.name, Status.ACTIVE, {
            "model_id": model["id"], "deployment_id": deployment_id,
            "candidate_deployment_id": None}, url, request.model,
            curl_example(url, request.model), replicas)

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        from tuna.providers.baseten.api import LOG_WINDOW_S, MAX_LOG_LINES, MAX_LOG_PAGES

        # A few seconds inside the window: Baseten measures it against its own clock.
        oldest_ms = int((time.time() - LOG_WINDOW_S + 5) * 1000)
        if since_ms < oldest_ms - 60_000:
            raise UsageError("--since: Baseten serves logs of the last 7 days at most")
        api = client()
        model = lookup.model_of(api, record)
        deployment = model and lookup.deployment_of(api, model, record)
        if not deployment:
            raise UsageError(f"service {record.service_name!r} has no deployment to show logs of")
        entries = api.deployment_logs(model["id"], deployment["id"], max(since_ms, oldest_ms),
                                      limit=MAX_LOG_LINES, pages=MAX_LOG_PAGES)
        return [LogLine(int(e["timestamp"]), str(e.get("message", "")), e.get("replica"))
                for e in entries]

    def status(self, record: Record) -> ServiceStatus:
        api = client()
        model = lookup.model_of(api, record)
        if model is None and not record.provider_ids.get("model_id"):
            return ServiceStatus(record.status, "NOT_CREATED", None,
                                 details={"note": f"no Baseten model named {record.service_name} yet"})
        if model is None:
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0, {
                "note": f"model {record.provider_ids['model_id']} no longer exists on Baseten"})
        url = record.endpoint_url or endpoint_url(model["id"])
        deployment = lookup.deployment_of(api, model, record)
        if deployment is None:
            return ServiceStatus(Status.DEPLOYING, "NO_DEPLOYMENT", url, 0,
                                 {"model_id": model["id"]}, {"model_id": model["id"]})
        details = {"model_id": model["id"], "deployment_id": deployment["id"],
                   "production": bool(deployment.get("is_production")),
                   "instance_type": deployment.get("instance_type_name")}
        ids, outcome = {"model_id": model["id"], "deployment_id": deployment["id"]}, None
        candidate = record.provider_ids.get("candidate_deployment_id")
        if candidate and candidate == model.get("production_deployment_id"):
            ids["candidate_deployment_id"], outcome = None, "promoted"
        elif candidate:
            state = api.get_deployment(model["id"], candidate)["status"]
            details["candidate"] = {"deployment_id": candidate, "status": state}
            if wait.tuna_status(state) is Status.FAILED:
                ids["candidate_deployment_id"], outcome = None, "failed"
        if model.get("production_deployment_id"):
            live = api.get_environment(model["id"]).get("autoscaling_settings") or {}
            details["autoscaling"] = live
            differs = autoscaling_differences(autoscaling_settings(record.request), live)
            if differs and outcome != "promoted":
                details["autoscaling_asked"] = {k: v["asked"] for k, v in differs.items()}
        return ServiceStatus(wait.tuna_status(deployment["status"]), deployment["status"], url,
                             deployment.get("active_replica_count") or 0, details, ids, outcome)

    def find_services(self) -> list[RemoteService]:
        return lookup.services(client())

    def destroy(self, record: Record) -> None:
        api = client()
        model = lookup.model_of(api, record)
        if model is None:
            return  # Baseten, where the record lives, has no model for it: nothing to remove
        try:
            api.delete_model(model["id"])
        except NotFound:
            pass  # already gone
        try:
            api.get_model(model["id"])
        except NotFound:
            return
        raise ProviderError(f"Baseten still lists model {model['id']} after the delete; "
                            f"run `tuna destroy --service-name {record.service_name}` again")
