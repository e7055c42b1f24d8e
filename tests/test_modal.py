"""Modal end to end: the real tuna CLI and the real `modal` SDK (1.6.4) against the loopback
control plane in tests/fake_modal.py. tuna's state is checked against the fake at every step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from grpclib import Status as GrpcStatus
from modal_proto import api_pb2

from tuna.state import StateStore

NAME = "qwen3-0-6b"
DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider", "modal")


def record(state_dir, name=NAME):
    return StateStore(state_dir).get(name)


def test_dry_run_writes_and_validates_the_app_file_without_an_account(tuna, modal_fake, tmp_path):
    done = tuna(*DEPLOY, "--dry-run", "out", env={"MODAL_TOKEN_ID": "", "MODAL_TOKEN_SECRET": ""})
    assert done.code == 0, done.stderr
    assert "validated with modal 1.6.4 (its decorators' own checks, offline)" in done.stdout
    app = (tmp_path / "out" / "app.py").read_text()
    assert "modal.Image.from_registry('vllm/vllm-openai:v0.15.1')" in app
    assert "gpu='L4'" in app and "requires_proxy_auth=True" in app and "secrets=[]" in app
    assert "tags={'managed-by': 'tuna', 'tuna-service': 'qwen3-0-6b'}" in app
    assert modal_fake.calls == []  # offline: not even a hello


def test_modals_own_checks_refuse_what_it_cannot_run():
    import pytest

    from tuna.errors import ProviderError
    from tuna.models import DeployRequest
    from tuna.providers.modal.provider import ModalProvider

    provider = ModalProvider()
    plan = provider.plan(DeployRequest("Qwen/Qwen3-0.6B", "L4", vllm_version="0.15.1"))
    text = plan.files["app.py"].replace("scaledown_window=300", "scaledown_window=1")
    with pytest.raises(ProviderError, match="Modal refuses the rendered app: .*scaledown_window"):
        provider.validate(type(plan)(plan.provider, plan.request, {"app.py": text}, plan.summary))


def test_deploy_status_logs_update_destroy(tuna, modal_fake, state_dir):
    done = tuna(*DEPLOY, "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    app = modal_fake.app_named(NAME)
    assert result["app_id"] == app.id and result["status"] == "cold"  # scaled to zero by design
    assert result["endpoint_url"] == f"https://tuna-test--{NAME}-serve.modal.run/v1"
    assert app.state == api_pb2.APP_STATE_DEPLOYED and app.tags["tuna-service"] == NAME
    assert record(state_dir).provider_ids["app_id"] == app.id
    function = app.functions["serve"].definition
    assert function.resources.gpu_config.gpu_type == "L4" and function.resources.gpu_config.count == 1
    assert function.webhook_config.requires_proxy_auth
    # Status asks the control plane, never the model: cold, then a container up.
    status = tuna("status", "--service-name", NAME, "--json")
    assert status.json()["provider_status"] == "COLD" and status.json()["status"] == "cold"
    app.functions["serve"].runners = 1
    warm = tuna("status", "--service-name", NAME, "--json").json()
    assert (warm["status"], warm["active_replicas"], warm["burn_rate_per_hour"]) == (
        "active", 1, 0.7992)
    logs = tuna("logs", "--service-name", NAME)
    assert logs.code == 0 and "App deployed: version 1" in logs.stdout
    # An update redeploys under the same name and app id; autoscaling holds afterwards.
    updated = tuna(*DEPLOY, "--update", "--max-replicas", "3", "--max-model-len", "8192", "--json")
    assert updated.code == 0, updated.stderr
    assert updated.json()["app_id"] == app.id and app.version == 2
    assert app.functions["serve"].autoscaler()["max_containers"] == 3
    assert "'--max-model-len', '8192'" in modal_fake.files[-1]  # the app file shipped with it
    # Destroy stops the app by id and returns once Modal says it stopped.
    gone = tuna("destroy", "--service-name", NAME, "--yes")
    assert gone.code == 0, gone.stderr
    assert app.state == api_pb2.APP_STATE_STOPPED
    assert record(state_dir).status.value == "destroyed"


def test_min_replicas_waits_for_a_container(tuna, modal_fake):
    done = tuna(*DEPLOY, "--min-replicas", "1", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["status"] == "active"
    app = modal_fake.app_named(NAME)
    assert app.functions["serve"].runners == 1
    assert modal_fake.names().count("FunctionGetCurrentStats") >= modal_fake.reads_to_start


def test_a_gated_model_needs_its_secret_on_modal(tuna, modal_fake, hub):
    gated = ("deploy", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4",
             "--serverless-provider", "modal", "--hf-secret", "huggingface", "--no-wait")
    missing = tuna(*gated)
    assert missing.code == 1
    assert "Modal Secret 'huggingface' is missing" in missing.stderr
    assert "modal secret create huggingface HF_TOKEN=..." in missing.stderr
    assert modal_fake.apps == {}
    modal_fake.secrets.add("huggingface")
    done = tuna(*gated)
    assert done.code == 0, done.stderr
    function = modal_fake.app_named("llama-3-1-8b-instruct").functions["serve"].definition
    assert len(function.secret_ids) == 1


def test_a_rejected_token_is_one_line_and_creates_nothing(tuna, modal_fake):
    done = tuna(*DEPLOY, "--no-wait", env={"MODAL_TOKEN_SECRET": "as-wrong"})
    assert done.code == 1
    assert "Modal rejected the token" in done.stderr and "modal token new" in done.stderr
    assert "as-wrong" not in done.stderr + done.stdout
    assert modal_fake.apps == {}
    check = tuna("check", "--provider", "modal", env={"MODAL_TOKEN_SECRET": "as-wrong"})
    assert check.code == 1 and "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET" in check.stdout + check.stderr


def test_a_failed_image_build_is_recorded_and_destroyable(tuna, modal_fake, state_dir):
    modal_fake.fail_build = "pip install failed: no such package"
    done = tuna(*DEPLOY, "--no-wait")
    assert done.code == 1
    assert "pip install failed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    app = modal_fake.app_named(NAME)
    assert record(state_dir).provider_ids["app_id"] == app.id  # known, so destroy can stop it
    status = tuna("status", "--service-name", NAME, "--json")
    assert status.code == 0 and status.json()["provider_status"] == "NO_FUNCTION"
    assert tuna("destroy", "--service-name", NAME, "--yes").code == 0
    assert app.state == api_pb2.APP_STATE_STOPPED


def test_list_remote_finds_tunas_apps_by_their_tags(tuna, modal_fake):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    modal_fake.add_foreign_app("handmade")
    listed = tuna("list", "--remote", "--json").json()
    mine = [s for s in listed["services"] if s["provider"] == "modal"]
    assert [(s["service_name"], s["tracked"]) for s in mine] == [(NAME, True)]


def test_public_endpoints_need_no_proxy_auth(tuna, modal_fake):
    done = tuna(*DEPLOY, "--public", "--no-wait")
    assert done.code == 0, done.stderr
    assert "Modal-Key" not in done.stdout
    function = modal_fake.app_named(NAME).functions["serve"].definition
    assert not function.webhook_config.requires_proxy_auth
    private = tuna(*DEPLOY, "--service-name", "private", "--no-wait")
    assert '-H "Modal-Key: $MODAL_PROXY_KEY"' in private.stdout


def test_an_option_of_another_provider_is_refused(tuna, modal_fake):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4",
                "--serverless-provider", "baseten", "--public", "--dry-run", "out")
    assert done.code == 2 and "--public" in done.stderr and "modal" in done.stderr


def test_ctrl_c_during_a_deploy_leaves_an_app_tuna_can_destroy(tuna_env, tuna, modal_fake,
                                                                 state_dir, tmp_path):
    modal_fake.delays["ImageGetOrCreate"] = 30  # the image build is where a deploy spends time
    process = subprocess.Popen([sys.executable, "-m", "tuna", *DEPLOY, "--no-wait"],
                               env=tuna_env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while "ImageGetOrCreate" not in modal_fake.names() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    app = modal_fake.app_named(NAME)
    assert record(state_dir).provider_ids["app_id"] == app.id
    modal_fake.delays.clear()
    assert tuna("destroy", "--service-name", NAME, "--yes").code == 0
    assert app.state == api_pb2.APP_STATE_STOPPED


def test_hostile_inputs_are_refused_before_anything_remote(tuna, modal_fake):
    for args in (("--service-name", "Bad_Name"), ("--image", "vllm:latest;rm -rf /"),
                 ("--hf-secret", "x'); import os; os.system('id"),):
        done = tuna(*DEPLOY, *args, "--no-wait")
        assert done.code == 2, (args, done.stderr)
    done = tuna("deploy", "--model", "../etc/passwd", "--gpu", "L4", "--serverless-provider",
                "modal")
    assert done.code == 2
    assert modal_fake.calls == []


def test_a_missing_app_is_written_off_only_in_its_own_workspace(tuna, modal_fake, state_dir):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    app = modal_fake.app_named(NAME)
    del modal_fake.apps[app.id]  # gone from Modal
    elsewhere = tuna("status", "--service-name", NAME,
                     env={"MODAL_SERVER_URL": modal_fake.url.replace("127.0.0.1", "localhost")})
    assert elsewhere.code == 1 and "nothing is written off" in elsewhere.stderr
    assert record(state_dir).status.value != "destroyed"
    status = tuna("status", "--service-name", NAME, "--json")
    assert status.json()["status"] == "destroyed"
