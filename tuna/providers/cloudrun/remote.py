"""Cloud Run through Google's own client (`google.cloud.run_v2`, REST transport; ~0.7 s to import,
so only on Cloud Run's paths), and Cloud Logging and Secret Manager through google-auth's
authorized session against their documented REST endpoints."""

from __future__ import annotations

import contextlib
import datetime
import os

from tuna.errors import ProviderError
from tuna.models import LogLine

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
ADC_HINT = ("run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS "
            "at a service-account key")
# Regions that offer each GPU (cloud.google.com/run/docs/locations#gpu; re-check, it grows).
GPU_REGIONS = {
    "nvidia-l4": ("asia-south1", "asia-southeast1", "europe-west1", "europe-west4",
                  "us-central1", "us-east4"),
    "nvidia-rtx-pro-6000": ("asia-southeast1", "europe-west4", "us-central1"),
}


def api_url() -> str:
    return os.environ.get("CLOUDRUN_API_URL") or "https://run.googleapis.com"


def logging_url() -> str:
    return os.environ.get("CLOUD_LOGGING_API_URL") or "https://logging.googleapis.com"


def secrets_url() -> str:
    return os.environ.get("SECRET_MANAGER_API_URL") or "https://secretmanager.googleapis.com"


@contextlib.contextmanager
def google_errors(doing: str):
    """Google's exceptions as one line naming what failed (their messages carry no secrets)."""
    import requests
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except GoogleAPICallError as exc:
        raise ProviderError(f"Cloud Run answered {exc.code} while {doing}: "
                            f"{' '.join(str(exc.message).split())}") from None
    except GoogleAuthError as exc:
        raise ProviderError(f"Google credentials failed while {doing} ({exc}): {ADC_HINT}") \
            from None
    except requests.RequestException as exc:
        raise ProviderError(f"could not reach Google while {doing}: {type(exc).__name__}; "
                            "check the network and CLOUDRUN_API_URL") from None


class Cloud:
    """Application Default Credentials and the project, resolved once per command."""

    def __init__(self, project: str | None):
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            self.credentials, found = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError as exc:
            raise ProviderError(f"no Google Cloud credentials ({' '.join(str(exc).split())[:160]}"
                                f"): {ADC_HINT}") from None
        self.project = project or found
        if not self.project:
            raise ProviderError("no Google Cloud project: pass --gcp-project or set "
                                "GOOGLE_CLOUD_PROJECT")

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.cloud import run_v2

        return run_v2.ServicesClient(transport="rest", credentials=self.credentials,
                                     client_options=ClientOptions(api_endpoint=api_url()))

    def session(self):
        from google.auth.transport.requests import AuthorizedSession

        return AuthorizedSession(self.credentials)

    def parent(self, region: str) -> str:
        return f"projects/{self.project}/locations/{region}"


def service_message(text: str, name: str | None = None):
    from google.cloud import run_v2

    service = run_v2.Service.from_json(text)
    if name:
        service.name = name
    return service


def validate_on_server(cloud: Cloud, region: str, service_id: str, text: str) -> None:
    """Cloud Run checks the exact service without creating it (validate_only)."""
    with google_errors(f"validating service {service_id}"):
        cloud.client().create_service(request={
            "parent": cloud.parent(region), "service_id": service_id,
            "service": service_message(text), "validate_only": True}).result(timeout=60)


def create(cloud: Cloud, region: str, service_id: str, text: str) -> str:
    with google_errors(f"creating service {service_id}"):
        cloud.client().create_service(request={
            "parent": cloud.parent(region), "service_id": service_id,
            "service": service_message(text)})
    return f"{cloud.parent(region)}/services/{service_id}"


def update(cloud: Cloud, name: str, text: str) -> None:
    """A new revision; Cloud Run moves traffic to it only once it is ready."""
    with google_errors(f"updating {name}"):
        cloud.client().update_service(request={"service": service_message(text, name)})


def get(cloud: Cloud, name: str):
    """The service, or None when Cloud Run has no such service in its project and region."""
    from google.api_core.exceptions import NotFound

    with google_errors(f"reading {name}"):
        try:
            return cloud.client().get_service(name=name)
        except NotFound:
            return None


def readiness(service) -> tuple[str, str | None]:
    """READY, FAILED (with Cloud Run's reason) or RECONCILING, as the Service docstring defines
    readiness: settled, Ready succeeded, and the newest generation observed."""
    from google.cloud import run_v2

    condition = service.terminal_condition
    states = run_v2.Condition.State
    if service.reconciling or service.observed_generation != service.generation:
        return "RECONCILING", None
    if condition.state == states.CONDITION_SUCCEEDED:
        return "READY", None
    if condition.state == states.CONDITION_FAILED:
        reason = (condition.revision_reason.name if condition.revision_reason else
                  condition.reason.name if condition.reason else "FAILED")
        return "FAILED", f"{reason}: {condition.message}" if condition.message else reason
    return "RECONCILING", None


def delete(cloud: Cloud, name: str) -> None:
    from google.api_core.exceptions import NotFound

    with google_errors(f"deleting {name}"):
        try:
            cloud.client().delete_service(name=name)
        except NotFound:
            return


def services(cloud: Cloud) -> list:
    """Every service in the GPU regions (the API has no region wildcard)."""
    regions = sorted({r for found in GPU_REGIONS.values() for r in found})
    found = []
    with google_errors("listing services"):
        client = cloud.client()
        for region in regions:
            found += list(client.list_services(parent=cloud.parent(region)))
    return found


def logs(cloud: Cloud, service_id: str, since_ms: int) -> list[LogLine]:
    since = datetime.datetime.fromtimestamp(since_ms / 1000, datetime.timezone.utc)
    body = {"resourceNames": [f"projects/{cloud.project}"], "orderBy": "timestamp asc",
            "pageSize": 1000,
            "filter": (f'resource.type="cloud_run_revision" AND resource.labels.service_name='
                       f'"{service_id}" AND timestamp>="{since.isoformat()}"')}
    with google_errors(f"reading {service_id}'s logs"):
        answer = cloud.session().post(f"{logging_url()}/v2/entries:list", json=body, timeout=30)
        if answer.status_code != 200:
            raise ProviderError(f"Cloud Logging answered {answer.status_code}: "
                                f"{answer.text[:200]}")
    lines = []
    for entry in answer.json().get("entries", []):
        stamp = datetime.datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
        text = entry.get("textPayload") or (entry.get("jsonPayload") or {}).get("message", "")
        lines.append(LogLine(int(stamp.timestamp() * 1e9), str(text).rstrip("\n")))
    return lines


def secret_exists(cloud: Cloud, secret: str) -> bool | None:
    """True, False (404), or None when the credentials may not look (403)."""
    with google_errors(f"looking up secret {secret}"):
        answer = cloud.session().get(
            f"{secrets_url()}/v1/projects/{cloud.project}/secrets/{secret}", timeout=30)
    return {200: True, 404: False}.get(answer.status_code)
