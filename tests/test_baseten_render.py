from __future__ import annotations

import shlex

import pytest
import yaml
from truss.base.truss_config import TrussConfig

from tuna import catalog
from tuna.errors import TunaError
from tuna.models import DeployRequest, Scaling
from tuna.providers.baseten import render, truss_config
from tuna.providers.baseten.provider import BasetenProvider

PROVIDER = BasetenProvider()


def rendered(**changes) -> dict:
    request = DeployRequest(**{"model": "Qwen/Qwen3-0.6B", "gpu": "L4", **changes})
    return yaml.safe_load(PROVIDER.plan(request).files["config.yaml"])


def test_config_for_the_plan():
    config = rendered()
    assert config["model_name"] == "qwen3-0-6b"
    assert config["base_image"] == {"image": "vllm/vllm-openai:v0.15.1"}
    assert config["docker_server"] == {
        "start_command": config["docker_server"]["start_command"], "server_port": 8000,
        "predict_endpoint": "/v1/chat/completions", "readiness_endpoint": "/health",
        "liveness_endpoint": "/health"}
    assert config["resources"] == {"accelerator": "L4"}  # no use_gpu: truss derives it
    assert config["runtime"]["predict_concurrency"] == 32
    (weights,) = config["weights"]
    assert weights["source"] == "hf://Qwen/Qwen3-0.6B@main"
    assert weights["mount_location"] == "/models/Qwen3-0.6B"
    # Tokenizer and chat-template files must survive the filter.
    assert "allow_patterns" not in weights
    assert not {"*.json", "*.model", "*.jinja", "*.txt", "*.tiktoken"} & set(weights["ignore_patterns"])
    assert config["secrets"] == {} and weights["auth_secret_name"] is None


def test_start_command():
    argv = shlex.split(rendered(max_model_len=8192, tp_size=2)["docker_server"]["start_command"])
    assert argv[:3] == ["vllm", "serve", "/models/Qwen3-0.6B"]
    assert argv[argv.index("--served-model-name") + 1] == "Qwen/Qwen3-0.6B"
    assert argv[argv.index("--max-model-len") + 1] == "8192"
    assert argv[argv.index("--tensor-parallel-size") + 1] == "2"
    assert argv[argv.index("--port") + 1] == "8000"
    assert "--enforce-eager" in argv
    assert not any("log-requests" in a for a in argv)  # deprecated or rejected across vLLM versions


def test_no_fast_boot_and_quantization():
    argv = shlex.split(rendered(cold_start_mode="no_fast_boot", quantization="awq")
                       ["docker_server"]["start_command"])
    assert "--enforce-eager" not in argv
    assert argv[argv.index("--quantization") + 1] == "awq"


def test_revision_image_and_secret():
    config = rendered(revision="a" * 40, image="ghcr.io/me/vllm:v1", hf_secret="my_tok",
                      scaling=Scaling(concurrency=4))
    assert config["weights"][0]["source"] == f"hf://Qwen/Qwen3-0.6B@{'a' * 40}"
    assert config["weights"][0]["auth_secret_name"] == "my_tok"
    assert config["secrets"] == {"my_tok": None}
    assert config["base_image"]["image"] == "ghcr.io/me/vllm:v1"
    assert config["runtime"]["predict_concurrency"] == 4


def test_every_value_stays_one_scalar_and_one_shell_word():
    """Defence in depth: even values validation would refuse cannot add keys or shell words."""
    request = DeployRequest("Qwen/Qwen3-0.6B", "L4")
    hostile = {"model": 'a/b"\nextra_key: 1 $(id) `id` ; rm -rf /', "service_name": "s: {a: 1}",
               "revision": "x\n- y # z", "quantization": "awq' --trust-remote-code '"}
    for field, value in hostile.items():
        object.__setattr__(request, field, value)
    config = yaml.safe_load(render.render_config(request, "L4"))
    template_keys = set(yaml.safe_load(render.render_config(
        DeployRequest("Qwen/Qwen3-0.6B", "L4"), "L4")))
    assert set(config) == template_keys
    assert config["model_name"] == hostile["service_name"]
    assert config["weights"][0]["source"] == f"hf://{hostile['model']}@{hostile['revision']}"
    argv = shlex.split(config["docker_server"]["start_command"])
    assert argv == render.vllm_argv(request)
    assert argv[argv.index("--quantization") + 1] == hostile["quantization"]


