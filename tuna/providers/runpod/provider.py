"""The RunPod serverless plugin: tuna's InferenceProvider contract over RunPod's REST API."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from tuna import catalog, waiting
from tuna.errors import ProviderError, TunaError
from tuna.http_errors import ApiError, KeyRejected, NotFound
from tuna.models import (Check, DeploymentResult, DeployRequest, Feature, LogLine, Plan, Record,
                         RemoteService, ServiceStatus, Status)
from tuna.provider import DeployEvents, InferenceProvider, Preflight
from tuna.providers.runpod import remote, render
from tuna.providers.runpod.remote import serverless_url

if TYPE_CHECKING:
    from tuna.providers.runpod.api import RunpodApi

KEY_HINT = "create an API key at https://console.runpod.io/user/settings, then " \
           "`export RUNPOD_API_KEY=...`"


def _client() -> RunpodApi:
    # requests is imported only by commands that talk to RunPod, not by --help or --dry-run.
    from tuna.providers.runpod.api import RunpodApi

    key = os.environ.get("RUNPOD_API_KEY", "").strip()
    if not key:
        raise TunaError(f"RUNPOD_API_KEY is not set: {KEY_HINT}")
    return RunpodApi(key)


def _openai_url(endpoint_id: str) -> str:
    return f"{serverless_url()}/{endpoint_id}/openai/v1"


def _example(url: str, model: str) -> str:
    return (f"curl {url}/chat/completions \\\n"
            '  -H "Authorization: Bearer $RUNPOD_API_KEY" -H "Content-Type: application/json" \\\n'
            f'  -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello"}}]}}\'')


class RunpodProvider(InferenceProvider):
    name = "runpod"
    unsupported = {
        Feature.UPDATE: "tuna does not yet roll a RunPod endpoint over to a new template",
        Feature.LOGS: "RunPod's REST API serves no worker logs (the RunPod console shows them)",
    }
    credentials = ("RUNPOD_API_KEY",)
    environment = {
        "RUNPOD_API_KEY": "RunPod API key (https://console.runpod.io/user/settings)",
        "RUNPOD_API_URL": "RunPod's REST API (default https://rest.runpod.io/v1)",
        "RUNPOD_SERVERLESS_URL": "where endpoints answer (default https://api.runpod.ai/v2)",
    }

    # --- offline ---------------------------------------------------------------------------

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().require_offer(request.gpu, self.name)
        files = {"template.json": json.dumps(render.template_body(request), indent=2),
                 "endpoint.json": json.dumps(render.endpoint_body(
                     request, offer.provider_gpu_id, "<the template's id>"), indent=2)}
        gpus = request.gpu_count
        return Plan(self.name, request, files, {
            "model": f"{request.model}@{request.revision} (downloaded by the worker)",
            "image": request.image or render.WORKER_IMAGE,
            "GPU": f"{gpus} x {offer.provider_gpu_id}",
            "price": offer.replica_price(gpus, per="worker"),
        })

    def validate(self, plan: Plan) -> str:
        for name in ("template.json", "endpoint.json"):
            body = json.loads(plan.files[name])
            missing = {"template.json": {"name", "imageName"},
                       "endpoint.json": {"templateId"}}[name] - set(body)
            if missing:
                raise TunaError(f"the rendered {name} lacks {', '.join(sorted(missing))}")
        return "the fields RunPod's OpenAPI spec requires (RunPod has no offline validator)"

    # --- checks ----------------------------------------------------------------------------

    def check_account(self) -> list[Check]:
        if not os.environ.get("RUNPOD_API_KEY", "").strip():
            return [Check("API key", False, "RUNPOD_API_KEY is not set", KEY_HINT)]
        api = _client()
        try:
            api.endpoints()
        except KeyRejected:
            return [Check("API key", False, "key rejected by RunPod (HTTP 401/403)", KEY_HINT)]
        except ApiError as exc:
            return [Check("RunPod API", False, str(exc),
                          f"check the network and RUNPOD_API_URL ({api.base_url})")]
        return [Check("API key", True, f"accepted by {api.base_url}")]

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        checks = self.check_account()
        offered = catalog.load().offer(request.gpu, self.name) is not None
        checks.append(Check("GPU", offered, f"{request.gpu} " + ("offered" if offered else
                            "not offered"), "`tuna show-gpus --provider runpod` lists GPUs"))
        if request.hf_secret:
            checks.append(Check("secret", True, f"{request.hf_secret!r} is referenced as "
                                "{{ RUNPOD_SECRET_" + request.hf_secret + " }}; RunPod's REST API "
                                "cannot list secrets, so make sure it exists"))
        location = {"api_url": _client().base_url} if checks[0].ok else {}
        return Preflight(checks, request, location)

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        api, request = _client(), plan.request
        offer = catalog.load().require_offer(request.gpu, self.name)
        events.progress(f"Creating RunPod template and endpoint for {request.service_name}")
        template = api.create_template(json.loads(plan.files["template.json"]))
        events.created({"template_id": template["id"]})
        try:
            endpoint = api.create_endpoint(
                render.endpoint_body(request, offer.provider_gpu_id, template["id"]))
        except ApiError:
            api.delete_template(template["id"])  # leave nothing half-made behind
            raise
        ids = {"template_id": template["id"], "endpoint_id": endpoint["id"]}
        events.created({"endpoint_id": endpoint["id"]})
        url = _openai_url(endpoint["id"])
        replicas, status = None, Status.DEPLOYING
        if wait_timeout is not None:
            replicas, status = self._wait(api, endpoint["id"], request, events, wait_timeout), \
                Status.ACTIVE
        return DeploymentResult(request.service_name, self.name, status, ids, url, request.model,
                                _example(url, request.model), replicas)

    def _wait(self, api: RunpodApi, endpoint_id: str, request: DeployRequest,
              events: DeployEvents, timeout: float) -> int:
        last: dict = {}

        def read_status() -> str:
            last.update(api.health(endpoint_id))
            return remote.health_status(last, request.scaling.min_replicas)

        outcome = waiting.wait_until_ready(
            read_status, events.status, timeout, remote.READY, remote.FAILED,
            on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
        if not outcome.ready:
            raise ProviderError(f"endpoint {endpoint_id}'s workers are {outcome.status}: vLLM "
                                "did not start (the RunPod console shows the worker logs)")
        return remote.billed_workers(last)

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        endpoint_id = record.provider_ids.get("endpoint_id")
        if not endpoint_id:
            raise ProviderError(f"{record.service_name} has no RunPod endpoint to wait for")
        replicas = self._wait(_client(), endpoint_id, record.request, events, timeout)
        url = _openai_url(endpoint_id)
        return DeploymentResult(record.service_name, self.name, Status.ACTIVE,
                                dict(record.provider_ids), url, record.request.model,
                                _example(url, record.request.model), replicas)

    def status(self, record: Record) -> ServiceStatus:
        api = _client()
        endpoint_id = record.provider_ids.get("endpoint_id")
        if not endpoint_id:
            return ServiceStatus(record.status, "NOT_CREATED", None,
                                 details={"note": "tuna never heard of an endpoint for it"})
        try:
            endpoint = api.endpoint(endpoint_id)
        except NotFound:
            self._same_location(api, record)
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0,
                                 {"note": f"endpoint {endpoint_id} no longer exists on RunPod"})
        health = api.health(endpoint_id)
        word = remote.health_status(health, endpoint.get("workersMin") or 0)
        return ServiceStatus(remote.tuna_status(word), word, _openai_url(endpoint_id),
                             remote.billed_workers(health),
                             {"endpoint_id": endpoint_id, "workers": health.get("workers") or {},
                              "workers_min": endpoint.get("workersMin"),
                              "workers_max": endpoint.get("workersMax")})

    def _same_location(self, api: RunpodApi, record: Record) -> None:
        if record.location and record.location.get("api_url") != api.base_url:
            raise ProviderError(f"{record.service_name} lives at {record.location['api_url']}, "
                                f"but tuna is talking to {api.base_url}; set RUNPOD_API_URL for "
                                "it. Nothing was changed")

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        self.require(Feature.LOGS)
        return []

    def find_services(self) -> list[RemoteService]:
        return remote.services(_client().endpoints())

    def destroy(self, record: Record) -> None:
        """The endpoint first (a template in use cannot be deleted), then the template; both
        must then be gone."""
        api = _client()
        ids = record.provider_ids
        self._same_location(api, record)
        for kind, remove in (("endpoint_id", api.delete_endpoint), ("template_id",
                                                                     api.delete_template)):
            if ids.get(kind):
                try:
                    remove(ids[kind])
                except NotFound:
                    pass  # already gone
        for kind, read in (("endpoint_id", api.endpoint), ("template_id", api.template)):
            if ids.get(kind):
                try:
                    read(ids[kind])
                except NotFound:
                    continue
                raise ProviderError(f"RunPod still lists {kind[:-3]} {ids[kind]} after the "
                                    f"delete; run `tuna destroy --service-name "
                                    f"{record.service_name}` again")
