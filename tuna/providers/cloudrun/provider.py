"""The Cloud Run plugin: tuna's InferenceProvider contract over Cloud Run's Admin API v2, through
Google's own client. One GPU per instance; a service per tuna service, labelled as tuna's."""

from __future__ import annotations

import os
import time

from tuna import catalog, waiting
from tuna.errors import ProviderError, UsageError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, Record,
                         RemoteService, ServiceStatus, Status)
from tuna.provider import (TP_SIZE, DeployEvents, InferenceProvider, Limit, Option, Preflight,
                           chat_example)
# remote imports Google's client itself, only when a call needs it.
from tuna.providers.cloudrun import remote, render

DEFAULT_REGION = "us-central1"
# Weights beyond this cannot plausibly download and load inside the startup probe's window
# (render.STARTUP_WINDOW_S) at the ~100 MB/s a cold instance reads from the Hub.
MAX_WEIGHTS_GB = 20
DELETE_TIMEOUT_S = 300.0
LOG_TAIL_LINES = 5
LOG_TAIL_LOOKBACK_MS = 60_000


def _example(url: str, model: str, public: bool) -> str:
    if public:
        return chat_example(f"{url}/v1", model)
    return chat_example(f"{url}/v1", model,
                        "Authorization: Bearer $(gcloud auth print-identity-token)",
                        note=f"or `gcloud run services proxy {url.split('//')[1]}`")


