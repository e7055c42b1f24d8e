"""Client of RunPod's REST API (templates, endpoints) and of an endpoint's /health."""

from __future__ import annotations

import os

from tuna.http_client import JsonClient

from tuna.providers.runpod.remote import serverless_url

DEFAULT_API_URL = "https://rest.runpod.io/v1"


class RunpodApi(JsonClient):
    service = "RunPod API"
    key_hint = "check RUNPOD_API_KEY (a key with read and write access)"

    def __init__(self, api_key: str, base_url: str | None = None):
        super().__init__(base_url or os.environ.get("RUNPOD_API_URL") or DEFAULT_API_URL,
                         api_key, f"Bearer {api_key}")

    def endpoints(self) -> list[dict]:
        return self._call("GET", "/endpoints")  # a JSON array

    def endpoint(self, endpoint_id: str) -> dict:
        return self._call("GET", f"/endpoints/{endpoint_id}")

    def create_endpoint(self, body: dict) -> dict:
        return self._call("POST", "/endpoints", json=body)

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._call("DELETE", f"/endpoints/{endpoint_id}")

    def template(self, template_id: str) -> dict:
        return self._call("GET", f"/templates/{template_id}")

    def create_template(self, body: dict) -> dict:
        return self._call("POST", "/templates", json=body)

    def delete_template(self, template_id: str) -> None:
        self._call("DELETE", f"/templates/{template_id}")

    def health(self, endpoint_id: str) -> dict:
        """Worker and job counts; reading it starts no worker."""
        return self._call("GET", f"/{endpoint_id}/health", base_url=serverless_url())
