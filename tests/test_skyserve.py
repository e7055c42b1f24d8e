"""The skyserve plugin driving the real SkyPilot client (`sky.serve`) against a loopback stand-in
of the SkyPilot API server (tests/fake_skypilot.py): up, status through every service status,
down confirmed by the record's own server, a refused up, another server never writing off."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from tests.fake_skypilot import FakeSkyPilot
from tuna.errors import ProviderError, UsageError
from tuna.models import DeployRequest, Feature, Record, Scaling, Status
from tuna import keys
from tuna.providers.skyserve.provider import SkyServeProvider


class Events:
    def __init__(self):
        self.ids, self.statuses, self.messages = [], [], []

    def created(self, provider_ids):
        self.ids.append(provider_ids)

    def progress(self, message):
        self.messages.append(message)

    def status(self, provider_status, elapsed_s):
        self.statuses.append(provider_status)


def _point_at(monkeypatch, url: str) -> None:
    """SkyPilot caches its server's address per process (tuna runs one per command)."""
    from sky.server import common

    monkeypatch.setenv("SKYPILOT_API_SERVER_ENDPOINT", url)
    common.get_server_url.cache_clear()


@pytest.fixture
def skypilot(monkeypatch, tmp_path):
    fake = FakeSkyPilot()
    _point_at(monkeypatch, fake.url)
    monkeypatch.setenv("TUNA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TUNA_POLL_INTERVAL", "0.01")
    yield fake
    fake.close()


def _request(**changes):
    return DeployRequest(**{"model": "Qwen/Qwen3-0.6B", "gpu": "L4", "service_name": "q-spot",
                            "options": {"skyserve": {"spots_cloud": "aws,gcp",
                                                     "spot_fallback": "dynamic"}}, **changes})


def _deploy(provider, request, timeout=30.0):
    plan = provider.plan(request)
    provider.validate(plan)
    events = Events()
    preflight = provider.preflight(request)
    assert not preflight.failed
    result = provider.deploy(plan, events, timeout)
    record = Record(request.service_name, provider.name, result.status, request,
                    result.provider_ids, location=preflight.location)
    return result, record, events


def test_up_waits_through_skyserves_statuses_and_down_is_confirmed(skypilot):
    provider = SkyServeProvider()
    result, record, events = _deploy(provider, _request())
    assert events.ids == [{"service": "q-spot"}]
    assert events.statuses[:2] == ["CONTROLLER_INIT", "REPLICA_INIT"]
    assert (result.status, result.active_replicas) == (Status.ACTIVE, 1)
    assert result.endpoint_url == "http://127.0.0.1:30001/v1"
    assert record.location == {"api_server": skypilot.url, "user": "alice-hash"}
    sent = skypilot.services["q-spot"].task
    assert "use_spot: true" in sent and "dynamic_ondemand_fallback: true" in sent
    key = open(keys.path("q-spot")).read()
    # SkyPilot hands secrets to its API server inside the task, marked as secrets (its
    # managed_secrets), for the replicas' environment: that server holds the key, no file does.
    assert list(yaml.safe_load_all(sent))[-1]["secrets"] == {"VLLM_API_KEY": key}
    assert key not in provider.plan(_request()).files["spot.yaml"]
    assert stat.S_IMODE(os.stat(keys.path("q-spot")).st_mode) == 0o600
    status = provider.status(record)
    assert (status.status, status.provider_status, status.details["spot_replicas"]) == (
        Status.ACTIVE, "READY", 1)
    provider.destroy(record)
    assert "q-spot" not in skypilot.services and skypilot.calls.count("down") == 1
    assert provider.status(record).status is Status.DESTROYED


@pytest.mark.parametrize("word, min_replicas, expected", [
    ("CONTROLLER_INIT", 0, Status.DEPLOYING), ("REPLICA_INIT", 0, Status.DEPLOYING),
    ("READY", 0, Status.ACTIVE), ("NO_REPLICA", 0, Status.ACTIVE),
    ("NO_REPLICA", 1, Status.UNHEALTHY), ("CONTROLLER_FAILED", 0, Status.FAILED),
    ("FAILED", 0, Status.FAILED), ("FAILED_CLEANUP", 0, Status.FAILED),
    ("SHUTTING_DOWN", 0, Status.DEPLOYING),
])
def test_every_service_status_reads_as_tunas(skypilot, word, min_replicas, expected):
    skypilot.script = [word]
    request = _request(scaling=Scaling(min_replicas=min_replicas, max_replicas=2))
    provider = SkyServeProvider()
    provider.deploy(provider.plan(request), Events(), None)
    record = Record("q-spot", "skyserve", Status.DEPLOYING, request, {"service": "q-spot"},
                    location={"api_server": skypilot.url, "user": "alice-hash"})
    assert provider.status(record).status is expected


def test_a_failed_controller_fails_the_wait_with_where_to_look(skypilot):
    skypilot.script = ["CONTROLLER_INIT", "CONTROLLER_FAILED"]
    with pytest.raises(ProviderError, match="CONTROLLER_FAILED: `sky serve logs q-spot"):
        _deploy(SkyServeProvider(), _request())


def test_a_refused_up_is_skypilots_own_words(skypilot):
    skypilot.refuse_up = "Failed to provision all possible launchable resources."
    with pytest.raises(ProviderError, match="SkyServe refused q-spot: Failed to provision"):
        _deploy(SkyServeProvider(), _request())


def test_another_api_server_never_writes_a_service_off(skypilot, monkeypatch):
    provider = SkyServeProvider()
    _result, record, _events = _deploy(provider, _request())
    other = FakeSkyPilot(user="bob")
    try:
        _point_at(monkeypatch, other.url)
        with pytest.raises(ProviderError, match="nothing is written off"):
            provider.status(record)
        with pytest.raises(ProviderError, match="nothing is written off"):
            provider.destroy(record)
    finally:
        other.close()
    assert "q-spot" in skypilot.services


def test_an_unreachable_server_is_a_failed_check_not_a_crash(monkeypatch, tmp_path):
    from tests.test_router import _free_port

    _point_at(monkeypatch, f"http://127.0.0.1:{_free_port()}")
    checks = SkyServeProvider().check_account()
    assert not checks[0].ok and "does not answer" in checks[0].detail


def test_what_it_cannot_do_yet_is_refused_by_name():
    with pytest.raises(UsageError, match="skyserve does not support deployment logs"):
        SkyServeProvider().require(Feature.LOGS)


def test_an_update_is_blue_green_and_waits_for_the_new_versions_replica(skypilot):
    provider = SkyServeProvider()
    _result, record, _events = _deploy(provider, _request())
    changed = _request(max_model_len=8192)
    events = Events()
    result = provider.deploy(provider.plan(changed), events, 30.0, update=record)
    assert skypilot.calls.count("update") == 1 and skypilot.services["q-spot"].version == 2
    assert "UPDATING" in events.statuses  # READY on the old version did not end the wait
    assert result.status is Status.ACTIVE
    assert "--max-model-len 8192" in skypilot.services["q-spot"].task
    replicas = provider.status(record).details["replicas"]
    assert replicas == ["1: READY"] and skypilot.services["q-spot"].replicas[0]["version"] == 2
