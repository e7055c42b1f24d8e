"""Cloud Run end to end: the real tuna CLI and Google's `google-cloud-run` client (REST) against
the loopback Admin API in tests/fake_cloudrun.py, with a generated service-account key."""

from __future__ import annotations

import json
import time

from tuna.state import StateStore

NAME = "qwen3-0-6b"
DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
          "cloudrun")
FULL = f"projects/tuna-test/locations/us-central1/services/{NAME}"


def record(state_dir, name=NAME):
    return StateStore(state_dir).get(name)


def test_dry_run_renders_and_validates_with_no_account(tuna, cloudrun, tmp_path):
    done = tuna(*DEPLOY, "--gcp-project", "p", "--dry-run", "out",
                env={"GOOGLE_APPLICATION_CREDENTIALS": ""})
    assert done.code == 0, done.stderr
    assert "validated with google-cloud-run's run_v2.Service" in done.stdout
    service = json.loads((tmp_path / "out" / "service.json").read_text())
    container = service["template"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "cpu": "8",
                                                "memory": "32Gi"}
    assert service["template"]["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert container["args"][0] == "Qwen/Qwen3-0.6B" and "--port" in container["args"]
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert service["labels"] == {"managed-by": "tuna", "tuna-service": NAME}
    assert cloudrun.requests == []


def test_deploy_status_logs_update_destroy(tuna, cloudrun, state_dir):
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["service"] == FULL and result["status"] == "active"
    assert result["endpoint_url"] == f"https://{NAME}-abc123-uc.a.run.app/v1"
    # Waited through reconciling by reading the service, never by calling the model.
    reads = [p for m, p in cloudrun.requests if m == "GET" and p.endswith(f"/services/{NAME}")]
    assert len(reads) >= 3
    assert record(state_dir).location == {"api_url": cloudrun.url, "project": "tuna-test",
                                          "region": "us-central1"}
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert (status["status"], status["provider_status"]) == ("active", "READY")
    cloudrun.logs.append((NAME, time.time(), "INFO: Application startup complete."))
    logs = tuna("logs", "--service-name", NAME)
    assert logs.code == 0 and "Application startup complete" in logs.stdout
    # An update is a new revision; its failure leaves the old one serving.
    cloudrun.fail_next_revision = "HEALTH_CHECK_CONTAINER_ERROR"
    failed = tuna(*DEPLOY, "--update", "--max-model-len", "8192")
    assert failed.code == 1 and "HEALTH_CHECK_CONTAINER_ERROR" in failed.stderr
    assert cloudrun.services[FULL].ready_revision.endswith("00001-abc")
    updated = tuna(*DEPLOY, "--update", "--max-replicas", "2")
    assert updated.code == 0, updated.stderr
    assert cloudrun.services[FULL].spec["scaling"]["maxInstanceCount"] == 2
    gone = tuna("destroy", "--service-name", NAME, "--yes")
    assert gone.code == 0, gone.stderr
    assert FULL not in cloudrun.services and record(state_dir).status.value == "destroyed"


def test_a_failed_revision_reports_cloud_runs_reason(tuna, cloudrun, state_dir):
    cloudrun.fail_next_revision = "SECRETS_ACCESS_CHECK_FAILED"
    cloudrun.logs.append((NAME, time.time(), "Permission denied on secret hf-token"))
    done = tuna(*DEPLOY)
    assert done.code == 1 and "SECRETS_ACCESS_CHECK_FAILED" in done.stderr
    assert "last log lines:\nPermission denied on secret hf-token" in done.stderr
    assert record(state_dir).provider_ids["service"] == FULL  # known, so destroy removes it
    assert tuna("destroy", "--service-name", NAME, "--yes").code == 0


def test_missing_credentials_say_which_gcloud_command_fixes_them(tuna, cloudrun):
    done = tuna(*DEPLOY, env={"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"})
    assert done.code == 1
    assert "gcloud auth application-default login" in done.stderr
    assert cloudrun.services == {}


def test_wrong_project_and_permission_are_one_line_before_anything(tuna, cloudrun):
    done = tuna(*DEPLOY, "--gcp-project", "someone-else")
    assert done.code == 1 and "403" in done.stderr and "Permission" in done.stderr
    assert cloudrun.services == {}


def test_an_existing_name_is_a_conflict(tuna, cloudrun, tmp_path):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    # Another machine's tuna, whose state does not know the service, meets Cloud Run's 409.
    done = tuna(*DEPLOY, "--no-wait", env={"TUNA_STATE_DIR": str(tmp_path / "elsewhere")})
    assert done.code == 1 and "409" in done.stderr and "already exists" in done.stderr
    assert tuna("destroy", "--service-name", NAME, "--yes").code == 0


def test_find_services_across_regions_by_label(tuna, cloudrun):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    assert tuna(*DEPLOY, "--service-name", "eu-one", "--gcp-region", "europe-west4",
                "--no-wait").code == 0
    listed = tuna("list", "--remote", "--json").json()
    mine = sorted(s["service_name"] for s in listed["services"] if s["provider"] == "cloudrun")
    assert mine == ["eu-one", NAME]


def test_a_missing_secret_is_a_failed_check(tuna, cloudrun, hub):
    gated = ("deploy", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4",
             "--serverless-provider", "cloudrun", "--hf-secret", "hf-token", "--no-wait")
    done = tuna(*gated)
    assert done.code == 1 and "secret 'hf-token' is missing from Secret Manager" in done.stderr
    cloudrun.secrets.add("projects/tuna-test/secrets/hf-token")
    ok = tuna(*gated)
    assert ok.code == 0, ok.stderr
    service = cloudrun.service("llama-3-1-8b-instruct").spec
    env = service["template"]["containers"][0]["env"]
    assert env == [{"name": "HF_TOKEN", "valueSource": {"secretKeyRef": {
        "secret": "hf-token", "version": "latest"}}}]


def test_requests_cloud_run_cannot_serve_are_refused_first(tuna, cloudrun):
    for args, message in ((("--tp-size", "2"), "Cloud Run attaches one GPU to an instance"),
                          (("--gcp-region", "us-west1"), "L4 in us-west1"),
                          (("--service-name", "9lives"), "begin with a letter"),
                          (("--service-name", "a" * 50), "fewer than 50 characters")):
        done = tuna(*DEPLOY, *args, "--no-wait")
        assert done.code == 2 and message in done.stderr, (args, done.stderr)
    assert cloudrun.requests == []


def test_public_turns_authentication_off_and_says_so(tuna, cloudrun):
    done = tuna(*DEPLOY, "--public", "--json")
    assert done.code == 0, done.stderr
    assert cloudrun.services[FULL].spec["invokerIamDisabled"] is True
    private = tuna(*DEPLOY, "--service-name", "private")
    assert "gcloud auth print-identity-token" in private.stdout


def test_a_service_gone_elsewhere_is_not_written_off(tuna, cloudrun, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    other = tuna("status", "--service-name", NAME,
                 env={"CLOUDRUN_API_URL": cloudrun.url.replace("127.0.0.1", "localhost")})
    assert other.code == 1 and "nothing is written off" in other.stderr
    assert record(state_dir).status.value != "destroyed"
    del cloudrun.services[FULL]
    assert tuna("status", "--service-name", NAME, "--json").json()["status"] == "destroyed"
