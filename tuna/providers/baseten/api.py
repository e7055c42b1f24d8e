"""Client of Baseten's management REST API (https://api.baseten.co/v1).

Retries are urllib3's: idempotent calls are retried on connection errors, 429 (honouring
Retry-After) and 502/503/504, with bounded backoff. Every call has connect and read timeouts.
Error messages carry the method, path and status, never request headers.
"""

from __future__ import annotations

import os

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tuna.providers.baseten.errors import ApiError, KeyRejected, NotFound

DEFAULT_API_URL = "https://api.baseten.co"
TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
PRODUCTION = "production"
MAX_LOG_LINES = 1000
LOG_WINDOW_S = 7 * 24 * 3600  # the longest window Baseten's logs endpoint serves


def _retry() -> Retry:
    return Retry(
        total=5, connect=5, read=2, status=5,
        backoff_factor=0.25, backoff_max=4.0,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "DELETE", "PATCH", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class BasetenApi:
    def __init__(self, api_key: str, base_url: str | None = None):
        self.base_url = (base_url or os.environ.get("BASETEN_API_URL") or DEFAULT_API_URL).rstrip("/")
        self._api_key = api_key
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Api-Key {api_key}"
        self.session.mount("https://", HTTPAdapter(max_retries=_retry()))
        self.session.mount("http://", HTTPAdapter(max_retries=_retry()))

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(method, self.base_url + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(method, path, None, type(exc).__name__ + " reaching " + self.base_url) from None
        if response.status_code in (401, 403):
            raise KeyRejected(method, path, response.status_code,
                              "the API key was rejected; check BASETEN_API_KEY (a workspace key "
                              "with management access, not an inference-only key)")
        if response.status_code == 404:
            raise NotFound(method, path, 404, "not found")
        if not response.ok:
            detail = _short(response).replace(self._api_key, "***")  # a server may echo headers
            raise ApiError(method, path, response.status_code, detail)
        try:
            return response.json()
        except ValueError:
            raise ApiError(method, path, response.status_code, "answer is not JSON") from None

    def models_named(self, name: str) -> list[dict]:
        models = self._call("GET", "/v1/models", params={"name": name})["models"]
        return [m for m in models if m.get("name") == name]  # the filter is exact; be sure

    def get_model(self, model_id: str) -> dict:
        return self._call("GET", f"/v1/models/{model_id}")

    def delete_model(self, model_id: str) -> dict:
        return self._call("DELETE", f"/v1/models/{model_id}")

    def get_deployment(self, model_id: str, deployment_id: str) -> dict:
        return self._call("GET", f"/v1/models/{model_id}/deployments/{deployment_id}")

    def get_environment(self, model_id: str, environment: str = PRODUCTION) -> dict:
        return self._call("GET", f"/v1/models/{model_id}/environments/{environment}")

    def update_autoscaling(self, model_id: str, settings: dict,
                           environment: str = PRODUCTION) -> dict:
        """Asynchronous on Baseten's side: read the environment back for the applied state."""
        return self._call("PATCH", f"/v1/models/{model_id}/environments/{environment}",
                          json={"autoscaling_settings": settings})

    def deployments(self, model_id: str) -> list[dict]:
        return self._call("GET", f"/v1/models/{model_id}/deployments")["deployments"]

    def secret_names(self) -> set[str]:
        return {s["name"] for s in self._call("GET", "/v1/secrets")["secrets"]}

    def teams(self) -> list[dict]:
        return self._call("GET", "/v1/teams")["teams"]

    def models(self) -> list[dict]:
        return self._call("GET", "/v1/models")["models"]

    def deployment_logs(self, model_id: str, deployment_id: str, start_ms: int | None = None,
                        limit: int = 100) -> list[dict]:
        """The newest `limit` (1-1000) log lines since start_ms (Baseten's default: 30 minutes
        back; at most 7 days), oldest first. Baseten answers newest first, stamps in epoch
        nanoseconds as strings; the endpoint is in beta."""
        params = {"direction": "desc", "limit": max(1, min(limit, MAX_LOG_LINES))}
        if start_ms is not None:
            params["start_epoch_millis"] = start_ms
        answer = self._call("GET", f"/v1/models/{model_id}/deployments/{deployment_id}/logs",
                            params=params)
        return sorted(answer.get("logs", []), key=lambda entry: int(entry["timestamp"]))

def _short(response: requests.Response) -> str:
    try:
        body = response.json()
        detail = body.get("error") or body.get("message") or ""
    except ValueError:
        detail = response.text
    return " ".join(str(detail).split())[:200]
