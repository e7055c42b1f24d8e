"""The RunPod serverless plugin: tuna's InferenceProvider contract over RunPod's REST API v2."""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING

from tuna import catalog, waiting
from tuna.errors import ProviderError, TunaError
from tuna.http_errors import ApiError, KeyRejected
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, Record,
                         RemoteService, ServiceStatus, Status)
from tuna.provider import (MAX_REPLICAS, SCALE_DOWN_DELAY, TP_SIZE, DeployEvents,
                           InferenceProvider, Limit, Option, Preflight, chat_example)
from tuna.providers.runpod import endpoint as located, remote, render
from tuna.providers.runpod.remote import serverless_url

if TYPE_CHECKING:
    from tuna.providers.runpod.api import RunpodApi

NETWORK_VOLUME_ID = re.compile(r"[A-Za-z0-9]{1,64}")
KEY_HINT = "create an API key at https://console.runpod.io/user/settings, then " \
           "`export RUNPOD_API_KEY=...`"


def _api_key() -> str:
    key = os.environ.get("RUNPOD_API_KEY", "").strip()
    if not key:
        raise TunaError(f"RUNPOD_API_KEY is not set: {KEY_HINT}")
    return key


def _client() -> RunpodApi:
    # requests is imported only by commands that talk to RunPod, not by --help or --dry-run.
    from tuna.providers.runpod.api import RunpodApi

    return RunpodApi(_api_key())


def _openai_url(endpoint_id: str) -> str:
    return f"{serverless_url()}/{endpoint_id}/openai/v1"


def _example(url: str, model: str) -> str:
    return chat_example(url, model, "Authorization: Bearer $RUNPOD_API_KEY")