@pytest.mark.parametrize("gpu", [o.gpu for o in catalog.load().offers_for(provider="baseten")])
@pytest.mark.parametrize("tp_size", [1, 2, 4, 8])
def test_config_matrix_validated_by_truss(gpu, tp_size, tmp_path):
    offer = catalog.load().offer(gpu, "baseten")
    text = render.render_config(DeployRequest("Qwen/Qwen3-0.6B", gpu, tp_size=tp_size),
                                offer.provider_gpu_id)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    config = TrussConfig.from_yaml(path)
    config.validate_forbid_extra()
    assert config.resources.accelerator.accelerator.value == offer.provider_gpu_id
    assert config.resources.accelerator.count == tp_size  # one GPU per tensor-parallel rank
    assert config.resources.use_gpu


def test_validation_catches_an_invalid_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(render.render_config(DeployRequest("Qwen/Qwen3-0.6B", "L4"), "H100MIG"))
    with pytest.raises(TunaError, match="truss rejected the rendered config.yaml"):
        truss_config.validate(path)
    path.write_text(path.read_text().replace("H100MIG", "L4") + "use_gpu_typo: true\n")
    with pytest.raises(TunaError, match="truss rejected"):
        truss_config.validate(path)


def test_plan_summary_states_price_for_all_gpus():
    plan = PROVIDER.plan(DeployRequest("Qwen/Qwen3-0.6B", "H100", tp_size=2))
    assert plan.summary["accelerator"] == "H100:2"
    assert plan.summary["price"] == "$13.00/hour per replica (2 x H100), billed per minute"


def test_mig_h100_uses_the_real_truss_name():
    assert rendered(gpu="H100_MIG_40GB")["resources"]["accelerator"] == "H100_40GB"


def test_installed_wheel_finds_its_template(tmp_path):
    """Build the wheel, install it into a fresh virtualenv, and render from there alone."""
    import os
    import subprocess
    import zipfile

    from tests.conftest import ROOT

    uv = os.environ.get("UV", "uv")
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("tuna_llm-*.whl")
    assert "tuna/templates/baseten/config.yaml.tpl" in zipfile.ZipFile(wheel).namelist()
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True, capture_output=True)
    subprocess.run([uv, "pip", "install", "-q", "--no-deps", "--python", str(venv / "bin" / "python"),
                    str(wheel)], check=True, capture_output=True)
    probe = ("import tuna.template_files as t; print(t.__file__); "
             "print(t.read('baseten/config.yaml.tpl')[:40])")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module_path, first_line = done.stdout.splitlines()[:2]
    assert module_path.startswith(str(venv)) and "Truss config rendered by tuna" in first_line


def test_rendered_config_must_keep_the_template_keys():
    template = {"model_name": "${service_name}", "runtime": {"predict_concurrency": "${n}"}}
    render._check_same_keys(template, {"model_name": "x", "runtime": {"predict_concurrency": 1}})
    with pytest.raises(TunaError, match=r"rendered config.yaml.runtime has keys"):
        render._check_same_keys(template, {"model_name": "x", "runtime": {"extra": 1}})
    with pytest.raises(TunaError, match=r"rendered config.yaml has keys"):
        render._check_same_keys(template, {"model_name": "x", "runtime": {}, "added": 1})


def test_default_image_is_the_pinned_default_vllm_in_basetens_cuda_build():
    assert rendered()["base_image"]["image"] == "vllm/vllm-openai:v0.15.1"  # before 0.20: CUDA 12
    newer = rendered(vllm_version="0.33.0")["base_image"]["image"]
    assert newer == "vllm/vllm-openai:v0.33.0-cu129"  # Baseten runs the CUDA 12.9 build
