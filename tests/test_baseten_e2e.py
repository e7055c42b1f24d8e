"""The whole Baseten journey with the real `truss push` CLI against the loopback fake."""

from __future__ import annotations

import sqlite3

from tests.conftest import API_KEY

DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4",
          "--serverless-provider", "baseten")


def test_deploy_status_destroy(tuna, fake, state_dir):
    deployed = tuna(*DEPLOY, "--min-replicas", "1", "--max-replicas", "3", "--json")
    assert deployed.code == 0, deployed.stderr
    result = deployed.json()
    model = fake.model_named("qwen3-0-6b")
    assert model is not None and result["model_id"] == model.id
    assert result["deployment_id"] == model.production_id
    assert result["status"] == "active"
    assert result["endpoint_url"] == (
        f"https://model-{model.id}.api.baseten.co/environments/production/sync/v1")
    # truss uploaded the Truss directory (one S3 PUT) and pushed the config tuna rendered...
    (upload,) = fake.uploads.values()
    assert b"config.yaml" in upload
    pushed = model.deployments[model.production_id].config
    assert pushed["resources"]["accelerator"] == "L4"
    assert pushed["runtime"]["predict_concurrency"] == 32
    # ...and the autoscaling tuna asked for was applied.
    assert model.autoscaling["min_replica"] == 1 and model.autoscaling["max_replica"] == 3
    assert model.autoscaling["concurrency_target"] == 32
    # Readiness came from the management API alone: every status was read, never the model.
    # The fifth read sees ACTIVE; Baseten promotes it after that, which the sixth sees.
    assert fake.count("GET", rf"/v1/models/{model.id}/deployments/{model.production_id}") == 6
    assert not any("sync" in path or "predict" in path for _, path in fake.requests)

    status = tuna("status", "--service-name", "qwen3-0-6b", "--json")
    assert status.code == 0, status.stderr
    assert status.json()["provider_status"] == "ACTIVE"
    assert status.json()["active_replicas"] == 1
    assert status.json()["autoscaling"]["max_replica"] == 3

    destroyed = tuna("destroy", "--service-name", "qwen3-0-6b")
    assert destroyed.code == 0, destroyed.stderr
    assert fake.model_named("qwen3-0-6b") is None
    assert fake.count("DELETE", rf"/v1/models/{model.id}") == 1
    listed = tuna("list", "--all", "--json").json()
    assert [(r["service_name"], r["status"]) for r in listed] == [("qwen3-0-6b", "destroyed")]
    assert tuna("list", "--json").json() == []
    # Nothing tuna wrote holds the key.
    assert API_KEY.encode() not in (state_dir / "state.db").read_bytes()


def test_build_failure_exits_1_with_logs_and_stays_destroyable(tuna, fake):
    fake.script = ("BUILDING", "BUILD_FAILED")
    fake.logs = ["pip install failed", "ERROR: no matching distribution"]
    failed = tuna(*DEPLOY, "--service-name", "broken")
    assert failed.code == 1
    assert "BUILD_FAILED" in failed.stderr
    assert "ERROR: no matching distribution" in failed.stderr
    assert "Traceback" not in failed.stderr
    record = tuna("list", "--json").json()[0]
    assert record["status"] == "failed" and record["model_id"] == fake.model_named("broken").id
    assert tuna("destroy", "--service-name", "broken").code == 0
    assert fake.model_named("broken") is None


def test_pending_record_is_destroyed_by_exact_model_name(tuna, fake, state_dir):
    """A push that created the model but never reported back leaves a record without ids."""
    assert tuna(*DEPLOY, "--service-name", "orphan", "--no-wait").code == 0
    model = fake.model_named("orphan")
    fake.add_model("orphan-two")  # a near name that must survive
    with sqlite3.connect(state_dir / "state.db") as db:
        db.execute("UPDATE services SET status = 'pending', provider_ids = '{}'")
    assert tuna("destroy", "--service-name", "orphan").code == 0
    assert model.id not in fake.models
    assert fake.model_named("orphan-two") is not None


def test_no_wait_returns_while_building(tuna, fake):
    done = tuna(*DEPLOY, "--no-wait", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["status"] == "deploying"
    model = fake.model_named("qwen3-0-6b")
    assert fake.count("GET", rf"/v1/models/{model.id}/deployments/.*") == 0


def test_wait_times_out_and_keeps_record(tuna, fake):
    fake.script = ("BUILDING",)
    done = tuna(*DEPLOY, "--timeout", "1s")
    assert done.code == 1
    assert "still BUILDING" in done.stderr and "tuna wait --service-name qwen3-0-6b" in done.stderr
    # A timeout is not a failure: the deployment goes on, and so does the record.
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    assert tuna("destroy", "--service-name", "qwen3-0-6b").code == 0


def test_existing_workspace_model_name_is_refused_before_push(tuna, fake):
    fake.add_model("qwen3-0-6b")
    done = tuna(*DEPLOY)
    assert done.code == 1
    assert "model name" in done.stderr and "already a model" in done.stderr
    assert fake.count("POST", "/graphql/") == 0
    assert tuna("list", "--all", "--json").json() == []


def test_gated_model_uses_workspace_hf_secret(tuna, fake):
    fake.secrets.add("hf_access_token")
    assert tuna(*DEPLOY, "--no-wait").code == 0
    (deployment,) = fake.model_named("qwen3-0-6b").deployments.values()
    weights = deployment.config["weights"][0]
    assert weights["auth_secret_name"] == "hf_access_token"


def test_missing_requested_secret_fails_preflight_with_fix(tuna, fake):
    done = tuna(*DEPLOY, "--hf-secret", "my_hf_token")
    assert done.code == 1
    assert "my_hf_token" in done.stderr and "settings/secrets" in done.stderr
    assert fake.count("POST", "/graphql/") == 0


def test_deploy_without_key_says_how_to_set_it(tuna):
    done = tuna(*DEPLOY, env={"BASETEN_API_KEY": ""})
    assert done.code == 1
    assert "BASETEN_API_KEY" in done.stderr and "export BASETEN_API_KEY" in done.stderr
    assert tuna("list", "--all", "--json").json() == []


def test_rejected_key_is_reported_not_raised(tuna, fake):
    done = tuna("check", "--provider", "baseten", env={"BASETEN_API_KEY": "wrong"})
    assert done.code == 1
    assert "key rejected" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_dry_run_needs_no_key_and_no_network(tuna, fake, tmp_path):
    done = tuna(*DEPLOY, "--dry-run", "out", env={"BASETEN_API_KEY": "",
                                                  "BASETEN_API_URL": "http://127.0.0.1:9"})
    assert done.code == 0, done.stderr
    assert (tmp_path / "out" / "config.yaml").is_file()
    assert fake.requests == []


def test_truss_failure_shows_truss_message_and_record_is_failed(tuna, fake):
    fake.fail("POST", "/graphql/", 500, times=10)
    done = tuna(*DEPLOY)
    assert done.code == 1
    assert "truss push failed" in done.stderr
    record = tuna("list", "--json").json()[0]
    assert record["status"] == "failed" and record.get("model_id") is None
