"""`tuna benchmark` through the real CLI against a deployed service: the Baseten fake's model
answers from a loopback OpenAI-compatible server (tests/fake_openai.py) told how slow to be, so
every number the commands print is checked against what it was told."""

from __future__ import annotations

import pytest

from tests.conftest import API_KEY
from tests.fake_openai import BackgroundLoop, FakeOpenAI

NAME = "qwen3-0-6b"
DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
          "baseten")


@pytest.fixture
def model(fake):
    """The model's OpenAI route on the host truss reports for it; its replica count follows
    what the fake server says (WAKING_UP, ACTIVE, SCALED_TO_ZERO) as Baseten's would."""
    loop = BackgroundLoop()
    server = loop.run(FakeOpenAI(prefix="/environments/production/sync").start())
    server.behaviour.authorization = f"Api-Key {API_KEY}"
    fake.hostname = server.url

    def platform_says(word: str) -> None:
        found = fake.model_named(NAME)
        deployment = found.deployments[found.production_id]
        deployment.script, deployment.reads = [word], 0

    server.on_status = platform_says
    yield server
    loop.run(server.stop())
    loop.close()


def test_a_load_test_reports_what_the_server_was_told_to_do(tuna, model):
    assert tuna(*DEPLOY).code == 0
    model.behaviour.events = 10
    model.behaviour.first_token_delay_s = 0.05
    model.behaviour.token_delay_s = 0.01
    model.behaviour.fail_every = 4
    done = tuna("benchmark", "load-test", NAME, "--concurrency", "4", "--requests", "20",
                "--max-tokens", "10", "--prompt-tokens", "32", "--json")
    assert done.code == 0, done.stderr
    found = done.json()
    assert (found["requests"], found["completed"], found["errors"]) == (20, 15, {"http_503": 5})
    assert found["output_tokens"] == 150  # the usage the stream reported: 10 per answer
    assert 0.05 <= found["ttft_s"]["p50"] < 0.2
    assert 0.01 <= found["inter_token_s"]["p50"] < 0.05
    assert found["latency_s"]["p50"] >= 0.05 + 9 * 0.01
    assert found["output_tokens_per_s"] == pytest.approx(150 / found["duration_s"])
    assert found["price_per_hour"] == 0.85  # one L4 replica at the catalog's price
    assert found["usd_per_million_output_tokens"] == pytest.approx(
        0.85 * found["duration_s"] / 3600 / 150 * 1e6)
    prompt = model.seen[-1]["body"]["messages"][0]["content"]
    assert len(prompt.split()) == 32 and model.seen[-1]["body"]["max_tokens"] == 10
    assert API_KEY not in done.stdout + done.stderr
    shown = tuna("benchmark", "show", NAME, "--json")
    assert [result["kind"] for result in shown.json()] == ["load-test"]
    text = tuna("benchmark", "show", NAME).stdout
    assert "load-test" in text and "req/s" in text


def test_a_cold_start_of_half_a_second_reads_as_half_a_second(tuna, model):
    assert tuna(*DEPLOY).code == 0
    model.behaviour.cold_start_s = 0.5
    model.behaviour.idle_to_zero_s = 0.4  # as a scale-down delay: ACTIVE for a while
    model.to_zero()
    done = tuna("benchmark", "cold-start", NAME, "--runs", "2", "--json")
    assert done.code == 0, done.stderr
    found = done.json()
    assert found["runs"] == 2 and found["errors"] == []
    assert 0.5 <= found["ttft_s"]["min"] <= found["ttft_s"]["max"] < 0.9
    for run in found["per_run"]:
        words = [step["status"] for step in run["provider_timeline"]]
        assert words[:1] in (["SCALED_TO_ZERO"], ["WAKING_UP"]) and "ACTIVE" in words
        waking = next(s for s in run["provider_timeline"] if s["status"] == "ACTIVE")
        assert waking["at_s"] >= 0.4  # Baseten said ACTIVE once the replica was up
    assert len(model.seen) == 2  # one request per run, nothing kept running


def test_benchmarks_refuse_what_they_cannot_measure(tuna, fake, model):
    assert tuna(*DEPLOY, "--min-replicas", "1").code == 0
    warm = tuna("benchmark", "cold-start", NAME)
    assert warm.code == 2 and "never starts cold" in warm.stderr
    neither = tuna("benchmark", "load-test", NAME)
    assert neither.code == 2 and "--requests N or --duration D" in neither.stderr
    keyless = tuna("benchmark", "load-test", NAME, "--requests", "1",
                   env={"BASETEN_API_KEY": ""})
    assert keyless.code in (1, 2) and "BASETEN_API_KEY" in keyless.stderr
    model.behaviour.status = 500
    failing = tuna("benchmark", "load-test", NAME, "--requests", "3")
    assert failing.code == 1 and "http_500 3" in failing.stderr
    assert tuna("benchmark", "show", "nothing-here").code == 2


