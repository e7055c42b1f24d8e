"""Fault injection against the loopback fake: flaky APIs, dropped connections, interrupts,
and a state database that cannot be used. The state must never claim what Baseten does not."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.test_baseten_e2e import DEPLOY
from tuna import state as state_module
from tuna.errors import StateError
from tuna.models import DeployRequest, Record, Status
from tuna.state import StateStore

DEPLOYMENT_GET = r"/v1/models/[^/]+/deployments/[^/]+"


def test_5xx_and_429_bursts_while_waiting_are_survived(tuna, fake):
    fake.fail("GET", DEPLOYMENT_GET, 503, times=2)
    fake.fail("GET", DEPLOYMENT_GET, 429, times=2, **{"Retry-After": "0"})
    fake.fail("GET", DEPLOYMENT_GET, 502, times=1)
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    assert done.json()["status"] == "active"
    assert all(f.times == 0 for f in fake.faults)


def test_dropped_connections_while_waiting_are_survived(tuna, fake):
    fake.fail("GET", DEPLOYMENT_GET, 0, times=2)
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    assert fake.faults[0].times == 0


def test_faults_during_destroy_are_retried(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.fail("DELETE", r"/v1/models/.*", 503, times=2)
    fake.fail("GET", r"/v1/models/[^/]+", 429, times=1, **{"Retry-After": "0"})
    done = tuna("destroy", "--service-name", "qwen3-0-6b")
    assert done.code == 0, done.stderr
    assert fake.models == {}
    assert tuna("list", "--json").json() == []


def test_delete_that_keeps_failing_leaves_record_and_model(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.fail("DELETE", r"/v1/models/.*", 500, times=1000)
    done = tuna("destroy", "--service-name", "qwen3-0-6b")
    assert done.code == 1
    assert "HTTP 500" in done.stderr and "Traceback" not in done.stderr
    assert fake.model_named("qwen3-0-6b") is not None
    record = tuna("list", "--json").json()[0]
    assert record["status"] == "deploying"  # exactly as before the failed delete
    fake.faults.clear()
    assert tuna("destroy", "--service-name", "qwen3-0-6b").code == 0
    assert fake.models == {}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_waiting(tuna_env, tuna, fake, tmp_path, sig):
    fake.script = ("BUILDING",)
    process = subprocess.Popen([sys.executable, "-m", "tuna", *DEPLOY], env=tuna_env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 60
    while fake.count("GET", DEPLOYMENT_GET) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.count("GET", DEPLOYMENT_GET) >= 2, "tuna never started waiting"
    sent = time.monotonic()
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < 3
    assert process.returncode == 130
    assert "interrupted" in stderr and "tuna destroy --service-name qwen3-0-6b" in stderr
    assert "Traceback" not in stderr
    record = tuna("list", "--json").json()[0]
    model = fake.model_named("qwen3-0-6b")
    assert record["model_id"] == model.id and record["status"] == "deploying"
    assert tuna("destroy", "--service-name", "qwen3-0-6b").code == 0
    assert fake.models == {}


def _record(name="svc"):
    return Record(name, "baseten", Status.PENDING, DeployRequest("Qwen/Qwen3-0.6B", "L4",
                                                                 service_name=name))


def test_locked_database_is_a_clear_error(tmp_path, monkeypatch):
    StateStore(tmp_path).create(_record("first"))
    monkeypatch.setattr(state_module, "BUSY_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateError, match="locked by another process; try again"):
            StateStore(tmp_path).create(_record("second"))
        assert [r.service_name for r in StateStore(tmp_path).list()] == ["first"]  # reads go on
    finally:
        holder.execute("ROLLBACK")


def test_read_only_database_is_a_clear_error(tmp_path, monkeypatch):
    StateStore(tmp_path).create(_record("first"))
    connect = sqlite3.connect
    monkeypatch.setattr(state_module.sqlite3, "connect", lambda path, **kw: connect(
        f"file:{path}?mode=ro", uri=True, **kw))
    store = StateStore(tmp_path)
    assert [r.service_name for r in store.list()] == ["first"]
    with pytest.raises(StateError, match="is read-only, so tuna can show it but not change it"):
        store.create(_record("second"))


def test_corrupt_database_via_cli(tuna, state_dir):
    state_dir.mkdir()
    (state_dir / "state.db").write_bytes(b"\x00garbage" * 512)
    for args in (("list",), ("status", "--service-name", "x"), (*DEPLOY, "--no-wait")):
        done = tuna(*args)
        assert done.code == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot be used" in lines[0] and "keep the file" in lines[0]
        assert "move it aside" not in lines[0]  # it may be the only map of live models


def test_destroy_all_goes_on_past_one_failure(tuna, fake):
    for name in ("a", "b"):
        assert tuna(*DEPLOY, "--service-name", name, "--no-wait").code == 0
    stuck = fake.model_named("a")
    fake.fail("DELETE", rf"/v1/models/{stuck.id}", 500, times=1000)
    done = tuna("destroy", "--all", "--yes")
    assert done.code == 1
    assert "Destroyed b." in done.stdout
    assert "a: " in done.stderr and "retry `tuna destroy --service-name a`" in done.stderr
    assert [m.name for m in fake.models.values()] == ["a"]
    assert [r["service_name"] for r in tuna("list", "--json").json()] == ["a"]


def test_timed_out_deploy_that_later_turns_ready_is_reported_ready(tuna, fake):
    fake.script = ("BUILDING",) * 40 + ("ACTIVE",)
    assert tuna(*DEPLOY, "--timeout", "0.5s").code == 1
    record = tuna("list", "--json").json()[0]
    assert record["status"] == "deploying" and "still BUILDING" in record["error"]
    (deployment,) = fake.model_named("qwen3-0-6b").deployments.values()
    deployment.reads = 40
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json").json()
    assert status["status"] == "active" and status["error"] is None
