"""What one deploy does on its way: each step once, and the record holds what was deployed."""

from __future__ import annotations

import subprocess

from tests.conftest import API_KEY
from tests.test_baseten_e2e import DEPLOY
from tuna import cli
from tuna.providers.baseten import render
from tuna.state import StateStore


def test_one_render_one_truss_process_and_the_record_holds_the_deployed_request(
        fake, hub, tmp_path, monkeypatch):
    for name, value in {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"),
                        "BASETEN_API_KEY": API_KEY, "BASETEN_API_URL": fake.url,
                        "BASETEN_REMOTE_URL": fake.url, "TUNA_STATE_DIR": str(tmp_path / "state"),
                        "TUNA_POLL_INTERVAL": "0.01", "HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    fake.secrets.add("hf_access_token")  # found in preflight: it changes the plan
    renders, processes = [], []
    real_render, real_popen = render.render_config, subprocess.Popen
    monkeypatch.setattr(render, "render_config",
                        lambda *a: renders.append(a) or real_render(*a))
    monkeypatch.setattr(subprocess, "Popen",
                        lambda argv, **kw: processes.append(argv) or real_popen(argv, **kw))

    assert cli.main([*DEPLOY, "--no-wait"]) == 0

    assert len(renders) == 1
    # One truss process, started before preflight: it pushes, and validates what it pushes.
    assert len(processes) == 1 and processes[0][-1].endswith("/truss"), processes
    record = StateStore(tmp_path / "state").get("qwen3-0-6b")
    model = fake.model_named("qwen3-0-6b")
    pushed = model.deployments[model.production_id or next(iter(model.deployments))].config
    assert record.request.hf_secret == "hf_access_token"
    assert pushed["weights"][0]["auth_secret_name"] == "hf_access_token"
    assert cli.main(["destroy", "--service-name", "qwen3-0-6b"]) == 0
