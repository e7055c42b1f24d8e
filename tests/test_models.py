"""Every validation path of the deploy request: refused with the flag and the allowed form."""

from __future__ import annotations

import pytest

from tuna.errors import InvalidValue
from tuna.models import ColdStartMode, DeployRequest, Scaling, default_service_name


def request(**changes) -> DeployRequest:
    return DeployRequest(**{"model": "Qwen/Qwen3-0.6B", "gpu": "L4", **changes})


def test_defaults():
    r = request()
    assert r.service_name == "qwen3-0-6b"
    assert (r.tp_size, r.max_model_len, r.revision) == (1, 4096, "main")
    assert r.cold_start_mode is ColdStartMode.FAST_BOOT
    assert r.scaling == Scaling(concurrency=32, min_replicas=0, max_replicas=1, scale_down_delay=300)


def test_round_trips_through_json():
    r = request(tp_size=2, quantization="awq", hf_secret="tok",
                scaling=Scaling(concurrency=8, min_replicas=1, max_replicas=4))
    assert DeployRequest.from_json(r.to_json()) == r


@pytest.mark.parametrize("model", [
    "Qwen3-0.6B", "Qwen/", "/Qwen3", "a/b/c", "Qwen/Qwen3 0.6B", "Qwen/Qwen3\n0.6B",
    "Qwen/Qwen3;rm -rf /", "Qwen/$(id)", "Qwen/..", "Qwen/a..b", "Qwen/a--b", "Qwen/-x",
    "Qwén/Qwen3", "", "o/" + "x" * 97,
])
def test_model_ids_must_be_hugging_face_form(model):
    with pytest.raises(InvalidValue, match="--model: expected a Hugging Face id"):
        request(model=model)


@pytest.mark.parametrize("name", ["My-Service", "a/b", "a b", "..", "-a", "a-", "x" * 64, "a_b",
                                  "ünï"])
def test_service_names_are_dns_labels(name):
    with pytest.raises(InvalidValue, match="--service-name: expected 1-63 lowercase"):
        request(service_name=name)


@pytest.mark.parametrize("field, value, flag", [
    ("tp_size", 0, "--tp-size"), ("tp_size", -1, "--tp-size"), ("tp_size", 65, "--tp-size"),
    ("tp_size", "2", "--tp-size"), ("tp_size", True, "--tp-size"),
    ("max_model_len", 0, "--max-model-len"), ("max_model_len", -5, "--max-model-len"),
    ("max_model_len", 10**9, "--max-model-len"),
])
def test_numbers_name_flag_and_range(field, value, flag):
    with pytest.raises(InvalidValue, match=rf"{flag}: must be a whole number from \d+ to \d+"):
        request(**{field: value})


@pytest.mark.parametrize("field, value, flag", [
    ("concurrency", 0, "--concurrency"), ("concurrency", 5000, "--concurrency"),
    ("min_replicas", -1, "--min-replicas"), ("max_replicas", 0, "--max-replicas"),
    ("scale_down_delay", -1, "--scale-down-delay"), ("scale_down_delay", 10**6, "--scale-down-delay"),
])
def test_scaling_numbers_name_flag_and_range(field, value, flag):
    with pytest.raises(InvalidValue, match=rf"{flag}: must be a whole number"):
        Scaling(**{field: value})


def test_max_replicas_not_below_min():
    with pytest.raises(InvalidValue, match="--max-replicas: must be at least --min-replicas"):
        Scaling(min_replicas=3, max_replicas=2)


def test_cold_start_mode():
    assert request(cold_start_mode="no_fast_boot").cold_start_mode is ColdStartMode.NO_FAST_BOOT
    with pytest.raises(InvalidValue, match="--cold-start-mode: expected fast_boot or no_fast_boot"):
        request(cold_start_mode="turbo")


@pytest.mark.parametrize("method", ["awq", "fp8", "gptq_marlin", "compressed-tensors"])
def test_vllm_quantization_methods_accepted(method):
    assert request(quantization=method).quantization == method


@pytest.mark.parametrize("method", ["AWQ", "int3", "awq; rm -rf /", "aqlm", ""])
def test_unknown_quantization_refused(method):
    with pytest.raises(InvalidValue, match="--quantization: expected one of vLLM's methods"):
        request(quantization=method)


@pytest.mark.parametrize("revision", ["", "-rf", "a b", "main\n", "../x", "x" * 101])
def test_revision_form(revision):
    with pytest.raises(InvalidValue, match="--revision: expected a branch, tag or commit"):
        request(revision=revision)


def test_revision_accepts_commits_and_tags():
    assert request(revision="a" * 40).revision == "a" * 40
    assert request(revision="v1.0/rc-2").revision == "v1.0/rc-2"


@pytest.mark.parametrize("image", ["Vllm/Vllm", "vllm openai", "vllm/x:$(id)", "x:tag:tag"])
def test_image_form(image):
    with pytest.raises(InvalidValue, match="--image: expected a container image"):
        request(image=image)


def test_image_accepts_tags_and_digests():
    assert request(image="ghcr.io/org/vllm:v0.15.1").image == "ghcr.io/org/vllm:v0.15.1"
    digest = "vllm/vllm-openai@sha256:" + "a" * 64
    assert request(image=digest).image == digest


@pytest.mark.parametrize("secret", ["", "a b", "x;y", "-x"])
def test_hf_secret_form(secret):
    with pytest.raises(InvalidValue, match="--hf-secret: expected a secret name"):
        request(hf_secret=secret)


@pytest.mark.parametrize("model, name", [
    ("Qwen/Qwen3-0.6B", "qwen3-0-6b"), ("meta-llama/Llama-3.1-8B-Instruct", "llama-3-1-8b-instruct"),
    ("o/" + "A" * 90, "a" * 63), ("o/___", "model"),
])
def test_default_service_name_is_a_dns_label(model, name):
    assert default_service_name(model) == name
