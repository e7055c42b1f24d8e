"""Finding a record's model and deployments on Baseten, and the models tuna made there.

A record's model is found by its id or, when its push never reported back, by its exact name and
the labels tuna pushes. Baseten saying "no such model" counts only from the record's own API
address and workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuna.errors import ProviderError
from tuna.models import Record, RemoteService
from tuna.providers.baseten import checks
from tuna.providers.baseten.deploy import MANAGED_BY
from tuna.http_errors import NotFound

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi


def same_location(api: BasetenApi, record: Record) -> None:
    """Raise unless tuna is talking to the workspace the record lives in."""
    if not record.location:
        return  # recorded before tuna kept locations
    here = checks.location(api, api.teams())
    if any(here[key] != record.location.get(key) for key in here):
        raise ProviderError(
            f"{record.service_name} lives at {record.location['api_url']} (workspace "
            f"{record.location['workspace']}), but tuna is talking to {here['api_url']} (workspace "
            f"{here['workspace']}); set BASETEN_API_URL and BASETEN_API_KEY for its workspace. "
            "Nothing was changed")


def tuna_labels(api: BasetenApi, model: dict) -> dict | None:
    """The labels of the model's newest deployment tuna pushed, or None if tuna pushed none."""
    mine = [d for d in api.deployments(model["id"])
            if (d.get("labels") or {}).get("managed-by") == MANAGED_BY
            and (d.get("labels") or {}).get("tuna-service") == model["name"]]
    return newest(mine)


def newest(deployments: list[dict]) -> dict | None:
    return max(deployments, key=lambda d: d.get("created_at") or "", default=None)


def model_of(api: BasetenApi, record: Record) -> dict | None:
    """The record's model as Baseten lists it; None once Baseten, in the record's own
    workspace, says there is none."""
    model_id = record.provider_ids.get("model_id")
    if model_id:
        try:
            return api.get_model(model_id)
        except NotFound:
            same_location(api, record)
            return None
    team_id = record.location.get("team_id")  # names are unique per team; older records: any
    named = (api.team_models_named(team_id, record.service_name) if team_id
             else api.models_named(record.service_name))
    found = [m for m in named if tuna_labels(api, m)]
    if len(found) > 1:
        raise ProviderError(f"{len(found)} Baseten models tuna made are named "
                            f"{record.service_name!r}; delete the right one in the dashboard")
    if not found:
        same_location(api, record)
    return found[0] if found else None


def deployment_of(api: BasetenApi, model: dict, record: Record) -> dict | None:
    """The serving deployment: production; else the record's; else the newest (a push that
    never reported back, before its first promotion)."""
    for deployment_id in (model.get("production_deployment_id"),
                          record.provider_ids.get("deployment_id")):
        if deployment_id:
            try:
                return api.get_deployment(model["id"], deployment_id)
            except NotFound:
                continue
    return newest(api.deployments(model["id"]))


def services(api: BasetenApi) -> list[RemoteService]:
    found = []
    for model in api.models():
        deployment = tuna_labels(api, model)
        if deployment:
            found.append(RemoteService(model["name"], "baseten", {
                "model_id": model["id"], "deployment_id": deployment["id"]},
                deployment.get("status", "UNKNOWN")))
    return found
