"""The model check against the vLLM that will serve it, through the real CLI and truss against the
loopback Hub and providers: what the release cannot load is refused before anything remote, and
the weights served are the commit that was checked."""

from __future__ import annotations

from tests.fake_hub import FakeHub
from tests.test_model_check import deploy, nothing_created


def pushed_config(fake, name: str) -> dict:
    return next(iter(fake.model_named(name).deployments.values())).config


def test_an_architecture_the_default_vllm_cannot_load_is_refused_with_the_flag(tuna, fake):
    done = tuna(*deploy("Qwen/Qwen3.5-4B", "--gpu", "L4"))
    assert done.code == 2, done.stderr
    assert done.stderr.strip() == (
        "tuna: error: --model: Qwen/Qwen3.5-4B is Qwen3_5ForConditionalGeneration, which vLLM "
        "0.15.1 cannot load; vLLM 0.27.1 is the oldest tuna tracks that can: add --vllm-version "
        "0.27.1")
    assert nothing_created(fake, tuna)


def test_the_named_release_serves_it_in_basetens_cuda_12_build(tuna, fake):
    done = tuna(*deploy("Qwen/Qwen3.5-4B", "--gpu", "L4", "--vllm-version", "0.27.1", "--no-wait"))
    assert done.code == 0, done.stderr
    assert "architecture Qwen3_5ForConditionalGeneration, loaded by vLLM 0.27.1" in done.stdout
    config = pushed_config(fake, "qwen3-5-4b")
    assert config["base_image"]["image"] == "vllm/vllm-openai:v0.27.1-cu129"


def test_an_architecture_no_release_knows_is_refused_unless_the_check_is_skipped(tuna, fake):
    done = tuna(*deploy("acme/Mystery-1B", "--gpu", "L4"))
    assert done.code == 2
    assert "an architecture no vLLM tuna tracks (0.15.1 to 0.34.0) can load" in done.stderr
    assert nothing_created(fake, tuna)
    skipped = tuna(*deploy("acme/Mystery-1B", "--gpu", "L4", "--no-wait", "--skip-model-check"))
    assert skipped.code == 0, skipped.stderr


def test_a_custom_image_is_said_to_be_unchecked(tuna, fake):
    done = tuna(*deploy("Qwen/Qwen3.5-4B", "--gpu", "L4", "--image", "acme/vllm:nightly",
                        "--no-wait", "--json"))
    assert done.code == 0, done.stderr
    report = done.json()["model_check"]
    assert ("architecture Qwen3_5ForConditionalGeneration: the vLLM in a custom --image is "
            "unknown; add --vllm-version to check it") in report["not_checked"]
    assert done.json()["summary"]["vllm"] == "unknown (a custom image)"


def test_a_provider_that_serves_only_older_releases_says_so(tuna, runpod):
    done = tuna("deploy", "--model", "LiquidAI/LFM3-1B", "--gpu", "L4",
                "--serverless-provider", "runpod")
    assert done.code == 2
    assert ("which vLLM 0.27.1 cannot load; vLLM 0.34.0 can, but runpod serves only 0.27.1: "
            "choose another --serverless-provider") in done.stderr
    assert runpod.endpoints == {}


def test_the_weights_served_are_the_commit_checked(tuna, fake, state_dir):
    from tuna.state import StateStore

    sha = FakeHub.sha("Qwen/Qwen3-0.6B")
    done = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--no-wait", "--json"))
    assert done.code == 0, done.stderr
    assert pushed_config(fake, "qwen3-0-6b")["weights"][0]["source"] == f"hf://Qwen/Qwen3-0.6B@{sha}"
    assert done.json()["summary"]["model"].startswith(f"Qwen/Qwen3-0.6B@{sha}")
    assert StateStore(state_dir).get("qwen3-0-6b").request.revision == sha
    # A dry run shows the commit it checked; without the check, what a deploy will pin.
    dry = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "out"))
    assert f"Qwen/Qwen3-0.6B@{sha}; Baseten weight cache" in dry.stdout
    unchecked = tuna(*deploy("Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "out2",
                             "--skip-model-check"))
    assert "Qwen/Qwen3-0.6B@main (a deploy pins the commit its model check reads)" in \
        unchecked.stdout
