"""Client of Baseten's management REST API (https://api.baseten.co/v1)."""

from __future__ import annotations

import os

from tuna.http_client import JsonClient

DEFAULT_API_URL = "https://api.baseten.co"
PRODUCTION = "production"
MAX_LOG_LINES = 1000
# Pages of MAX_LOG_LINES one `tuna logs` reads at most: a bound on one call, not on the window.
MAX_LOG_PAGES = 20
LOG_WINDOW_S = 7 * 24 * 3600  # the longest window Baseten's logs endpoint serves


class BasetenApi(JsonClient):
    service = "Baseten API"
    key_hint = ("check BASETEN_API_KEY (a workspace key with management access, not an "
                "inference-only key)")

    def __init__(self, api_key: str, base_url: str | None = None):
        super().__init__(base_url or os.environ.get("BASETEN_API_URL") or DEFAULT_API_URL,
                         api_key, f"Api-Key {api_key}")

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

    def team_models_named(self, team_id: str, name: str) -> list[dict]:
        """Names are unique per team: at most one model."""
        models = self._call("GET", f"/v1/teams/{team_id}/models", params={"name": name})["models"]
        return [m for m in models if m.get("name") == name]

    def team_secret_names(self, team_id: str) -> set[str]:
        """One team's secrets: a deployment sees only its own team's (/v1/secrets lists all)."""
        return {s["name"] for s in self._call("GET", f"/v1/teams/{team_id}/secrets")["secrets"]}

    def instance_type_prices(self) -> list[dict]:
        """The workspace's instance types, each {"instance_type": {...gpu_type, gpu_count},
        "price": USD per minute}."""
        return self._call("GET", "/v1/instance_type_prices")["instance_types"]

    def promote(self, model_id: str, deployment_id: str, autoscaling: dict,
                environment: str = PRODUCTION) -> dict:
        """Promote with the environment's autoscaling in the same call: Baseten applies it as
        the promotion completes, so no moment serves with its defaults."""
        return self._call("POST", f"/v1/models/{model_id}/environments/{environment}/promote",
                          json={"deployment_id": deployment_id,
                                "preserve_env_instance_type": False,
                                "environment_settings_update": {
                                    "autoscaling_settings": autoscaling}})

    def teams(self) -> list[dict]:
        return self._call("GET", "/v1/teams")["teams"]

    def models(self) -> list[dict]:
        return self._call("GET", "/v1/models")["models"]

    def deployment_logs(self, model_id: str, deployment_id: str, start_ms: int | None = None,
                        limit: int = 100, pages: int = 1) -> list[dict]:
        """The newest log lines since start_ms (Baseten's default: 30 minutes back; at most 7
        days), oldest first: up to `pages` pages of `limit` (1-1000) lines, each page ending
        (`end_epoch_millis`) where the one before began. Baseten answers newest first, stamps in
        epoch nanoseconds as strings; the endpoint is in beta."""
        path = f"/v1/models/{model_id}/deployments/{deployment_id}/logs"
        params: dict = {"direction": "desc", "limit": max(1, min(limit, MAX_LOG_LINES))}
        if start_ms is not None:
            params["start_epoch_millis"] = start_ms
        found: dict[tuple[str, str], dict] = {}
        for _ in range(pages):
            page = self._call("GET", path, params=params).get("logs", [])
            fresh = [e for e in page if (e["timestamp"], e.get("message")) not in found]
            found.update({(e["timestamp"], e.get("message")): e for e in page})
            if len(page) < params["limit"] or not fresh:
                break  # the window holds no more
            # The oldest millisecond again (the end is inclusive): lines sharing it are kept once.
            params["end_epoch_millis"] = min(int(e["timestamp"]) for e in page) // 1_000_000
        return sorted(found.values(), key=lambda entry: int(entry["timestamp"]))
