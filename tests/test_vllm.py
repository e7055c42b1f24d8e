"""The vLLM a provider serves: its image per provider, the flags of each tracked release, and the
architectures each release loads, from the data scripts/vllm_data.py generated."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from tests.conftest import ROOT
from tuna import vllm
from tuna.models import DeployRequest, Scaling
from tuna.providers.baseten.provider import BasetenProvider
from tuna.providers.runpod.provider import RunpodProvider
from tuna.vllm import architectures
from tuna.vllm.argv import serve_argv, unaccepted

TRACKED = vllm.tracked_versions()


def test_tracks_the_default_runpods_worker_and_the_newest_release():
    assert {"0.15.1", "0.27.1", "0.34.0"} <= set(TRACKED)
    assert TRACKED[-1] == "0.34.0"  # newest on the index, 2026-12-03
    for version in TRACKED:
        data = json.loads((ROOT / "tuna" / "data" / "vllm" / f"{version}.json").read_text())
        source = data["source"]
        assert source["wheel"].startswith(f"vllm-{version}-") and len(source["sha256"]) == 64
        assert source["built"] and source["generated"]
        assert len(data["architectures"]) > 200 and len(data["serve_flags"]) > 100


# Images ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version, image", [
    ("0.15.1", "vllm/vllm-openai:v0.15.1"),  # before 0.20 the plain tag is CUDA 12
    ("0.27.1", "vllm/vllm-openai:v0.27.1-cu129"),
    ("0.34.0", "vllm/vllm-openai:v0.34.0-cu129"),
])
def test_baseten_runs_the_cuda_12_build_of_each_release(version, image):
    assert BasetenProvider().vllm_image(version) == image


def test_the_cuda_build_picks_the_tag():
    assert vllm.images.openai_tag("0.34.0", 13) == "vllm/vllm-openai:v0.34.0"
    assert vllm.images.openai_tag("0.34.0", 12) == "vllm/vllm-openai:v0.34.0-cu129"
    assert vllm.images.openai_tag("0.15.1", 12) == "vllm/vllm-openai:v0.15.1"
    with pytest.raises(ValueError, match="vLLM 0.15.1 has no CUDA 13 image"):
        vllm.images.openai_tag("0.15.1", 13)
    # A provider not in the data runs the CUDA 12 build, which more hosts can start.
    assert vllm.openai_image("0.34.0", "some-plugin") == "vllm/vllm-openai:v0.34.0-cu129"


def test_runpod_serves_only_the_vllm_its_worker_carries():
    runpod = RunpodProvider()
    assert runpod.vllm_versions() == ["0.27.1"] and runpod.default_vllm_version() == "0.27.1"
    refused = runpod.refusals(DeployRequest("Qwen/Qwen3-0.6B", "L4", vllm_version="0.34.0"))
    assert refused == ["runpod does not support vLLM 0.34.0: it serves 0.27.1"]


# Flags -------------------------------------------------------------------------------------------

REQUESTS = [
    DeployRequest("Qwen/Qwen3-0.6B", "L4"),
    DeployRequest("Qwen/Qwen3-0.6B", "L4", cold_start_mode="no_fast_boot", tp_size=2,
                  max_model_len=40960, scaling=Scaling(concurrency=128)),
    DeployRequest("Qwen/Qwen3-0.6B", "L4", quantization="fp8"),
    DeployRequest("Qwen/Qwen2.5-7B-Instruct-AWQ", "L4", quantization="awq_marlin"),
]


@pytest.mark.parametrize("version", TRACKED)
@pytest.mark.parametrize("request_", REQUESTS, ids=range(len(REQUESTS)))
def test_every_rendering_is_accepted_by_the_parser_of_its_release(version, request_):
    argv = serve_argv(request_, "/models/m", 8000, version)
    assert unaccepted(argv, version) == []
    # ...and what Baseten really renders into its start_command.
    request_ = DeployRequest(**{**request_.to_json(), "scaling": request_.scaling,
                                "vllm_version": version})
    config = yaml.safe_load(BasetenProvider().plan(request_).files["config.yaml"])
    assert unaccepted(shlex.split(config["docker_server"]["start_command"]), version) == []


def test_the_flag_check_rejects_what_the_release_rejects():
    # vLLM 0.17-0.32 dropped --disable-log-requests (exit 2); 0.15.1 and 0.33+ accept it.
    assert unaccepted(["vllm", "serve", "m", "--disable-log-requests"], "0.15.1") == []
    assert unaccepted(["vllm", "serve", "m", "--disable-log-requests"], "0.27.1") == [
        "vLLM 0.27.1 does not know --disable-log-requests"]
    assert unaccepted(["vllm", "serve", "m", "--max-model-len"], "0.34.0") == [
        "--max-model-len needs a value"]


def test_fp8_is_rendered_by_the_name_each_release_knows():
    request = DeployRequest("Qwen/Qwen3-0.6B", "L4", quantization="fp8")
    old = serve_argv(request, "/m", 8000, "0.15.1")
    new = serve_argv(request, "/m", 8000, "0.33.0")
    assert old[old.index("--quantization") + 1] == "fp8"
    assert new[new.index("--quantization") + 1] == "fp8_per_tensor"
    assert vllm.quantization_name("bitsandbytes", "0.33.0") is None  # gone from the release
    # A checkpoint already quantized as fp8 is loaded by the name its config states.
    prequantized = DeployRequest("RedHatAI/Qwen3-8B-FP8-dynamic", "L4", quantization="fp8",
                                 checkpoint_quantization="fp8")
    kept = serve_argv(prequantized, "/m", 8000, "0.33.0")
    assert kept[kept.index("--quantization") + 1] == "fp8"


# Architectures ----------------------------------------------------------------------------------

SERVABLE = list(TRACKED)


def test_a_known_architecture_loads():
    assert architectures.refusal("Qwen/Qwen3-0.6B", ["Qwen3ForCausalLM"], "0.15.1", "baseten",
                                 SERVABLE) is None


def test_a_newer_architecture_names_the_oldest_release_that_loads_it():
    why = architectures.refusal("Qwen/Qwen3.5-4B", ["Qwen3_5ForConditionalGeneration"], "0.15.1",
                                "baseten", SERVABLE)
    assert why == ("--model: Qwen/Qwen3.5-4B is Qwen3_5ForConditionalGeneration, which vLLM "
                   "0.15.1 cannot load; vLLM 0.27.1 is the oldest tuna tracks that can: add "
                   "--vllm-version 0.27.1")


def test_a_release_the_provider_cannot_serve_says_so():
    why = architectures.refusal("LiquidAI/LFM3-1B", ["Lfm3ForCausalLM"], "0.27.1", "runpod",
                                ["0.27.1"])
    assert why.endswith("vLLM 0.34.0 can, but runpod serves only 0.27.1: choose another "
                        "--serverless-provider")


def test_an_architecture_no_release_knows_is_refused_plainly():
    why = architectures.refusal("acme/Mystery-1B", ["MysteryForCausalLM"], "0.15.1", "baseten",
                                SERVABLE)
    assert why == ("--model: acme/Mystery-1B is MysteryForCausalLM, an architecture no vLLM tuna "
                   f"tracks ({TRACKED[0]} to {TRACKED[-1]}) can load; --skip-model-check deploys "
                   "without this check, if it loads another way (a plugin, trust-remote-code)")


def test_one_known_name_of_several_is_enough():
    assert architectures.loads(["MysteryForCausalLM", "LlamaForCausalLM"], "0.15.1")
