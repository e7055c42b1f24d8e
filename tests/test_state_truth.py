"""State that never lies: each path that once lost a live model or forgot a paid GPU, through the
real CLI and the real `truss push` against the loopback fake."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import API_KEY
from tests.fake_baseten import FakeBaseten
from tests.test_baseten_e2e import DEPLOY
from tuna.models import Status
from tuna.state import StateStore

NAME = "qwen3-0-6b"


def start(tuna_env, tmp_path, *args, env=None):
    return subprocess.Popen([sys.executable, "-m", "tuna", *args], env={**tuna_env, **(env or {})},
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        time.sleep(0.05)


@pytest.fixture
def other_workspace():
    server = FakeBaseten(api_key=API_KEY).start()
    server.teams = [{"id": "t-elsewhere", "name": "Default", "default": True}]
    yield server
    server.stop()


# 1. A 404 from the wrong place ------------------------------------------------------------------

def test_a_404_from_another_address_or_workspace_writes_nothing_off(tuna, fake, other_workspace):
    assert tuna(*DEPLOY).code == 0
    model = fake.model_named(NAME)
    elsewhere = tuna("status", "--service-name", NAME,
                     env={"BASETEN_API_URL": other_workspace.url})
    assert elsewhere.code == 1
    assert "lives at" in elsewhere.stderr and "Nothing was changed" in elsewhere.stderr
    assert tuna("list", "--json").json()[0]["status"] == "active"
    # The same address with a key of another workspace: the model is invisible there.
    hidden = fake.models.pop(model.id)
    fake.teams = [{"id": "t-other-org", "name": "Default", "default": True}]
    assert tuna("status", "--service-name", NAME).code == 1
    assert tuna("destroy", "--service-name", NAME).code == 1
    assert tuna("list", "--json").json()[0]["status"] == "active"
    fake.models[model.id], fake.teams = hidden, [{"id": "t1", "name": "Default", "default": True}]
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert fake.model_named(NAME) is None


def test_destroy_of_a_record_marked_destroyed_asks_the_provider_again(tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    with sqlite3.connect(state_dir / "state.db") as db:  # an older tuna wrote it off wrongly
        db.execute("UPDATE services SET status = 'destroyed'")
    assert fake.model_named(NAME) is not None
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert fake.model_named(NAME) is None


# 2. Ctrl-C during truss push --------------------------------------------------------------------

def test_ctrl_c_during_push_leaves_a_model_tuna_finds_shows_and_destroys(tuna_env, tuna, fake,
                                                                         tmp_path):
    fake.create_answer_delay = 30.0
    fake.add_model("qwen3-0-6b-other")  # a near name, not tuna's: must survive
    process = start(tuna_env, tmp_path, *DEPLOY)
    until(lambda: fake.model_named(NAME) is not None)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    record = tuna("list", "--json").json()[0]
    assert "model_id" not in record  # tuna never heard back from truss
    status = tuna("status", "--service-name", NAME, "--json")
    assert status.code == 0, status.stderr
    model = fake.model_named(NAME)
    assert status.json()["status"] == "deploying"
    assert status.json()["model_id"] == model.id
    assert status.json()["deployment_id"] == next(iter(model.deployments))
    fake.logs = ["still building"]
    logs = tuna("logs", "--service-name", NAME)
    assert logs.code == 0 and "still building" in logs.stdout
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert fake.model_named(NAME) is None and fake.model_named("qwen3-0-6b-other") is not None


# 3. A failed --update changes nothing live ------------------------------------------------------

def test_failed_update_leaves_live_autoscaling_as_it_was(tuna, fake):
    first = tuna(*DEPLOY, "--json").json()
    model = fake.model_named(NAME)
    before = dict(model.autoscaling)
    fake.script = ("BUILDING", "BUILD_FAILED")
    done = tuna(*DEPLOY, "--update", "--gpu", "A10G", "--min-replicas", "2", "--max-replicas", "2")
    assert done.code == 1
    assert model.autoscaling == before and model.autoscaling["min_replica"] == 0
    assert model.production_id == first["deployment_id"]
    record = tuna("list", "--json").json()[0]
    assert record["deployment_id"] == first["deployment_id"] and record["gpu"] == "L4"


def test_update_under_way_is_reported_apart_and_followed_once_promoted(tuna, fake, state_dir):
    first = tuna(*DEPLOY, "--json").json()
    fake.script = ("BUILDING",)
    assert tuna(*DEPLOY, "--update", "--gpu", "A10G", "--no-wait").code == 0
    model = fake.model_named(NAME)
    candidate = next(d for d in model.deployments if d != first["deployment_id"])
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert status["deployment_id"] == first["deployment_id"]  # what serves
    assert status["candidate"] == {"deployment_id": candidate, "status": "BUILDING"}
    assert status["gpu"] == "L4" and status["burn_rate_per_hour"] == pytest.approx(0.85)
    # Baseten finishes and promotes the candidate while no tuna is waiting.
    model.deployments[candidate].script = ["ACTIVE"]
    model.deployments[candidate].promote = True
    for _ in range(2):
        fake.deployment_json(model, model.deployments[candidate])
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert status["deployment_id"] == candidate and status["gpu"] == "A10G"
    assert "candidate" not in status and "candidate_deployment_id" not in status
    prices = [row[0] for row in sqlite3.connect(state_dir / "state.db").execute(
        "SELECT replica_price_per_hour FROM observations ORDER BY at")]
    assert 0.85 in prices and prices[-1] == pytest.approx(1.21)  # each period at what served


# 4. Timeouts are not failures -------------------------------------------------------------------

def test_wait_resumes_after_a_timeout(tuna, fake):
    fake.script = ("BUILDING",)
    assert tuna(*DEPLOY, "--timeout", "0.5s").code == 1
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    again = tuna("wait", "--service-name", NAME, "--timeout", "0.5s")
    assert again.code == 1 and "still BUILDING" in again.stderr
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    (deployment,) = fake.model_named(NAME).deployments.values()
    deployment.script = ["BUILDING", "ACTIVE"]
    deployment.reads = 0
    done = tuna("wait", "--service-name", NAME, "--json")
    assert done.code == 0, done.stderr
    assert done.json()["status"] == "active"


def test_wait_on_a_deployment_that_fails_exits_1_and_records_it(tuna, fake):
    fake.script = ("BUILDING",)
    assert tuna(*DEPLOY, "--no-wait").code == 0
    (deployment,) = fake.model_named(NAME).deployments.values()
    deployment.script = ["DEPLOY_FAILED"]
    done = tuna("wait", "--service-name", NAME)
    assert done.code == 1 and "DEPLOY_FAILED" in done.stderr
    assert tuna("list", "--json").json()[0]["status"] == "failed"
    assert tuna("destroy", "--service-name", NAME).code == 0


# 5. Configuration is checked before anything is created ----------------------------------------

@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan"])
def test_bad_poll_interval_is_refused_before_anything_remote(tuna, fake, state_dir, value):
    done = tuna(*DEPLOY, env={"TUNA_POLL_INTERVAL": value})
    assert done.code == 2
    assert done.stderr.strip() == (f"tuna: error: TUNA_POLL_INTERVAL: expected seconds above 0 "
                                   f"such as 2 or 0.5, got {value!r}")
    assert fake.requests == [] and not state_dir.exists()


# 6. Two tuna processes --------------------------------------------------------------------------

def test_destroy_while_a_deploy_waits_is_never_undone(tuna_env, tuna, fake, tmp_path):
    fake.script = ("BUILDING",)
    deploying = start(tuna_env, tmp_path, *DEPLOY)
    until(lambda: fake.count("GET", r"/v1/models/[^/]+/deployments/[^/]+") >= 2)
    assert tuna("destroy", "--service-name", NAME).code == 0
    _, stderr = deploying.communicate(timeout=60)
    assert deploying.returncode == 1
    # Whichever process writes last, the deploy says why it stopped, and never undoes the destroy.
    assert ("destroyed by another tuna process" in stderr
            or "was deleted while tuna waited for it" in stderr), stderr
    (record,) = tuna("list", "--all", "--json").json()
    assert record["status"] == "destroyed" and fake.models == {}


# 7. History is kept -----------------------------------------------------------------------------

def test_redeploying_a_destroyed_name_keeps_the_old_record(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert tuna(*DEPLOY, "--no-wait").code == 0
    everything = tuna("list", "--all", "--json").json()
    assert [r["status"] for r in everything] == ["destroyed", "deploying"]
    assert everything[0]["model_id"] != everything[1]["model_id"]
    assert tuna("status", "--service-name", NAME, "--json").json()["status"] == "deploying"
    assert tuna("destroy", "--service-name", NAME).code == 0


# 8. Read-only state -----------------------------------------------------------------------------

def test_read_only_state_still_lists_and_says_read_only(tuna_env, tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    shared = tempfile.mkdtemp(prefix="tuna-ro-")  # a place another user can read, not write
    try:
        os.chmod(shared, 0o755)
        shutil.copytree(state_dir, os.path.join(shared, "state"))
        os.chmod(os.path.join(shared, "state"), 0o755)
        for name in os.listdir(os.path.join(shared, "state")):
            os.chmod(os.path.join(shared, "state", name), 0o644)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        env = {"TUNA_STATE_DIR": os.path.join(shared, "state")}
        listed = tuna_as(as_nobody, tuna_env, env, "list", "--json")
        assert listed.code == 0, listed.stderr
        assert [r["service_name"] for r in listed.json()] == [NAME]
        refused = tuna_as(as_nobody, tuna_env, env, *DEPLOY, "--service-name", "another",
                          "--skip-model-check")  # nobody cannot write the Hub cache either
        assert refused.code == 1 and "is read-only" in refused.stderr
        assert "move it aside" not in refused.stderr
    finally:
        shutil.rmtree(shared)
    assert tuna("destroy", "--service-name", NAME).code == 0


def tuna_as(prefix, tuna_env, env, *args):
    from tests.conftest import Run

    done = subprocess.run([*prefix, sys.executable, "-m", "tuna", *args], capture_output=True,
                          text=True, env={**tuna_env, **env}, cwd="/tmp", timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


# 9. Name collisions -----------------------------------------------------------------------------

def test_same_name_for_another_model_suggests_a_service_name_not_update(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    other = ["deploy", "--model", "unsloth/Qwen3-0.6B", "--gpu", "L4",
             "--serverless-provider", "baseten"]
    done = tuna(*other)
    assert done.code == 2
    assert "it serves Qwen/Qwen3-0.6B: choose another --service-name" in done.stderr
    assert "--update" not in done.stderr
    update = tuna(*other, "--update")
    assert update.code == 2 and "pass --yes to do that" in update.stderr
    assert len(fake.model_named(NAME).deployments) == 1
    assert tuna(*other, "--update", "--yes", "--no-wait").code == 0
    assert len(fake.model_named(NAME).deployments) == 2


# Finding what the local state does not know ------------------------------------------------------

def test_list_remote_finds_a_lost_model_and_destroy_removes_it(tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.add_model("handmade")  # not tuna's: never listed, never touched
    remote = tuna("list", "--remote", "--json").json()
    assert [(s["service_name"], s["tracked"]) for s in remote["services"]] == [(NAME, True)]
    shutil.rmtree(state_dir)
    remote = tuna("list", "--remote")
    assert remote.code == 0 and "UNTRACKED" in remote.stdout and NAME in remote.stdout
    assert "handmade" not in remote.stdout
    refused = tuna("destroy", "--service-name", NAME)  # asks first; no terminal here
    assert refused.code == 2 and fake.model_named(NAME) is not None
    assert tuna("destroy", "--service-name", NAME, "--yes").code == 0
    assert fake.model_named(NAME) is None
    untouched = tuna("destroy", "--service-name", "handmade", "--yes")
    assert untouched.code == 2 and "no service named 'handmade'" in untouched.stderr
    assert fake.model_named("handmade") is not None


def test_list_remote_says_which_providers_it_could_not_search(tuna):
    done = tuna("list", "--remote", "--json", env={"BASETEN_API_KEY": ""})
    assert done.code == 0
    assert done.json() == {"services": [], "searched": ["cloudrun", "modal", "runpod"],
                           "not_searched": {"baseten": "no credentials (BASETEN_API_KEY)",
                                            "skyserve": "no credentials "
                                                        "(SKYPILOT_API_SERVER_ENDPOINT)"}}


def test_state_records_where_each_service_lives(tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    record = StateStore(state_dir).get(NAME)
    assert record.location == {"api_url": fake.url, "workspace": "t1", "team_id": "t1"}
    assert record.status is Status.DEPLOYING
