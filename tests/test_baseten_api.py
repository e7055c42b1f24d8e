"""The REST client against `responses`: paths, auth header, error mapping, retries."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from tuna.http_errors import ApiError, KeyRejected, NotFound
from tuna.providers.baseten.api import BasetenApi

URL = "https://api.test"
KEY = "secret-key-123"


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr("urllib3.util.retry.Retry.DEFAULT_BACKOFF_MAX", 0)
    client = BasetenApi(KEY, URL)
    for adapter in client.session.adapters.values():
        adapter.max_retries.backoff_factor = 0  # retries without real waiting
    return client


@responses.activate
def test_sends_api_key_and_reads_models_by_exact_name(api):
    responses.get(f"{URL}/v1/models", match=[
        matchers.query_param_matcher({"name": "svc"}),
        matchers.header_matcher({"Authorization": f"Api-Key {KEY}"})],
        json={"models": [{"id": "m1", "name": "svc"}, {"id": "m2", "name": "svc-2"}]})
    assert api.models_named("svc") == [{"id": "m1", "name": "svc"}]


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("BASETEN_API_URL", "http://127.0.0.1:1/")
    assert BasetenApi(KEY).base_url == "http://127.0.0.1:1"
    monkeypatch.delenv("BASETEN_API_URL")
    assert BasetenApi(KEY).base_url == "https://api.baseten.co"


@responses.activate
def test_autoscaling_patch_body(api):
    responses.patch(f"{URL}/v1/models/m1/environments/production", match=[
        matchers.json_params_matcher({"autoscaling_settings": {"min_replica": 0, "max_replica": 2}})],
        json={"status": "ACCEPTED", "message": ""})
    assert api.update_autoscaling("m1", {"min_replica": 0, "max_replica": 2})["status"] == "ACCEPTED"


@responses.activate
def test_logs_are_requested_newest_first_and_returned_oldest_first(api):
    # Baseten's shape: newest first, epoch nanoseconds as strings (the same second twice here).
    responses.get(f"{URL}/v1/models/m1/deployments/d1/logs", match=[
        matchers.query_param_matcher({"direction": "desc", "limit": "2", "start_epoch_millis": "5"})],
        json={"logs": [{"timestamp": "1700000000000000002", "message": "third"},
                       {"timestamp": "1700000000000000001", "message": "second"}]})
    assert [e["message"] for e in api.deployment_logs("m1", "d1", 5, 2)] == ["second", "third"]


@pytest.mark.parametrize("asked, sent", [(0, "1"), (5000, "1000"), (1000, "1000")])
@responses.activate
def test_log_limit_stays_within_what_baseten_accepts(api, asked, sent):
    responses.get(f"{URL}/v1/models/m1/deployments/d1/logs", match=[
        matchers.query_param_matcher({"direction": "desc", "limit": sent})], json={"logs": []})
    assert api.deployment_logs("m1", "d1", None, asked) == []


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_rejected_key(api, status):
    responses.get(f"{URL}/v1/teams/t1/secrets", status=status, json={"error": "bad"})
    with pytest.raises(KeyRejected, match="API key was rejected") as caught:
        api.team_secret_names("t1")
    assert KEY not in str(caught.value)


@responses.activate
def test_not_found(api):
    responses.delete(f"{URL}/v1/models/m9", status=404)
    with pytest.raises(NotFound):
        api.delete_model("m9")


@responses.activate
def test_server_error_is_short_and_has_no_headers(api):
    responses.get(f"{URL}/v1/models/m1", status=500, body="x" * 5000)
    with pytest.raises(ApiError, match=r"GET /v1/models/m1 failed \(HTTP 500\)") as caught:
        api.get_model("m1")
    assert len(str(caught.value)) < 300 and KEY not in str(caught.value)


@responses.activate
def test_idempotent_calls_retry_transient_errors(api):
    responses.get(f"{URL}/v1/models/m1/deployments/d1", status=503)
    responses.get(f"{URL}/v1/models/m1/deployments/d1", status=429, headers={"Retry-After": "0"})
    responses.get(f"{URL}/v1/models/m1/deployments/d1", json={"id": "d1", "status": "ACTIVE"})
    assert api.get_deployment("m1", "d1")["status"] == "ACTIVE"
    assert len(responses.calls) == 3


@responses.activate
def test_retries_are_bounded(api):
    responses.delete(f"{URL}/v1/models/m1", status=502)
    with pytest.raises(ApiError, match="HTTP 502"):
        api.delete_model("m1")
    assert len(responses.calls) == 6  # the first try and five retries


@responses.activate
def test_connection_error_names_host_not_key(api):
    with pytest.raises(ApiError, match=r"GET /v1/teams/t1/secrets failed: ConnectionError reaching https://api.test") as caught:
        api.team_secret_names("t1")
    assert KEY not in str(caught.value)
