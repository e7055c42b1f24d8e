"""Know the model before paying: every refusal through the real CLI, against the loopback Hub
(tests/fake_hub.py) and the loopback Baseten; nothing is created on the provider."""

from __future__ import annotations

import pytest

from tests.fake_hub import MODELS
from tuna import model_check
from tuna.models import DeployRequest


def deploy(model: str, *args: str) -> tuple[str, ...]:
    return ("deploy", "--model", model, "--serverless-provider", "baseten", *args)


def nothing_created(fake, tuna) -> bool:
    """The provider saw reads at most (preflight runs beside the Hub check), and tuna's state
    holds no record."""
    writes = [r for r in fake.requests if r[0] != "GET"]
    return not writes and not fake.models and tuna("list", "--all", "--json").json() == []


@pytest.mark.parametrize("args, message", [
    (deploy("Qwen/Qwen9-0.6B", "--gpu", "L4"),
     "--model: Qwen/Qwen9-0.6B does not exist on the Hugging Face Hub"),
    (deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--revision", "v9"),
     "--revision: Qwen/Qwen3-0.6B has no revision 'v9'"),
    (deploy("Qwen/Qwen2.5-0.5B-Instruct", "--gpu", "L4", "--tp-size", "4"),
     "--tp-size 4 does not divide Qwen/Qwen2.5-0.5B-Instruct's 14 attention heads; use --tp-size "
     "1 or 2"),
    (deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--max-model-len", "131072"),
     "--max-model-len 131072 exceeds Qwen/Qwen3-0.6B's limit of 40960 tokens; use "
     "--max-model-len 40960"),
    (deploy("Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu", "L4", "--quantization", "gptq"),
     "--quantization gptq contradicts Qwen/Qwen2.5-7B-Instruct-AWQ's own quantization (awq)"),
    (deploy("meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4"),
     "--model: meta-llama/Llama-3.1-8B-Instruct is gated and no Hugging Face token will reach "
     "baseten: pass --hf-secret NAME"),
])
def test_refused_before_anything_is_created(tuna, fake, hub, args, message):
    done = tuna(*args)
    assert done.code == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert nothing_created(fake, tuna)


def test_a_model_that_does_not_fit_names_the_numbers_and_the_cheapest_fit(tuna, fake, hub):
    fake.secrets.add("hf_access_token")
    done = tuna(*deploy("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "L4"),
                env={"HF_TOKEN": hub.token})
    assert done.code == 2, done.stderr
    # 70.55e9 parameters x 2 bytes = 131.4 GiB of weights on one L4 of 24 GB x 0.95.
    assert ("meta-llama/Llama-3.3-70B-Instruct needs ~134.7 GiB per GPU (weights 131.42 + KV cache "
            "1.25 + runtime 2.0) of 21.2 GiB on 1 x L4: it does not fit; it fits on 2 x A100_80GB "
            "(--gpu A100_80GB --tp-size 2, $8.00/hour per replica)") in done.stderr
    elsewhere = tuna(*deploy("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "T4"),
                     env={"HF_TOKEN": hub.token})
    # Baseten's T4 and L4 boxes stop at 4 GPUs; the cheapest shape that holds 131 GiB of
    # weights is 2 x A100 ($8.00), not 4 x L4 ($4.80, 33 GiB each of 21.2).
    assert ("of 14.2 GiB on 1 x T4: it does not fit; it fits on 2 x A100_80GB (--gpu A100_80GB "
            "--tp-size 2, $8.00/hour per replica)") in elsewhere.stderr
    assert nothing_created(fake, tuna)


def test_a_70b_model_on_four_h100s_is_accepted(tuna, fake, hub):
    fake.secrets.add("hf_access_token")  # gated: the workspace's token reaches the weights
    done = tuna(*deploy("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "H100", "--tp-size", "4",
                        "--no-wait", "--json"), env={"HF_TOKEN": hub.token})
    assert done.code == 0, done.stderr
    checked = done.json()["model_check"]["checked"]
    assert checked["parameters"] == "70.55 B"
    # 131.4 GiB / 4 + KV cache (2 of 8 KV heads per GPU) + runtime, of 80 GB x 0.95.
    assert checked["memory"] == ("~35.2 GiB per GPU (weights 32.85 + KV cache 0.31 + runtime 2.0) "
                                 "of 70.8 GiB")
    assert checked["context limit"] == "131072 tokens (asked 4096)"


def test_gated_config_is_closed_but_parameters_still_check_memory(tuna, fake, hub):
    fake.secrets.add("hf_access_token")
    done = tuna(*deploy("meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4", "--no-wait",
                        "--json"))
    assert done.code == 0, done.stderr
    report = done.json()["model_check"]
    assert report["checked"]["parameters"] == "8.03 B"
    assert "KV cache unknown" in report["checked"]["memory"]
    assert "its config.json is gated; set HF_TOKEN" in report["not_checked"][0]
    # With a local token the config opens, and the context limit is checked too.
    assert tuna("destroy", "--service-name", "llama-3-1-8b-instruct").code == 0
    opened = tuna(*deploy("meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4", "--no-wait",
                          "--json"), env={"HF_TOKEN": hub.token})
    assert opened.json()["model_check"]["checked"]["context limit"].startswith("131072")


def test_quantization_matching_the_checkpoint_is_accepted(tuna, fake):
    done = tuna(*deploy("Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu", "L4", "--quantization",
                        "awq_marlin", "--no-wait"))
    assert done.code == 0, done.stderr


def test_an_unreachable_hub_stops_the_deploy_unless_the_check_is_skipped(tuna, fake):
    # Unchecked, a 70B model on one L4 would start a paid build.
    gone = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    done = tuna(*deploy("meta-llama/Llama-3.1-70B-Instruct", "--gpu", "L4", "--no-wait"),
                env=gone)
    assert done.code == 1
    assert ("the model was not checked: the Hugging Face Hub did not answer" in done.stderr
            and "nothing was deployed" in done.stderr and "--skip-model-check" in done.stderr)
    assert nothing_created(fake, tuna)
    skipped = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait", "--skip-model-check"),
                   env=gone)
    assert skipped.code == 0 and fake.model_named("qwen3-0-6b") is not None


def test_skip_model_check_reads_nothing_from_the_hub(tuna, fake, hub):
    done = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait", "--skip-model-check"))
    assert done.code == 0, done.stderr
    assert hub.requests == [] and "Model not checked (--skip-model-check)" in done.stdout


def test_a_dry_run_checks_the_model_when_the_hub_answers(tuna, hub):
    done = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "out"))
    assert done.code == 0, done.stderr
    assert hub.requests and "Model checked: architecture Qwen3ForCausalLM" in done.stdout
    too_big = tuna(*deploy("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "L4", "--dry-run",
                           "big"), env={"HF_TOKEN": hub.token})
    assert too_big.code == 2 and "does not fit" in too_big.stderr
    offline = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "off"),
                   env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.code == 0, offline.stderr
    assert ("the model was not checked: the Hugging Face Hub did not answer" in offline.stdout
            and "`tuna check --model Qwen/Qwen3-0.6B --gpu L4` tries again" in offline.stdout)
    asked = len(hub.requests)
    skipped = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "skip",
                           "--skip-model-check"))
    assert skipped.code == 0 and len(hub.requests) == asked


