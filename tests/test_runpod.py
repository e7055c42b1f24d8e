"""RunPod serverless through the real CLI against the loopback RunPod fake (tests/fake_runpod.py):
the whole journey, faults, hostile input, and the same host code as Baseten."""

from __future__ import annotations

import json

import pytest

from tests.fake_runpod import workers
from tests.test_baseten_e2e import DEPLOY as BASETEN_DEPLOY

DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider", "runpod")
NAME = "qwen3-0-6b"
HEALTH = r"/v2/[^/]+/health"


def test_deploy_status_logs_cost_destroy(tuna, runpod, fake):
    done = tuna(*DEPLOY, "--min-replicas", "1", "--max-replicas", "2", "--tp-size", "2",
                "--concurrency", "8", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    endpoint = runpod.endpoint_named(f"tuna-{NAME}")
    assert result["endpoint_id"] == endpoint.id and result["status"] == "active"
    assert result["endpoint_url"] == f"{runpod.url}/v2/{endpoint.id}/openai/v1"
    body = endpoint.body
    assert (body["gpuTypeIds"], body["gpuCount"], body["workersMin"], body["workersMax"]) == \
        (["NVIDIA L4"], 2, 1, 2)
    assert body["flashboot"] is True and body["idleTimeout"] == 300
    env = runpod.templates[result["template_id"]]["env"]
    assert env["MODEL_NAME"] == "Qwen/Qwen3-0.6B" and env["OPENAI_SERVED_MODEL_NAME_OVERRIDE"] == \
        "Qwen/Qwen3-0.6B"
    assert (env["MAX_MODEL_LEN"], env["TENSOR_PARALLEL_SIZE"], env["MAX_NUM_SEQS"],
            env["ENFORCE_EAGER"]) == ("4096", "2", "8", "true")
    assert runpod.templates[result["template_id"]]["imageName"] == "runpod/worker-v1-vllm:v2.25.2"
    # Readiness came from /health alone, never from the model's route.
    assert sum(1 for m, p in runpod.requests if "/health" in p) == 3
    assert not any("openai" in p for _, p in runpod.requests)

    status = tuna("status", "--service-name", NAME, "--json").json()
    assert status["status"] == "active" and status["active_replicas"] == 1
    assert status["burn_rate_per_hour"] == pytest.approx(2 * 0.684)
    logs = tuna("logs", "--service-name", NAME)
    assert logs.code == 2 and "runpod does not support deployment logs" in logs.stderr
    assert tuna("cost", "--service-name", NAME, "--json").json()["price_per_gpu_hour"] == 0.684

    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {} and runpod.templates == {}
    # Endpoint first, then its template (RunPod refuses to delete a template in use).
    deletes = [p for m, p in runpod.requests if m == "DELETE"]
    assert deletes == [f"/v1/endpoints/{endpoint.id}", f"/v1/templates/{result['template_id']}"]
    assert tuna("list", "--json").json() == []


def test_hf_secret_is_a_runpod_secret_reference_never_a_value(tuna, runpod, hub):
    done = tuna(*DEPLOY, "--hf-secret", "hf_token", "--no-wait", "--json")
    assert done.code == 0, done.stderr
    env = runpod.templates[done.json()["template_id"]]["env"]
    assert env["HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"


def test_no_wait_and_tuna_wait(tuna, runpod):
    runpod.script = (workers(initializing=1),)
    assert tuna(*DEPLOY, "--no-wait").code == 0
    assert tuna("wait", "--service-name", NAME, "--timeout", "0.5s").code == 1
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    runpod.endpoint_named(f"tuna-{NAME}").script = [workers(idle=1)]
    assert tuna("wait", "--service-name", NAME).code == 0
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_unhealthy_workers_fail_the_deploy_and_stay_destroyable(tuna, runpod):
    runpod.script = (workers(initializing=1), workers(unhealthy=1))
    done = tuna(*DEPLOY)
    assert done.code == 1 and "UNHEALTHY" in done.stderr
    assert tuna("list", "--json").json()[0]["status"] == "failed"
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {} and runpod.templates == {}


def test_a_failed_endpoint_creation_leaves_no_template_behind(tuna, runpod):
    runpod.fail("POST", "/v1/endpoints", 500)
    done = tuna(*DEPLOY)
    assert done.code == 1 and "HTTP 500" in done.stderr
    assert runpod.templates == {} and runpod.endpoints == {}
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_faults_while_waiting_and_destroying_are_survived(tuna, runpod):
    runpod.fail("GET", HEALTH, 503, times=2)
    runpod.fail("GET", HEALTH, 429, times=1)
    runpod.fail("GET", HEALTH, 0, times=1)
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    runpod.fail("DELETE", r"/v1/endpoints/.*", 502, times=2)
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {} and runpod.templates == {}


def test_a_delete_that_keeps_failing_keeps_the_record(tuna, runpod):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    runpod.fail("DELETE", r"/v1/endpoints/.*", 500, times=100)
    done = tuna("destroy", "--service-name", NAME)
    assert done.code == 1 and "HTTP 500" in done.stderr
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    runpod.faults.clear()
    assert tuna("destroy", "--service-name", NAME).code == 0


@pytest.mark.parametrize("args, message", [
    (("--update",), "runpod does not support updates in place (--update)"),
    (("--gpu", "T4"), "runpod does not offer T4"),
    (("--service-name", "Bad Name"), "--service-name: expected 1-63 lowercase"),
])
def test_hostile_or_unsupported_input_is_refused_before_anything(tuna, runpod, args, message):
    done = tuna(*DEPLOY, *args)
    assert done.code == 2 and message in done.stderr
    assert runpod.requests == []


def test_update_is_declared_unsupported_with_its_reason(tuna, runpod):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    done = tuna(*DEPLOY, "--update")
    assert done.code == 2
    assert "runpod does not support updates in place (--update): tuna does not yet roll" in done.stderr
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_destroy_all_and_list_remote_across_both_providers(tuna, runpod, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    assert tuna(*BASETEN_DEPLOY, "--service-name", "on-baseten", "--no-wait").code == 0
    remote = tuna("list", "--remote", "--json").json()
    assert sorted((s["provider"], s["service_name"]) for s in remote["services"]) == [
        ("baseten", "on-baseten"), ("runpod", NAME)]
    done = tuna("destroy", "--all", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert sorted(done.json()["destroyed"]) == ["on-baseten", NAME]
    assert runpod.endpoints == {} and runpod.templates == {} and fake.models == {}


def test_auto_choice_is_the_cheapest_provider_with_credentials(tuna, runpod, fake):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait")
    assert done.code == 0, done.stderr
    assert ("using runpod, the cheapest installed provider with credentials set offering L4 "
            "($0.68/GPU-hour)") in done.stdout
    assert tuna("destroy", "--service-name", NAME).code == 0
    without = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait",
                   env={"RUNPOD_API_KEY": ""})
    assert without.code == 0, without.stderr
    assert "using baseten" in without.stdout and fake.model_named(NAME) is not None


def test_show_gpus_lists_both_providers_with_sourced_prices(tuna):
    offers = tuna("show-gpus", "--gpu", "L4", "--json").json()
    mine = {o["provider"]: o for o in offers if o["deployable"]}
    assert set(mine) == {"runpod", "baseten"}
    assert mine["runpod"]["price_per_gpu_hour"] == 0.684  # $0.00019 a second
    assert mine["runpod"]["source"].startswith("https://") and mine["runpod"]["date"]
    cloudrun = next(o for o in offers if o["provider"] == "cloudrun")
    assert "instance billing adds vCPU and memory" in cloudrun["note"]


def test_dry_run_renders_the_template_and_endpoint(tuna, runpod, tmp_path):
    done = tuna(*DEPLOY, "--dry-run", "out")
    assert done.code == 0, done.stderr
    endpoint = json.loads((tmp_path / "out" / "endpoint.json").read_text())
    assert endpoint["gpuTypeIds"] == ["NVIDIA L4"] and runpod.requests == []