class RunpodProvider(InferenceProvider):
    name = "runpod"
    unsupported: dict = {}
    limits = (
        Limit(SCALE_DOWN_DELAY, range(1, 3601), "RunPod's idle timeout is 1 to 3600 seconds"),
        Limit(TP_SIZE, {1, 2, 4, 8}, "vLLM splits a model over 1, 2, 4 or 8 GPUs of one worker"),
        Limit(MAX_REPLICAS, range(1, 61), "RunPod caps the workers of an account at 60 (5 by "
              "default; more with a larger balance)"),
    )
    options = (
        Option("--network-volume", "RunPod network volume to keep the Hugging Face cache on, so "
               "a new worker need not download the weights again (its data center then holds "
               "the workers)", "ID", "RUNPOD_NETWORK_VOLUME"),
    )
    credentials = ("RUNPOD_API_KEY",)
    environment = {
        "RUNPOD_API_KEY": "RunPod API key (https://console.runpod.io/user/settings)",
        "RUNPOD_API_URL": "RunPod's REST API v2 (default https://api.runpod.io/v2)",
        "RUNPOD_SERVERLESS_URL": "where endpoints answer (default https://api.runpod.ai/v2)",
        "RUNPOD_NETWORK_VOLUME": "network volume for the weights (as --network-volume)",
    }

    def vllm_image(self, version: str) -> str | None:
        """The worker image carries its own vLLM: only that release can be chosen."""
        worker = render.facts()["worker"]
        return worker["image"] if version == worker["vllm_version"] else None

    def default_vllm_version(self) -> str:
        return render.facts()["worker"]["vllm_version"]

    def refusals(self, request: DeployRequest) -> list[str]:
        volume = self.option(request, "network_volume")
        bad = volume is not None and not NETWORK_VOLUME_ID.fullmatch(volume)
        return super().refusals(request) + (
            [f"--network-volume: expected a RunPod network volume id (letters and digits), "
             f"got {volume!r}"] if bad else [])

    # --- offline ---------------------------------------------------------------------------

    def client_headers(self, request: DeployRequest) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {_api_key()}"}

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().require_offer(request.gpu, self.name)
        volume = self.option(request, "network_volume")
        body = render.endpoint_body(request, offer.provider_gpu_id, volume)
        gpus = request.gpu_count
        disk = f"{body['disk']} GB container disk"
        if volume:
            disk += f"; weights cached on network volume {volume}"
        elif request.weights_gb is None:
            disk += " (weights' size unknown: RunPod's own manifest size)"
        return Plan(self.name, request, {"endpoint.json": json.dumps(body, indent=2)}, {
            "model": f"{request.weights}; downloaded by the worker",
            "image": body["image"],
            "vllm": request.vllm_version or "unknown (a custom image)",
            "GPU": f"{gpus} x {offer.provider_gpu_id} (pool {body['gpu']['pools'][0]}, CUDA "
                   f"{', '.join(body['gpu'].get('allowedCudaVersions', ['any']))})",
            "disk": disk,
            "price": offer.replica_price(gpus, per="worker"),
        })

    def validate(self, plan: Plan) -> str:
        body = json.loads(plan.files["endpoint.json"])
        missing = {"name", "type", "scaling", "image", "gpu", "timeout"} - set(body)
        if missing:
            raise TunaError(f"the rendered endpoint.json lacks {', '.join(sorted(missing))}")
        return "the fields RunPod's OpenAPI spec requires (RunPod has no offline validator)"

    # --- checks ----------------------------------------------------------------------------

    def check_account(self) -> list[Check]:
        return self._account()[0]

    def _account(self) -> tuple[list[Check], list[dict]]:
        if not os.environ.get("RUNPOD_API_KEY", "").strip():
            return [Check("API key", False, "RUNPOD_API_KEY is not set", KEY_HINT)], []
        api = _client()
        try:
            endpoints = api.endpoints()
        except KeyRejected:
            return [Check("API key", False, "key rejected by RunPod (HTTP 401/403)", KEY_HINT)], []
        except ApiError as exc:
            return [Check("RunPod API", False, str(exc),
                          f"check the network and RUNPOD_API_URL ({api.base_url})")], []
        return [Check("API key", True, f"accepted by {api.base_url}")], endpoints

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        checks, endpoints = self._account()
        offered = catalog.load().offer(request.gpu, self.name) is not None
        checks.append(Check("GPU", offered, f"{request.gpu} " + ("offered" if offered else
                            "not offered"), "`tuna show-gpus --provider runpod` lists GPUs"))
        if request.hf_secret:
            checks.append(Check("secret", True, f"{request.hf_secret!r} is referenced as "
                                "{{ RUNPOD_SECRET_" + request.hf_secret + " }}; RunPod's REST API "
                                "cannot list secrets, so make sure it exists"))
        if checks[0].ok:
            checks.append(located.worker_cap_check(endpoints, request, update))
        location = {"api_url": _client().base_url} if checks[0].ok else {}
        return Preflight(checks, request, location)

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        api, request = _client(), plan.request
        body = json.loads(plan.files["endpoint.json"])
        if update is None:
            events.progress(f"Creating RunPod endpoint {body['name']}")
            endpoint_id = api.create_endpoint(body)["id"]
            events.created({"endpoint_id": endpoint_id})
        else:
            endpoint_id = located.endpoint_id(api, update)
            events.progress(f"Updating RunPod endpoint {endpoint_id}; its workers roll over to "
                            "the new configuration as they cycle")
            # A PATCH takes the create body but for its routing type, fixed at creation.
            api.update_endpoint(endpoint_id, {k: v for k, v in body.items() if k != "type"})
        ids = {"endpoint_id": endpoint_id}
        if wait_timeout is None:
            url = _openai_url(endpoint_id)
            return DeploymentResult(request.service_name, self.name, Status.DEPLOYING, ids, url,
                                    request.model, _example(url, request.model))
        return self._wait(api, endpoint_id, request, events, wait_timeout)

    def _wait(self, api: RunpodApi, endpoint_id: str, request: DeployRequest,
              events: DeployEvents, timeout: float) -> DeploymentResult:
        seen: dict = {}

        def read_status() -> str:
            seen["endpoint"] = api.endpoint(endpoint_id)
            seen["listing"] = api.workers(endpoint_id)
            return remote.endpoint_status(seen["endpoint"], seen["listing"], loaded_before=False)

        outcome = waiting.wait_until_ready(
            read_status, events.status, timeout, remote.READY, remote.FAILED,
            on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
        if outcome.status == "SCALED_DOWN":
            raise ProviderError(f"RunPod set endpoint {endpoint_id}'s max workers to 0: "
                                "raise it in the RunPod console or with `tuna deploy --update`")
        if not outcome.ready:
            raise ProviderError(f"endpoint {endpoint_id}'s workers are {outcome.status}: vLLM "
                                "did not start; `tuna logs` shows why")
        ids = {"endpoint_id": endpoint_id, **located.loaded_marker(outcome.status, seen["listing"])}
        url = _openai_url(endpoint_id)
        return DeploymentResult(request.service_name, self.name, remote.STATUSES[outcome.status],
                                ids, url, request.model, _example(url, request.model),
                                remote.billed_workers(seen["listing"])[1])

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        api = _client()
        return self._wait(api, located.endpoint_id(api, record), record.candidate or
                          record.request, events, timeout)

    def status(self, record: Record) -> ServiceStatus:
        api = _client()
        found = located.find(api, record)
        if found is None:
            return ServiceStatus(record.status, "NOT_CREATED", None,
                                 details={"note": "tuna never heard of an endpoint for it"})
        if found is located.GONE:
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0, {
                "note": f"endpoint {record.provider_ids['endpoint_id']} no longer exists on RunPod"})
        endpoint = found
        listing = api.workers(endpoint["id"])
        loaded_before = record.provider_ids.get("loaded_config") == str(
            listing.get("endpointVersion"))
        word = remote.endpoint_status(endpoint, listing, loaded_before)
        low, high = remote.billed_workers(listing)
        workers = endpoint.get("workers") or {}
        details = {"endpoint_id": endpoint["id"], "workers": remote.worker_counts(listing),
                   "workers_min": workers.get("min"), "workers_max": workers.get("max"),
                   "billed_workers": f"{low} running; {high} counting idle and starting ones "
                                     "(RunPod's pricing page bills those, its workers page not)"}
        if word == "SCALED_DOWN":
            details["note"] = ("RunPod set max workers to 0 (it does so after 7 idle days): the "
                               "endpoint serves nothing until max workers is raised")
        elif word == "COLD":
            details["note"] = "no worker has loaded the model yet: the first request starts one"
        asked = record.request.scaling.max_replicas
        if word != "SCALED_DOWN" and workers.get("max") is not None and workers["max"] < asked:
            details["note"] = f"RunPod lowered max workers to {workers['max']} (asked {asked})"
        return ServiceStatus(remote.STATUSES[word], word, _openai_url(endpoint["id"]), high,
                             details, {"endpoint_id": endpoint["id"],
                                       **located.loaded_marker(word, listing)})

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        return located.logs(_client(), record, since_ms)

    def find_services(self) -> list[RemoteService]:
        return remote.services(_client().endpoints())

    def destroy(self, record: Record) -> None:
        located.destroy(_client(), record)
