"""Client of RunPod's REST API v2 (serverless endpoints, their workers and worker logs) and of
an endpoint's job API /health. RunPod retired REST API v1 on 2026-11-15."""

from __future__ import annotations

import json
import os

import requests

from tuna.http_client import JsonClient
from tuna.http_errors import ApiError

from tuna.providers.runpod.remote import serverless_url

DEFAULT_API_URL = "https://api.runpod.io/v2"


class RunpodApi(JsonClient):
    service = "RunPod API"
    key_hint = "check RUNPOD_API_KEY (a key with read and write access)"
    retired_hint = ("RunPod retired this API (HTTP 410 Gone); tuna talks to REST API v2 at "
                    f"{DEFAULT_API_URL}: check RUNPOD_API_URL, or upgrade tuna")

    def __init__(self, api_key: str, base_url: str | None = None):
        super().__init__(base_url or os.environ.get("RUNPOD_API_URL") or DEFAULT_API_URL,
                         api_key, f"Bearer {api_key}")

    def endpoints(self) -> list[dict]:
        return self._call("GET", "/serverless").get("endpoints", [])

    def endpoint(self, endpoint_id: str) -> dict:
        return self._call("GET", f"/serverless/{endpoint_id}")

    def create_endpoint(self, body: dict) -> dict:
        return self._call("POST", "/serverless", json=body)

    def update_endpoint(self, endpoint_id: str, body: dict) -> dict:
        return self._call("PATCH", f"/serverless/{endpoint_id}", json=body)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Deletes the endpoint and the template a v1-era endpoint was bound to."""
        self._call("DELETE", f"/serverless/{endpoint_id}")

    def workers(self, endpoint_id: str) -> dict:
        """The endpoint's active workers, their summary and the endpoint's config version."""
        return self._call("GET", f"/serverless/{endpoint_id}/workers")

    def template(self, template_id: str) -> dict:
        return self._call("GET", f"/templates/{template_id}")

    def delete_template(self, template_id: str) -> None:
        self._call("DELETE", f"/templates/{template_id}")

    def health(self, endpoint_id: str) -> dict:
        """Worker and job counts from the job API; reading it starts no worker."""
        return self._call("GET", f"/{endpoint_id}/health", base_url=serverless_url())

    def worker_logs(self, endpoint_id: str, worker_id: str, since: str | None,
                    quiet_s: float) -> list[dict]:
        """The backfill of a worker's log stream (Server-Sent Events): RunPod keeps the stream
        open for new lines, so reading stops once it has been quiet for `quiet_s`."""
        path = f"/serverless/{endpoint_id}/workers/{worker_id}/logs"
        params = {"since": since} if since else {"tail": 5000}
        try:
            response = self.session.get(self.base_url + path, params=params, stream=True,
                                        timeout=(5.0, quiet_s))
        except requests.RequestException as exc:
            raise ApiError("GET", path, None, type(exc).__name__, self.service) from None
        events = []
        try:
            self._refuse_errors(response, "GET", path)
            # chunk_size None: each piece as it arrives, not once 512 bytes have.
            for line in response.iter_lines(chunk_size=None, decode_unicode=True):
                if line and line.startswith("data:"):
                    events.append(json.loads(line[5:].strip()))
        except (requests.ConnectionError, requests.Timeout):
            pass  # quiet for quiet_s: the backfill is over
        except ValueError:
            raise ApiError("GET", path, 200, "a log event is not JSON", self.service) from None
        finally:
            response.close()
        return events
