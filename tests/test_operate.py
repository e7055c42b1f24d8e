"""Operating a deployment: logs, cost and updates in place, against the loopback fake."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.test_baseten_e2e import DEPLOY
from tuna.cost import estimate
from tuna.models import DeployRequest, Record, Scaling, Status

LOGS = r"/v1/models/[^/]+/deployments/[^/]+/logs.*"


def log_queries(fake):
    return [parse_qs(urlsplit(p).query) for m, p in fake.requests if m == "GET" and "/logs" in p]


def test_logs_newest_last_since_a_duration(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.logs = ["first", "second", "third"]
    before_ms = int(time.time() * 1000)
    done = tuna("logs", "--service-name", "qwen3-0-6b", "--since", "10m")
    assert done.code == 0, done.stderr
    assert [line.split(" ", 3)[3] for line in done.stdout.splitlines()] == ["first", "second", "third"]
    assert " [r1] " in done.stdout
    (query,) = log_queries(fake)
    asked = int(query["start_epoch_millis"][0])
    assert before_ms - 600_000 - 5_000 <= asked <= before_ms - 600_000 + 5_000
    assert query["direction"] == ["desc"]


def test_logs_page_past_basetens_thousand_line_limit(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.logs = [f"line {i}" for i in range(2500)]
    done = tuna("logs", "--service-name", "qwen3-0-6b", "--json")
    assert done.code == 0, done.stderr
    messages = [json.loads(line)["message"] for line in done.stdout.splitlines()]
    assert messages == fake.logs  # every line once, oldest first
    queries = log_queries(fake)
    assert len(queries) == 3 and "end_epoch_millis" not in queries[0]
    assert all(q["limit"] == ["1000"] for q in queries)


def test_logs_follow_prints_each_new_line_once_until_ctrl_c(tuna_env, tuna, fake, tmp_path):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.logs = ["boot"]
    process = subprocess.Popen([sys.executable, "-m", "tuna", "logs", "--service-name",
                                "qwen3-0-6b", "--follow"], env={**tuna_env, "TUNA_POLL_INTERVAL": "0.05"},
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 30
    while len(log_queries(fake)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    fake.logs = ["boot", "ready"]
    reads = len(log_queries(fake))
    while len(log_queries(fake)) < reads + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert [line.split(" ", 3)[3] for line in stdout.splitlines()] == ["boot", "ready"]
    starts = [int(q["start_epoch_millis"][0]) for q in log_queries(fake)]
    assert len(starts) >= 6 and starts[-1] == fake.log_stamps[1]  # each read resumes at the newest


def test_logs_of_unknown_service(tuna):
    done = tuna("logs", "--service-name", "ghost")
    assert done.code == 2 and "no service named 'ghost'" in done.stderr


def test_status_shows_burn_rate_and_zero_when_scaled_to_zero(tuna, fake):
    assert tuna(*DEPLOY, "--min-replicas", "1", "--tp-size", "2").code == 0
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json").json()
    assert status["active_replicas"] == 1
    assert status["burn_rate_per_hour"] == pytest.approx(2.40)  # an L4:2 box, not 2 x 0.85
    human = tuna("status", "--service-name", "qwen3-0-6b").stdout
    assert "burn rate now: $2.40/hour (1 active replica x 2 x L4)" in human
    model = fake.model_named("qwen3-0-6b")
    model.deployments[model.production_id].script = ["SCALED_TO_ZERO"]
    model.deployments[model.production_id].reads = 0
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json").json()
    assert status["provider_status"] == "SCALED_TO_ZERO" and status["burn_rate_per_hour"] == 0


def test_deploy_summary_shows_replica_price_and_billing(tuna):
    done = tuna(*DEPLOY, "--tp-size", "2")
    assert done.code == 0, done.stderr
    assert "$2.40/hour per replica (2 x L4, the account's own price), billed per minute" in done.stdout


def record(created_at=1000.0, max_replicas=3, status=Status.ACTIVE, updated_at=0.0):
    request = DeployRequest("Qwen/Qwen3-0.6B", "L4", tp_size=2,
                            scaling=Scaling(min_replicas=0, max_replicas=max_replicas))
    return Record("svc", "baseten", status, request, created_at=created_at, updated_at=updated_at)


def test_cost_estimate_integrates_observed_replicas():
    # 0 replicas for 600 s, 1 for 1800 s, 2 for 1800 s, then 0 until now.
    seen = [(1000.0, 0, None), (1600.0, 1, None), (3400.0, 2, None), (5200.0, 0, None)]
    result = estimate(record(), seen, now=8800.0)
    replica_hours = (1800 * 1 + 1800 * 2) / 3600
    assert result.estimated_usd == pytest.approx(replica_hours * 2.40)  # the L4:2 box's price
    assert result.at_most_usd == pytest.approx(3 * (7800 / 3600) * 2.40)
    assert result.observations == 4 and result.billing_unit == "minute"


def test_cost_of_destroyed_service_stops_at_destruction():
    seen = [(1000.0, 1, None), (4600.0, 0, None)]
    done = estimate(record(status=Status.DESTROYED, updated_at=4600.0), seen, now=99999.0)
    assert done.estimated_usd == pytest.approx(1 * 2.40)
    assert done.until == 4600.0


def test_cost_command(tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--min-replicas", "1").code == 0
    # Pretend the service was created two hours ago with one replica since.
    with sqlite3.connect(state_dir / "state.db") as db:
        db.execute("UPDATE services SET created_at = created_at - 7200")
        db.execute("DELETE FROM observations")
        db.execute("INSERT INTO observations SELECT id, created_at, 1, 0.85, NULL FROM services")
    done = tuna("cost", "--service-name", "qwen3-0-6b", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["estimated_usd"] == pytest.approx(2 * 0.85, rel=0.01)
    assert result["observations"] == 2  # cost looked at the service once more
    assert result["burn_rate_per_hour"] == pytest.approx(0.85)
    human = tuna("cost", "--service-name", "qwen3-0-6b").stdout
    assert "Estimated cost since" in human and "an estimate" in human and "bill is the truth" in human


def test_live_name_is_refused_without_update(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    done = tuna(*DEPLOY)
    assert done.code == 2
    assert "already exists (deploying); pass --update" in done.stderr
    assert len(fake.models) == 1


def test_update_rolls_out_behind_the_same_endpoint(tuna, fake):
    first = tuna(*DEPLOY, "--json").json()
    done = tuna(*DEPLOY, "--update", "--max-model-len", "8192", "--json")
    assert done.code == 0, done.stderr
    second = done.json()
    model = fake.model_named("qwen3-0-6b")
    assert len(fake.models) == 1 and len(model.deployments) == 2
    assert second["model_id"] == first["model_id"]
    assert second["endpoint_url"] == first["endpoint_url"]
    assert second["deployment_id"] != first["deployment_id"]
    assert model.production_id == second["deployment_id"]  # promoted, and tuna waited for it
    new = model.deployments[second["deployment_id"]]
    assert "--max-model-len 8192" in new.config["docker_server"]["start_command"]
    # Pushed unpromoted, then promoted through the REST API with its autoscaling.
    assert not new.promote
    assert fake.count("POST", r"/v1/models/[^/]+/environments/production/promote") == 1
    listed = tuna("list", "--json").json()[0]
    assert listed["deployment_id"] == second["deployment_id"] and listed["status"] == "active"
    assert tuna("status", "--service-name", "qwen3-0-6b", "--json").json()["deployment_id"] == \
        second["deployment_id"]


def test_failed_update_keeps_the_serving_deployment(tuna, fake):
    first = tuna(*DEPLOY, "--json").json()
    fake.script = ("BUILDING", "BUILD_FAILED")
    done = tuna(*DEPLOY, "--update", "--quantization", "awq")
    assert done.code == 1
    assert "previous deployment keeps serving" in done.stderr
    listed = tuna("list", "--json").json()[0]
    assert listed["deployment_id"] == first["deployment_id"] and listed["status"] == "active"
    assert listed["error"].startswith("update failed")
    assert fake.model_named("qwen3-0-6b").production_id == first["deployment_id"]


def test_update_needs_a_live_service(tuna, fake):
    done = tuna(*DEPLOY, "--update")
    assert done.code == 2 and "--update needs a live service named 'qwen3-0-6b'" in done.stderr
    assert fake.requests == []