class CloudrunProvider(InferenceProvider):
    name = "cloudrun"
    limits = (Limit(TP_SIZE, {1}, "Cloud Run attaches one GPU to an instance"),)
    options = (
        Option("--gcp-project", "the Google Cloud project (default: the credentials' own)",
               "PROJECT", "GOOGLE_CLOUD_PROJECT"),
        Option("--gcp-region", f"the region to run in (default {DEFAULT_REGION})", "REGION",
               "CLOUDSDK_RUN_REGION"),
        Option("--public", "serve without authentication: anyone with the URL can call the "
               "model (default: callers send a Google identity token)", env="TUNA_CLOUDRUN_PUBLIC",
               switch=True),
    )
    credentials = ("GOOGLE_APPLICATION_CREDENTIALS",)
    environment = {
        "GOOGLE_APPLICATION_CREDENTIALS": "a service-account key (or `gcloud auth "
                                          "application-default login`)",
        "GOOGLE_CLOUD_PROJECT": "the project (as --gcp-project)",
        "CLOUDSDK_RUN_REGION": "the region (as --gcp-region)",
        "CLOUDRUN_API_URL": "Cloud Run's Admin API (default https://run.googleapis.com)",
        "CLOUD_LOGGING_API_URL": "Cloud Logging (default https://logging.googleapis.com)",
        "SECRET_MANAGER_API_URL": "Secret Manager (default https://secretmanager.googleapis.com)",
    }

    def has_credentials(self) -> bool:
        """A key file that exists, or gcloud's application default credentials."""
        config = os.environ.get("CLOUDSDK_CONFIG") or os.path.expanduser("~/.config/gcloud")
        key = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
        return os.path.isfile(key) if key else os.path.isfile(
            os.path.join(config, "application_default_credentials.json"))

    def _region(self, request: DeployRequest) -> str:
        return self.option(request, "gcp_region") or DEFAULT_REGION

    def refusals(self, request: DeployRequest) -> list[str]:
        reasons = super().refusals(request)
        name = request.service_name
        if not name[0].isalpha() or len(name) >= 50:
            reasons.append(f"cloudrun does not support --service-name {name}: Cloud Run names "
                           "begin with a letter and have fewer than 50 characters")
        offer = catalog.load().offer(request.gpu, self.name)
        region = self._region(request)
        if offer and region not in remote.GPU_REGIONS.get(offer.provider_gpu_id, ()):
            reasons.append(f"cloudrun does not support {request.gpu} in {region}: it offers it in "
                           f"{', '.join(remote.GPU_REGIONS[offer.provider_gpu_id])}")
        return reasons

    # --- offline ---------------------------------------------------------------------------

    def client_headers(self, request: DeployRequest) -> dict[str, str] | None:
        # A private endpoint's callers need a token tuna does not hold: only --public serves.
        return {} if self.switched_on(request, "public") else None

    def plan(self, request: DeployRequest) -> Plan:
        if request.weights_gb and request.weights_gb > MAX_WEIGHTS_GB:
            raise UsageError(
                f"--model: {request.model}'s {request.weights_gb:.0f} GB of weights cannot "
                f"download and load within Cloud Run's startup window (~{render.STARTUP_WINDOW_S // 60}"
                " min, no weight cache): choose a smaller or quantized model, or a provider that "
                "caches weights (baseten)")
        offer = catalog.load().require_offer(request.gpu, self.name)
        public = self.switched_on(request, "public")
        cpu, memory = render.INSTANCE[offer.provider_gpu_id]
        return Plan(self.name, request, {render.SERVICE_FILE: render.render_service(
            request, offer.provider_gpu_id, public, zonal_redundancy=False)}, {
            "model": f"{request.weights}; downloaded by vLLM at each cold start",
            "image": render.image(request),
            "vllm": request.vllm_version or "unknown (a custom image)",
            "instance": f"1 x {offer.provider_gpu_id}, {cpu} vCPU, {memory}, no zonal redundancy",
            "project": self.option(request, "gcp_project") or "the credentials' own",
            "region": self._region(request),
            "access": "public: anyone with the URL" if public else "Google identity token",
            "price": offer.replica_price(1, per="instance"),
        })

    def validate(self, plan: Plan) -> str:
        from google.cloud import run_v2

        try:
            remote.service_message(plan.files[render.SERVICE_FILE])
        except Exception as exc:  # proto's parse errors have no common base
            raise ProviderError(f"the rendered service does not parse as a Cloud Run Service: "
                                f"{exc}") from None
        return f"google-cloud-run's run_v2.Service ({run_v2.__name__}), offline"

    # --- checks ----------------------------------------------------------------------------

    def _cloud(self, request: DeployRequest | None = None, record: Record | None = None):
        if record and record.location.get("api_url", remote.api_url()) != remote.api_url():
            # Only the record's own API may say its service is gone.
            raise ProviderError(f"{record.service_name} lives at {record.location['api_url']}, "
                                f"but tuna is talking to {remote.api_url()}: nothing is written "
                                "off; set CLOUDRUN_API_URL back")
        project = (record.location.get("project") if record and record.location else
                   self.option(request, "gcp_project") if request else
                   os.environ.get("GOOGLE_CLOUD_PROJECT"))
        return remote.Cloud(project)

    def check_account(self) -> list[Check]:
        try:
            cloud = self._cloud()
        except ProviderError as exc:
            return [Check("credentials", False, str(exc), remote.ADC_HINT)]
        return [Check("credentials", True, f"Application Default Credentials for project "
                      f"{cloud.project}")]

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        try:
            cloud = self._cloud(request)
        except ProviderError as exc:
            return Preflight([Check("credentials", False, str(exc), remote.ADC_HINT)], request)
        checks = [Check("credentials", True, f"project {cloud.project}")]
        region = self._region(request)
        if request.hf_secret:
            found = remote.secret_exists(cloud, request.hf_secret)
            checks.append(Check("secret", found is not False, f"secret {request.hf_secret!r} " + (
                "exists" if found else "cannot be checked (no permission to look)"
                if found is None else "is missing from Secret Manager"),
                f"`gcloud secrets create {request.hf_secret} --data-file=-` with the token",
                warning=found is None))
        if update is None:
            offer = catalog.load().require_offer(request.gpu, self.name)
            text = render.render_service(request, offer.provider_gpu_id,
                                         self.switched_on(request, "public"),
                                         zonal_redundancy=False)
            try:
                remote.validate_on_server(cloud, region, request.service_name, text)
                checks.append(Check("service", True, "Cloud Run accepts it (validate_only)"))
            except ProviderError as exc:
                checks.append(Check("service", False, str(exc),
                                    "check the project, region and quota"))
        return Preflight(checks, request, {"api_url": remote.api_url(),
                                           "project": cloud.project, "region": region})

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        request = plan.request
        cloud = self._cloud(request, update)
        text = plan.files[render.SERVICE_FILE]
        if update:
            name = update.provider_ids["service"]
            events.progress(f"Updating {name}: the old revision serves until the new one is "
                            "ready")
            remote.update(cloud, name, text)
        else:
            name = remote.create(cloud, self._region(request), request.service_name, text)
            events.created({"service": name})
            events.progress(f"Creating Cloud Run service {name}")
        if wait_timeout is None:
            return DeploymentResult(request.service_name, self.name, Status.DEPLOYING,
                                    {"service": name}, None, request.model)
        return self._wait(cloud, name, request, events, wait_timeout)

    def _wait(self, cloud, name: str, request: DeployRequest, events: DeployEvents,
              timeout: float) -> DeploymentResult:
        seen: dict = {}

        def read_status() -> str:
            seen["service"] = remote.get(cloud, name)
            if seen["service"] is None:
                return "GONE"
            word, seen["reason"] = remote.readiness(seen["service"])
            return word

        started_ms = int(time.time() * 1000)
        outcome = waiting.wait_until_ready(read_status, events.status, timeout,
                                           frozenset({"READY"}), frozenset({"FAILED", "GONE"}))
        if not outcome.ready:
            raise ProviderError(f"Cloud Run service {name} is {outcome.status}: "
                                f"{seen.get('reason') or 'deleted while tuna waited'}"
                                + self._log_tail(cloud, request.service_name, started_ms))
        url = seen["service"].uri
        return DeploymentResult(request.service_name, self.name, Status.ACTIVE, {"service": name},
                                f"{url}/v1", request.model,
                                _example(url, request.model,
                                         self.switched_on(request, "public")))

    @staticmethod
    def _log_tail(cloud, service_id: str, since_ms: int) -> str:
        try:
            lines = remote.logs(cloud, service_id, since_ms - LOG_TAIL_LOOKBACK_MS)
        except ProviderError:
            return ""
        tail = [line.message for line in lines[-LOG_TAIL_LINES:]]
        return "; last log lines:\n" + "\n".join(tail) if tail else ""

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        return self._wait(self._cloud(record=record), record.provider_ids["service"],
                          record.candidate or record.request, events, timeout)

    def status(self, record: Record) -> ServiceStatus:
        name = record.provider_ids.get("service")
        if not name:
            return ServiceStatus(record.status, "NOT_CREATED", None)
        service = remote.get(self._cloud(record=record), name)
        if service is None:  # asked of the record's own project and region
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0,
                                 {"note": f"Cloud Run has no service {name}"})
        word, reason = remote.readiness(service)
        status = {"READY": Status.ACTIVE, "FAILED": Status.FAILED}.get(word, Status.DEPLOYING)
        details = {"service": name, "min_instances": service.scaling.min_instance_count}
        if reason:
            details["reason"] = reason
        if word == "FAILED" and service.latest_ready_revision:
            details["note"] = "the last ready revision keeps serving"
        return ServiceStatus(status, word, f"{service.uri}/v1", None, details)

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        return remote.logs(self._cloud(record=record), record.service_name, since_ms)

    def find_services(self) -> list[RemoteService]:
        found = []
        for service in remote.services(self._cloud()):
            labels = dict(service.labels)
            if labels.get("managed-by") == render.MANAGED_BY and "tuna-service" in labels:
                found.append(RemoteService(labels["tuna-service"], self.name,
                                           {"service": service.name},
                                           remote.readiness(service)[0]))
        return found

    def destroy(self, record: Record) -> None:
        """Delete, and return only once Cloud Run answers that the service is gone."""
        cloud, name = self._cloud(record=record), record.provider_ids.get("service")
        if not name:
            return
        remote.delete(cloud, name)

        def read_status() -> str:
            return "GONE" if remote.get(cloud, name) is None else "DELETING"

        waiting.wait_until_gone(read_status, frozenset({"GONE"}), DELETE_TIMEOUT_S,
                                f"Cloud Run has not confirmed that {name} is gone")