def test_a_service_still_deploying_is_not_benchmarked(tuna, fake, model):
    fake.script = ("BUILDING",)
    assert tuna(*DEPLOY, "--no-wait").code == 0
    done = tuna("benchmark", "load-test", NAME, "--requests", "1")
    assert done.code == 1 and "not ready to serve" in done.stderr and model.seen == []


@pytest.fixture
def served():
    loop = BackgroundLoop()
    servers = []

    def start(**options) -> FakeOpenAI:
        server = loop.run(FakeOpenAI(**options).start())
        servers.append(server)
        return server

    yield start
    for server in servers:
        loop.run(server.stop())
    loop.close()


@pytest.mark.parametrize("provider", ["runpod", "modal", "cloudrun"])
def test_a_load_test_runs_on_every_providers_fake(tuna, served, runpod, monkeypatch, provider):
    """Each platform's OpenAI route, as its provider records it, answered by the loopback server
    (RunPod: /v2/{endpoint}/openai/v1 on its serverless host; Modal and Cloud Run: /v1 on the
    web URL the platform reports)."""
    from tests import fake_cloudrun, fake_modal

    env, extra = {}, ()
    if provider == "runpod":
        server = served(prefix="/v2/{endpoint}/openai")
        server.behaviour.authorization = f"Bearer {runpod.api_key}"
        env = {"RUNPOD_SERVERLESS_URL": f"{server.url}/v2"}
    else:
        server = served()
        extra = ("--public",) + (("--gcp-project", "tuna-test") if provider == "cloudrun" else ())
        owner = fake_modal.Function if provider == "modal" else fake_cloudrun.Service
        monkeypatch.setattr(owner, "web_url" if provider == "modal" else "uri",
                            property(lambda _self: server.url))
    deployed = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4",
                    "--serverless-provider", provider, *extra, env=env)
    assert deployed.code == 0, deployed.stderr
    done = tuna("benchmark", "load-test", NAME, "--concurrency", "2", "--requests", "6",
                "--json", env=env)
    assert done.code == 0, done.stderr
    found = done.json()
    assert (found["completed"], found["output_tokens"]) == (6, 30) and len(server.seen) == 6
    assert found["price_per_hour"] > 0 and found["usd_per_million_output_tokens"] > 0


def _runpod_says(runpod):
    workers = {"SCALED_TO_ZERO": (), "WAKING_UP": ("INITIALIZING",), "ACTIVE": ("RUNNING",)}

    from tuna.providers.runpod.render import endpoint_name

    def say(word: str) -> None:
        endpoint = runpod.endpoint_named(endpoint_name(NAME))
        endpoint.script, endpoint.reads = [(workers[word], 0)], 0
    return say


def _modal_says(modal_fake):
    def say(word: str) -> None:
        (app,) = [a for a in modal_fake.apps.values() if a.name == NAME]
        for function in app.functions.values():
            function.runners = 1 if word == "ACTIVE" else 0
    return say


@pytest.mark.parametrize("provider", ["runpod", "modal"])
def test_a_cold_start_on_runpod_and_modal_reads_what_the_platform_was_told(
        tuna, served, runpod, modal_fake, monkeypatch, provider):
    from tests import fake_modal

    server = served(prefix="/v2/{endpoint}/openai" if provider == "runpod" else "")
    env, extra = {}, ()
    if provider == "runpod":
        server.behaviour.authorization = f"Bearer {runpod.api_key}"
        env = {"RUNPOD_SERVERLESS_URL": f"{server.url}/v2"}
        server.on_status = _runpod_says(runpod)
    else:
        extra = ("--public",)
        monkeypatch.setattr(fake_modal.Function, "web_url", property(lambda _self: server.url))
        server.on_status = _modal_says(modal_fake)
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                provider, *extra, env=env).code == 0
    server.behaviour.cold_start_s, server.behaviour.idle_to_zero_s = 0.4, 0.4
    server.to_zero()
    done = tuna("benchmark", "cold-start", NAME, "--runs", "1", "--json", env=env)
    assert done.code == 0, done.stderr
    found = done.json()
    assert 0.4 <= found["ttft_s"]["min"] < 0.8
    steps = found["per_run"][0]["provider_timeline"]
    # The platform's word changed once the replica was up (RunPod bills a starting worker,
    # so its count is 1 from the start; Modal counts runners only).
    assert steps[0]["status"] != steps[-1]["status"] and steps[-1]["replicas"] >= 1
    assert steps[-1]["at_s"] >= 0.35


def test_a_provider_that_does_not_count_replicas_is_refused_a_cold_start(tuna, served,
                                                                         monkeypatch):
    from tests import fake_cloudrun

    server = served()
    monkeypatch.setattr(fake_cloudrun.Service, "uri", property(lambda _self: server.url))
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "cloudrun", "--public", "--gcp-project", "tuna-test").code == 0
    done = tuna("benchmark", "cold-start", NAME)
    assert done.code == 1 and "does not report replica counts" in done.stderr
    assert server.seen == []