def test_check_runs_the_model_check_alone(tuna, fake, hub):
    done = tuna("check", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--json")
    assert done.code == 0, done.stderr
    names = [c["name"] for c in done.json()["checks"]]
    assert {"context limit", "attention heads", "parameters", "memory"} <= set(names)
    assert fake.requests == []  # the model alone: no provider account needed
    refused = tuna("check", "--model", "meta-llama/Llama-3.3-70B-Instruct", "--gpu", "L4",
                   "--json")
    # A refusal is a failed check, in JSON like an account's, with the next step.
    assert refused.code == 1
    (model,) = refused.json()["checks"]
    assert model["name"] == "model" and not model["ok"] and "does not fit" in model["detail"]
    assert model["fix"]
    offline = tuna("check", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--json",
                   env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.code == 1
    (hub_check,) = offline.json()["checks"]
    assert hub_check["name"] == "Hub" and "HF_ENDPOINT (now http://127.0.0.1:9)" in hub_check["fix"]


def test_deploy_summary_shows_what_was_checked(tuna, fake):
    done = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4"))
    assert done.code == 0, done.stderr
    assert ("Model checked: architecture Qwen3ForCausalLM, loaded by vLLM 0.15.1; context limit "
            "40960 tokens (asked 4096)") in done.stdout
    assert "parameters 0.75 B" in done.stdout and "dtype bfloat16" in done.stdout


# The estimate and the limits, as functions ------------------------------------------------------

def facts(model: str, **changes) -> model_check.ModelFacts:
    spec = MODELS[model]
    return model_check.ModelFacts(model, "main", "sha", bool(spec["gated"]), spec["parameters"],
                                  {**spec["config"], **changes})


def test_memory_estimate_formula():
    request = DeployRequest("Qwen/Qwen3-0.6B", "L4", max_model_len=40960)
    estimate = model_check.estimate_memory(facts("Qwen/Qwen3-0.6B"), request, 24)
    assert estimate.weights == 751_632_384 * 2
    assert estimate.kv_cache == 2 * 28 * 8 * 128 * 2 * 40960  # K and V, layers, KV heads, dim
    assert estimate.overhead == 2 * 2**30 and estimate.available == 24e9 * 0.95
    split = model_check.estimate_memory(facts("Qwen/Qwen3-0.6B"),
                                        DeployRequest("Qwen/Qwen3-0.6B", "L4", tp_size=2), 24)
    assert split.weights == estimate.weights / 2 and split.kv_cache == 2 * 28 * 4 * 128 * 2 * 4096


@pytest.mark.parametrize("scaling, limit", [
    (None, 32768),
    ({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}, 131072),
    ({"rope_type": "linear", "factor": 2.0}, 65536),
    ({"rope_type": "llama3", "factor": 8.0}, 32768),  # already counted in the length
])
def test_context_limit_follows_vllm(scaling, limit):
    config = {"max_position_embeddings": 32768, "rope_scaling": scaling}
    assert model_check.context_limit(config) == limit
