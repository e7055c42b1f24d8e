"""RunPod serverless through the real CLI against the loopback RunPod fake (tests/fake_runpod.py,
REST API v2): the whole journey, worker states, updates, v1-era records, faults, hostile input."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.fake_runpod import step
from tests.test_baseten_e2e import DEPLOY as BASETEN_DEPLOY
from tuna.models import DeployRequest, Record, Status
from tuna.state import StateStore

DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider", "runpod")
NAME = "qwen3-0-6b"
WORKERS = r"/v2/serverless/[^/]+/workers"


def _ago(seconds: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _created_body(runpod) -> dict:
    return next(body for method, _, body in runpod.bodies if method == "POST")


def test_deploy_status_logs_cost_destroy(tuna, runpod):
    done = tuna(*DEPLOY, "--min-replicas", "1", "--max-replicas", "2", "--tp-size", "2",
                "--concurrency", "8", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    endpoint = runpod.endpoint_named(f"tuna-{NAME}")
    assert result["endpoint_id"] == endpoint.id and result["status"] == "active"
    assert "template_id" not in result and runpod.templates == {}  # the container is inline
    assert result["endpoint_url"] == f"{runpod.url}/v2/{endpoint.id}/openai/v1"
    body = _created_body(runpod)
    assert body["type"] == "QUEUE" and body["image"] == "runpod/worker-v1-vllm:v2.25.2"
    # An L4 and nothing else: its pool minus the pool's other cards, on CUDA 13 hosts.
    assert body["gpu"] == {"pools": ["AMPERE_24"], "count": 2, "allowedCudaVersions": ["13.0"],
                           "excludedTypes": ["NVIDIA RTX A5000", "NVIDIA GeForce RTX 3090"]}
    assert body["workers"] == {"min": 1, "max": 2, "idleTimeout": 300}
    assert body["scaling"] == {"type": "QUEUE_DELAY", "queueDelay": 4}
    assert body["flashboot"] == "FLASHBOOT" and body["timeout"] == 600_000
    env = body["env"]
    assert (env["MODEL_NAME"], env["OPENAI_SERVED_MODEL_NAME_OVERRIDE"]) == ("Qwen/Qwen3-0.6B",) * 2
    assert (env["MAX_MODEL_LEN"], env["TENSOR_PARALLEL_SIZE"], env["MAX_NUM_SEQS"],
            env["MAX_CONCURRENCY"], env["ENFORCE_EAGER"]) == ("4096", "2", "8", "8", "true")
    # 1.5 GB of weights (the Hub's parameter count): the disk floor and the worker's default
    # startup window, with RunPod's init timeout above it.
    assert body["disk"] == 50
    assert (env["VLLM_STARTUP_TIMEOUT"], env["RUNPOD_INIT_TIMEOUT"]) == ("1200", "1320")
    # Readiness came from the worker list alone, never from the model's route.
    assert not any("openai" in p or "/health" in p for _, p in runpod.requests)

    status = tuna("status", "--service-name", NAME, "--json").json()
    assert status["status"] == "active" and status["provider_status"] == "READY"
    assert status["active_replicas"] == 1
    assert status["burn_rate_per_hour"] == pytest.approx(2 * 0.684)
    endpoint.logs[f"{endpoint.id}-w0"] = [(_ago(59), "INFO vLLM API server up"),
                                          (_ago(60), "INFO loading weights"),
                                          (_ago(7200), "INFO before --since")]
    logs = tuna("logs", "--service-name", NAME, "--json")
    assert logs.code == 0, logs.stderr
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["INFO loading weights", "INFO vLLM API server up"]
    assert tuna("cost", "--service-name", NAME, "--json").json()["price_per_gpu_hour"] == 0.684

    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {}
    assert [p for m, p in runpod.requests if m == "DELETE"] == [f"/v2/serverless/{endpoint.id}"]
    assert tuna("list", "--json").json() == []


def test_scale_to_zero_is_deployed_cold_until_a_worker_loads_the_model(tuna, runpod):
    runpod.script = (step(),)
    done = tuna(*DEPLOY)
    assert done.code == 0, done.stderr
    assert "deployed on runpod, cold: no replica runs until the first request" in done.stdout
    assert tuna("list", "--json").json()[0]["status"] == "cold"
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert (status["status"], status["provider_status"]) == ("cold", "COLD")
    endpoint = runpod.endpoint_named(f"tuna-{NAME}")
    endpoint.script, endpoint.reads = [step("IDLE"), step()], 0
    assert tuna("status", "--service-name", NAME, "--json").json()["provider_status"] == "READY"
    # Back at zero, the model is known to load: ready, scaled to zero.
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert (status["status"], status["provider_status"]) == ("active", "SCALED_TO_ZERO")
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_a_model_that_never_loads_fails_the_deploy_and_stays_destroyable(tuna, runpod):
    runpod.script = (step("INITIALIZING"), step("UNHEALTHY"))
    done = tuna(*DEPLOY, "--min-replicas", "1")
    assert done.code == 1 and "UNHEALTHY" in done.stderr and "tuna logs" in done.stderr
    assert tuna("list", "--json").json()[0]["status"] == "failed"
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {}


def test_scaled_down_by_runpod_is_not_active(tuna, runpod):
    assert tuna(*DEPLOY, "--min-replicas", "1").code == 0
    endpoint = runpod.endpoint_named(f"tuna-{NAME}")
    endpoint.body["workers"] = {"min": 0, "max": 0, "idleTimeout": 300}  # after 7 idle days
    status = tuna("status", "--service-name", NAME)
    assert "inactive [SCALED_DOWN]" in status.stdout and "max workers to 0" in status.stdout
    assert tuna("list", "--json").json()[0]["status"] == "inactive"
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_update_patches_the_endpoint_and_waits_for_workers_of_the_new_config(tuna, runpod):
    assert tuna(*DEPLOY, "--min-replicas", "1").code == 0
    endpoint = runpod.endpoint_named(f"tuna-{NAME}")
    # After the PATCH the old worker serves on, stale, until a new one has loaded the model.
    runpod.script = (step("IDLE", "INITIALIZING", stale=1), step("IDLE", stale=1), step("IDLE"))
    done = tuna(*DEPLOY, "--min-replicas", "1", "--max-model-len", "8192", "--update", "--json")
    assert done.code == 0, done.stderr
    patch = next(body for method, _, body in runpod.bodies if method == "PATCH")
    assert patch["env"]["MAX_MODEL_LEN"] == "8192" and endpoint.version == 2
    assert runpod.endpoints[endpoint.id].body["env"]["MAX_MODEL_LEN"] == "8192"
    assert len(runpod.endpoints) == 1
    assert tuna("status", "--service-name", NAME, "--json").json()["status"] == "active"
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_a_v1_era_record_is_found_and_destroyed_through_v2(tuna, runpod, state_dir):
    body = {"name": f"tuna-{NAME}", "image": "runpod/worker-v1-vllm:v2.25.2",
            "gpu": {"pools": ["AMPERE_24"], "count": 1}, "workers": {"min": 0, "max": 1}}
    runpod.seed_v1_endpoint(body, "oldep123", "tploldv1")
    store = StateStore(state_dir)
    store.create(Record(NAME, "runpod", Status.ACTIVE, DeployRequest("Qwen/Qwen3-0.6B", "L4"),
                        {"template_id": "tploldv1", "endpoint_id": "oldep123"},
                        location={"api_url": runpod.url + "/v1"}))
    assert tuna("status", "--service-name", NAME, "--json").json()["endpoint_id"] == "oldep123"
    done = tuna("destroy", "--service-name", NAME)
    assert done.code == 0, done.stderr
    assert runpod.endpoints == {} and runpod.templates == {}
    assert not any(p.startswith("/v1/") for _, p in runpod.requests)


def test_a_retired_api_is_named_and_never_writes_a_record_off(tuna, runpod):
    retired = {"RUNPOD_API_URL": runpod.url + "/v1"}  # a user's stale setting
    check = tuna("check", "--provider", "runpod", env=retired)
    assert check.code == 1 and "RunPod retired this API (HTTP 410 Gone)" in check.stdout + check.stderr
    deploy = tuna(*DEPLOY, env=retired)
    assert deploy.code == 1 and "retired" in deploy.stderr and runpod.endpoints == {}
    assert tuna(*DEPLOY, "--no-wait").code == 0
    runpod.fail("GET", r"/v2/serverless/[^/]+", 410, times=2)
    status = tuna("status", "--service-name", NAME)
    assert status.code == 1 and "RunPod retired this API" in status.stderr
    destroy = tuna("destroy", "--service-name", NAME)
    assert destroy.code == 1 and "RunPod retired this API" in destroy.stderr
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_runpod_errors_are_shown_in_runpods_words(tuna, runpod):
    runpod.fail("POST", "/v2/serverless", 400)
    done = tuna(*DEPLOY)
    assert done.code == 1 and "(HTTP 400): injected fault" in done.stderr
    assert runpod.endpoints == {}
    assert tuna("list", "--json").json()[0]["status"] == "failed"
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_faults_while_waiting_and_destroying_are_survived(tuna, runpod):
    runpod.fail("GET", WORKERS, 503, times=2)
    runpod.fail("GET", WORKERS, 429, times=1)
    runpod.fail("GET", WORKERS, 0, times=1)
    done = tuna(*DEPLOY, "--min-replicas", "1", "--json")
    assert done.code == 0, done.stderr
    runpod.fail("DELETE", r"/v2/serverless/.*", 502, times=2)
    assert tuna("destroy", "--service-name", NAME).code == 0
    assert runpod.endpoints == {}


def test_a_delete_that_keeps_failing_keeps_the_record(tuna, runpod):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    runpod.fail("DELETE", r"/v2/serverless/.*", 500, times=100)
    done = tuna("destroy", "--service-name", NAME)
    assert done.code == 1 and "HTTP 500" in done.stderr
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    runpod.faults.clear()
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_no_wait_and_tuna_wait(tuna, runpod):
    runpod.script = (step("INITIALIZING"),)
    assert tuna(*DEPLOY, "--no-wait", "--min-replicas", "1").code == 0
    assert tuna("wait", "--service-name", NAME, "--timeout", "0.5s").code == 1
    assert tuna("list", "--json").json()[0]["status"] == "deploying"
    runpod.endpoint_named(f"tuna-{NAME}").script = [step("IDLE")]
    assert tuna("wait", "--service-name", NAME).code == 0
    assert tuna("list", "--json").json()[0]["status"] == "active"
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_hf_secret_is_a_runpod_secret_reference_never_a_value(tuna, runpod, hub):
    done = tuna(*DEPLOY, "--hf-secret", "hf_token", "--no-wait", "--json")
    assert done.code == 0, done.stderr
    assert _created_body(runpod)["env"]["HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"
    assert tuna("destroy", "--service-name", NAME).code == 0


@pytest.mark.parametrize("args, message", [
    (("--gpu", "T4"), "runpod does not offer T4"),
    (("--service-name", "Bad Name"), "--service-name: expected 1-63 lowercase"),
    (("--scale-down-delay", "0"), "runpod does not support --scale-down-delay 0: RunPod's idle "
                                  "timeout is 1 to 3600 seconds"),
    (("--scale-down-delay", "7200"), "--scale-down-delay 7200"),
    (("--tp-size", "3"), "runpod does not support --tp-size 3"),
    (("--max-replicas", "100"), "RunPod caps the workers of an account at 60"),
])
def test_hostile_or_unsupported_input_is_refused_before_anything(tuna, runpod, args, message):
    done = tuna(*DEPLOY, *args)
    assert done.code == 2 and message in done.stderr
    assert runpod.requests == []


def test_the_worker_cap_is_warned_of_before_creating(tuna, runpod):
    done = tuna(*DEPLOY, "--max-replicas", "6", "--no-wait")
    assert done.code == 0, done.stderr
    assert "over RunPod's default cap of 5" in done.stdout + done.stderr
    assert tuna("destroy", "--service-name", NAME).code == 0


def test_destroy_all_and_list_remote_across_both_providers(tuna, runpod, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    assert tuna(*BASETEN_DEPLOY, "--service-name", "on-baseten", "--no-wait").code == 0
    remote = tuna("list", "--remote", "--json").json()
    assert sorted((s["provider"], s["service_name"]) for s in remote["services"]) == [
        ("baseten", "on-baseten"), ("runpod", NAME)]
    done = tuna("destroy", "--all", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert sorted(done.json()["destroyed"]) == ["on-baseten", NAME]
    assert runpod.endpoints == {} and fake.models == {}


def test_auto_choice_is_the_cheapest_provider_with_credentials(tuna, runpod, fake):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait")
    assert done.code == 0, done.stderr
    assert ("using runpod, the cheapest installed provider with credentials set offering L4 "
            "($0.68/GPU-hour)") in done.stdout
    assert tuna("destroy", "--service-name", NAME).code == 0
    without = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait",
                   env={"RUNPOD_API_KEY": "", "MODAL_TOKEN_ID": ""})
    assert without.code == 0, without.stderr
    assert "using baseten" in without.stdout and fake.model_named(NAME) is not None


def test_show_gpus_lists_both_providers_with_sourced_prices(tuna):
    offers = tuna("show-gpus", "--gpu", "L4", "--json").json()
    mine = {o["provider"]: o for o in offers if o["deployable"]}
    assert set(mine) == {"runpod", "baseten", "modal", "cloudrun"}
    assert mine["runpod"]["price_per_gpu_hour"] == 0.684  # $0.00019 a second
    assert mine["runpod"]["source"].startswith("https://") and mine["runpod"]["date"]
    cloudrun = next(o for o in offers if o["provider"] == "cloudrun")
    assert "the instance: 1 GPU, 8 vCPU, 32 GiB" in cloudrun["note"]


def test_dry_run_renders_the_v2_endpoint_offline(tuna, runpod, tmp_path):
    done = tuna(*DEPLOY, "--dry-run", "out")
    assert done.code == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".json") == \
        ["endpoint.json"]
    endpoint = json.loads((tmp_path / "out" / "endpoint.json").read_text())
    assert endpoint["gpu"]["pools"] == ["AMPERE_24"] and runpod.requests == []
    # Sized from the weights the model check read (1.5 GB: the smallest disk)...
    assert endpoint["disk"] == 50
    unchecked = tuna(*DEPLOY, "--dry-run", "out2", "--skip-model-check")
    assert unchecked.code == 0, unchecked.stderr
    # ...and without it, RunPod's own manifest size.
    assert json.loads((tmp_path / "out2" / "endpoint.json").read_text())["disk"] == 150


def test_no_code_path_calls_the_retired_v1_api():
    package = Path(__file__).resolve().parent.parent / "tuna"
    for path in package.rglob("*.py"):
        for match in re.finditer(r"rest\.runpod\.io/v1[^\"']*", path.read_text()):
            # Only the address that old records carry, to recognise them.
            assert path.name == "endpoint.py" and match.group(0) == "rest.runpod.io/v1", path


def test_network_volume_is_runpods_own_option_and_holds_the_weights(tuna, runpod, fake):
    help_text = tuna("deploy", "--help").stdout
    assert "runpod options (with --serverless-provider runpod)" in help_text
    assert "--network-volume ID" in help_text and "$RUNPOD_NETWORK_VOLUME" in help_text
    done = tuna(*DEPLOY, "--network-volume", "vol42abc", "--no-wait")
    assert done.code == 0, done.stderr
    body = _created_body(runpod)
    assert body["networkVolumes"] == ["vol42abc"] and body["disk"] == 50
    assert tuna("destroy", "--service-name", NAME).code == 0
    baseten = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4",
                   "--serverless-provider", "baseten", "--network-volume", "vol42abc")
    assert baseten.code == 2 and "--network-volume is an option of runpod, not of baseten" in \
        baseten.stderr
    assert fake.models == {} and len(runpod.bodies) == 1


def test_runpod_validation_errors_come_back_in_its_own_words(runpod):
    from tuna.http_errors import ApiError
    from tuna.providers.runpod.api import RunpodApi

    api = RunpodApi(runpod.api_key, runpod.url + "/v2")
    body = {"name": "tuna-x", "type": "QUEUE", "image": "i", "gpuTypeIds": ["NVIDIA L4"],
            "scaling": {"type": "REQUEST_COUNT", "requestCount": 4},
            "workers": {"idleTimeout": 30}, "gpu": {"pools": ["AMPERE_24"]}}
    with pytest.raises(ApiError) as caught:
        api.create_endpoint(body)
    assert "(HTTP 422): Request validation failed.; $: additional properties 'gpuTypeIds' not " \
        "allowed; idleTimeout does not apply" in str(caught.value)
    assert runpod.endpoints == {}
