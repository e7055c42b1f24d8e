"""A record's RunPod endpoint: found where it lives (records made through the retired REST API
v1 included), its worker logs, and its removal, confirmed."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from tuna import settings
from tuna.errors import ProviderError
from tuna.http_errors import NotFound
from tuna.models import Check, DeployRequest, LogLine, Record
from tuna.providers.runpod import render

if TYPE_CHECKING:
    from tuna.providers.runpod.api import RunpodApi

V1_API_URL = "https://rest.runpod.io/v1"  # retired 2026-11-15; its ids live on in v2
GONE = object()  # RunPod, asked where the record lives, says the endpoint does not exist
# A log stream quiet this long has sent its backfill (RunPod keeps it open for new lines);
# TUNA_POLL_INTERVAL shortens it, down to a floor that still lets the stream's headers arrive.
LOG_QUIET_S = 1.0
LOG_QUIET_FLOOR_S = 0.5


def _v2_address(api_url: str) -> str:
    """Where a record's resources answer now: one made through v1 is served by v2."""
    from tuna.providers.runpod.api import DEFAULT_API_URL

    url = api_url.rstrip("/")
    if url == V1_API_URL:
        return DEFAULT_API_URL
    return url[:-3] + "/v2" if url.endswith("/v1") else url


def _require_same_location(api: RunpodApi, record: Record) -> None:
    lives_at = record.location.get("api_url") if record.location else None
    if lives_at and _v2_address(lives_at) != api.base_url:
        raise ProviderError(f"{record.service_name} lives at {lives_at}, but tuna is talking to "
                            f"{api.base_url}; set RUNPOD_API_URL for it. Nothing was changed")


def _by_name(api: RunpodApi, record: Record) -> dict | None:
    name = render.endpoint_name(record.service_name)
    return next((e for e in api.endpoints() if e.get("name") == name), None)


def find(api: RunpodApi, record: Record) -> dict | object | None:
    """The record's endpoint; GONE when RunPod, asked at the record's own address, has no such
    endpoint; None when tuna never learnt its id. A v1-era record whose id v2 does not know is
    looked up by its name before anything is written off."""
    endpoint_id = record.provider_ids.get("endpoint_id")
    if not endpoint_id:
        return None
    _require_same_location(api, record)
    try:
        return api.endpoint(endpoint_id)
    except NotFound:
        if record.provider_ids.get("template_id"):  # made through v1
            same_name = _by_name(api, record)
            if same_name is not None:
                return same_name
        return GONE


def endpoint_id(api: RunpodApi, record: Record) -> str:
    found = find(api, record)
    if found is None or found is GONE:
        raise ProviderError(f"{record.service_name} has no RunPod endpoint"
                            + (" any more" if found is GONE else " tuna knows of"))
    return found["id"]


def loaded_marker(word: str, listing: dict) -> dict[str, str]:
    """Remember which configuration a worker loaded the model of, so that an endpoint scaled
    to zero since is known to be one whose model loads."""
    if word != "READY" or listing.get("endpointVersion") is None:
        return {}
    return {"loaded_config": str(listing["endpointVersion"])}


def worker_cap_check(endpoints: list[dict], request: DeployRequest,
                     update: Record | None) -> Check:
    """RunPod counts max workers over every endpoint of the account against a cap set by the
    balance, which no API route shows: warn where the documented default would be passed."""
    replaced = update.provider_ids.get("endpoint_id") if update else None
    others = sum((e.get("workers") or {}).get("max", 0) for e in endpoints
                 if e.get("id") != replaced)
    total = others + request.scaling.max_replicas
    cap = render.facts()["account"]
    detail = f"{total} max workers over the account's endpoints"
    over = total > cap["default_max_workers"]
    if over:
        detail += (f": over RunPod's default cap of {cap['default_max_workers']}; the cap is "
                   f"{cap['max_workers_by_balance']}, and RunPod refuses more")
    return Check("worker cap", True, detail, warning=over)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat().replace("+00:00", "Z")


def _ns(timestamp: str) -> int:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def logs(api: RunpodApi, record: Record, since_ms: int) -> list[LogLine]:
    """Every current worker's log lines since since_ms, oldest first. RunPod keeps the logs of
    active workers only: a worker gone since took its logs with it."""
    found = find(api, record)
    if found is None or found is GONE:
        return []
    quiet = max(LOG_QUIET_FLOOR_S, min(settings.poll_interval_cap(LOG_QUIET_S), LOG_QUIET_S))
    lines = []
    for worker in api.workers(found["id"]).get("workers") or []:
        for event in api.worker_logs(found["id"], worker["id"], _iso(since_ms) if since_ms
                                     else None, quiet):
            lines.append(LogLine(_ns(event["ts"]), str(event.get("line", "")), worker["id"]))
    return sorted(lines, key=lambda line: line.timestamp_ns)


def destroy(api: RunpodApi, record: Record) -> None:
    """Delete the endpoint (which deletes a template a v1-era endpoint is bound to) and confirm
    it gone; a v1-era record's template is then confirmed gone, or deleted and confirmed."""
    found = find(api, record)
    if found is not None and found is not GONE:
        try:
            api.delete_endpoint(found["id"])
        except NotFound:
            pass  # already gone
        if find(api, record) is not GONE:
            raise ProviderError(f"RunPod still lists endpoint {found['id']} after the delete; "
                                f"run `tuna destroy --service-name {record.service_name}` again")
    template_id = record.provider_ids.get("template_id")
    if not template_id or _template_gone(api, template_id):
        return
    try:
        api.delete_template(template_id)
    except NotFound:
        return
    if not _template_gone(api, template_id):
        raise ProviderError(f"RunPod still lists template {template_id} after the delete; run "
                            f"`tuna destroy --service-name {record.service_name}` again")


def _template_gone(api: RunpodApi, template_id: str) -> bool:
    try:
        api.template(template_id)
    except NotFound:
        return True
    return False
