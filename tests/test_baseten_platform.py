"""Baseten as it really behaves (baseten-facts.md, section 7), through the real CLI and the real
`truss push` against the loopback fake, which behaves the same way."""

from __future__ import annotations

import re
import shlex

import pytest
import requests

from tests.conftest import API_KEY
from tests.test_cli import seed
from tests.test_baseten_e2e import DEPLOY
from tuna.models import Status
from tuna.state import StateStore

SCALING = ("--min-replicas", "1", "--max-replicas", "3", "--scale-down-delay", "120")
ASKED = {"min_replica": 1, "max_replica": 3, "concurrency_target": 32, "scale_down_delay": 120}


def get(fake, path):
    return requests.get(fake.url + path, headers={"Authorization": f"Api-Key {API_KEY}"},
                        timeout=5)


def test_production_comes_after_the_deploy_and_its_404_is_not_gone(tuna, fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    model = fake.model_named("qwen3-0-6b")
    assert get(fake, f"/v1/models/{model.id}").json()["production_deployment_id"] is None
    assert get(fake, f"/v1/models/{model.id}/deployments/production").status_code == 404
    # A record that knows the model but not the deployment (its push never reported it):
    StateStore(state_dir).update("qwen3-0-6b", provider_ids={"deployment_id": ""})
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json")
    assert status.code == 0, status.stderr
    assert status.json()["status"] == "deploying"
    assert status.json()["deployment_id"] == next(iter(model.deployments))
    assert StateStore(state_dir).get("qwen3-0-6b").status is Status.DEPLOYING


def test_autoscaling_is_applied_after_promotion_and_read_back(tuna, fake):
    done = tuna(*DEPLOY, *SCALING)
    assert done.code == 0, done.stderr
    model = fake.model_named("qwen3-0-6b")
    # The first promotion reset the environment to Baseten's defaults; tuna applied it after.
    assert {k: model.autoscaling[k] for k in ASKED} == ASKED
    patches = [i for i, (m, p) in enumerate(fake.requests) if m == "PATCH"]
    promoted_at = max(i for i, (m, p) in enumerate(fake.requests)
                      if m == "GET" and p.endswith(f"/deployments/{model.production_id}"))
    assert patches and min(patches) > promoted_at
    assert ("Autoscaling holds: min_replica=1, max_replica=3, concurrency_target=32, "
            "scale_down_delay=120") in done.stdout


def test_status_shows_live_autoscaling_and_what_differs_from_the_ask(tuna, fake):
    assert tuna(*DEPLOY, *SCALING).code == 0
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json").json()
    assert {k: status["autoscaling"][k] for k in ASKED} == ASKED
    assert "autoscaling_asked" not in status
    fake.model_named("qwen3-0-6b").autoscaling["max_replica"] = 1  # changed in the dashboard
    status = tuna("status", "--service-name", "qwen3-0-6b", "--json").json()
    assert status["autoscaling"]["max_replica"] == 1
    assert status["autoscaling_asked"] == {"max_replica": 3}
    human = tuna("status", "--service-name", "qwen3-0-6b").stdout
    assert "autoscaling asked: max_replica=3" in human


def test_several_teams_need_team_and_leave_nothing_behind(tuna, fake):
    fake.teams.append({"id": "t2", "name": "Research", "default": False})
    done = tuna(*DEPLOY)
    assert done.code == 1
    assert "this workspace has 2 teams (Default, Research)" in done.stderr
    assert "pass --team NAME" in done.stderr
    assert fake.models == {} and tuna("list", "--all", "--json").json() == []
    wrong = tuna(*DEPLOY, "--team", "Nope")
    assert wrong.code == 1 and "team 'Nope' is not in this workspace" in wrong.stderr
    assert fake.models == {}
    done = tuna(*DEPLOY, "--team", "Research", "--no-wait")
    assert done.code == 0, done.stderr
    assert fake.model_named("qwen3-0-6b").team["name"] == "Research"
    assert tuna("list", "--json").json()[0]["model_id"] == fake.model_named("qwen3-0-6b").id


def test_every_deployment_carries_tuna_labels(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    (deployment,) = fake.model_named("qwen3-0-6b").deployments.values()
    assert deployment.labels == {"managed-by": "tuna", "tuna-service": "qwen3-0-6b"}


def test_concurrency_reaches_vllm_as_max_num_seqs(tuna, fake):
    assert tuna(*DEPLOY, "--concurrency", "12").code == 0
    model = fake.model_named("qwen3-0-6b")
    argv = shlex.split(model.deployments[model.production_id].config["docker_server"]["start_command"])
    assert argv[argv.index("--max-num-seqs") + 1] == "12"
    assert model.autoscaling["concurrency_target"] == 12


@pytest.mark.parametrize("args, message", [
    (("--tp-size", "3"), "baseten does not support --tp-size 3: a Baseten replica has 1, 2, 4 or 8 GPUs"),
    (("--tp-size", "6"), "1, 2, 4 or 8 GPUs"),
    (("--gpu", "H100_MIG", "--tp-size", "2"), "--tp-size 2 on H100_MIG_40GB: an H100 MIG slice is a single GPU"),
    (("--gpu", "T4", "--quantization", "mxfp4"), "--quantization mxfp4 needs a GPU of compute capability 8.0 or newer (vLLM 0.15.1); T4 has 7.5"),
    (("--gpu", "A10G", "--quantization", "modelopt"), "modelopt needs a GPU of compute capability 8.9"),
    (("--quantization", "gguf"), "baseten does not support --quantization gguf: vLLM's gguf loads one .gguf file"),
])
def test_requests_baseten_or_the_gpu_cannot_run_are_refused_first(tuna, fake, args, message):
    done = tuna(*DEPLOY, *args)
    assert done.code == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert fake.requests == []


@pytest.mark.parametrize("args", [("--gpu", "H100_MIG"), ("--quantization", "awq"),
                                  ("--gpu", "L4", "--quantization", "modelopt"),
                                  ("--gpu", "A10G", "--tp-size", "8")])
def test_what_baseten_and_the_gpu_can_run_is_accepted(tuna, args):
    done = tuna(*DEPLOY, *args, "--dry-run", "out")
    assert done.code == 0, done.stderr


def test_logs_refuse_more_than_seven_days_and_print_oldest_first(tuna, fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    refused = tuna("logs", "--service-name", "qwen3-0-6b", "--since", "8d")
    assert refused.code == 2 and "7 days" in refused.stderr
    assert not any("/logs" in path for _, path in fake.requests)
    fake.logs = ["one", "two", "three"]
    done = tuna("logs", "--service-name", "qwen3-0-6b", "--since", "7d")
    assert done.code == 0, done.stderr
    assert [line.split(" ", 3)[3] for line in done.stdout.splitlines()] == ["one", "two", "three"]
    # The fake, like Baseten, answered newest first.
    model = fake.model_named("qwen3-0-6b")
    answer = get(fake, f"/v1/models/{model.id}/deployments/{next(iter(model.deployments))}/logs")
    assert [entry["message"] for entry in answer.json()["logs"]] == ["three", "two", "one"]
    assert re.fullmatch(r"\d{19}", answer.json()["logs"][0]["timestamp"])


def test_endpoint_host_comes_from_truss_predict_url(tuna, fake):
    fake.hostname = "https://model-{model_id}.api.acme.baseten.co"
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    model = fake.model_named("qwen3-0-6b")
    expected = f"https://model-{model.id}.api.acme.baseten.co/environments/production/sync/v1"
    assert done.json()["endpoint_url"] == expected
    assert tuna("status", "--service-name", "qwen3-0-6b", "--json").json()["endpoint_url"] == expected


def test_status_of_a_record_without_provider_ids_answers(tuna, fake, state_dir):
    seed(state_dir, "never-pushed", status=Status.PENDING)
    done = tuna("status", "--service-name", "never-pushed")
    assert done.code == 0, done.stderr
    assert "NOT_CREATED" in done.stdout and "cannot be used" not in done.stderr
