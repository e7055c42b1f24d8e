"""Hybrid services end to end on loopback: the real tuna CLI deploys the serverless leg with the
real `truss push` against the Baseten fake and the spot fleet with the real SkyPilot client
against the API-server stand-in, whose endpoint is a fake vLLM; the router (the code `tuna router
serve` runs) answers an OpenAI client, survives a preemption, and `tuna destroy` leaves every
record true."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
import yaml

from tests.conftest import API_KEY
from tests.fake_openai import BackgroundLoop, FakeOpenAI
from tests.fake_skypilot import FakeSkyPilot

NAME = "qwen3-0-6b"
DEPLOY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
          "baseten", "--hybrid")


@pytest.fixture
def skypilot():
    fake = FakeSkyPilot()
    yield fake
    fake.close()


@pytest.fixture
def legs(fake):
    """A fake vLLM behind the spot fleet's endpoint, and Baseten's OpenAI route for the model."""
    loop = BackgroundLoop()
    spot = loop.run(FakeOpenAI().start())
    serverless = loop.run(FakeOpenAI(prefix="/environments/production/sync").start())
    serverless.behaviour.authorization = f"Api-Key {API_KEY}"
    fake.hostname = serverless.url  # truss's predict_url names the model's host
    yield loop, spot, serverless
    loop.run(spot.stop())
    loop.run(serverless.stop())
    loop.close()


@pytest.fixture
def sky_env(skypilot, tmp_path):
    return {"SKYPILOT_API_SERVER_ENDPOINT": skypilot.url,
            "SKYPILOT_DISABLE_USAGE_COLLECTION": "1"}


def _records(state_dir) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(state_dir / "state.db") as db:
        return {name: (provider, status) for name, provider, status in db.execute(
            "SELECT service_name, provider, status FROM services ORDER BY id")}


def test_a_dry_run_renders_every_leg_validated_by_its_own_tool(tuna, tmp_path):
    done = tuna(*DEPLOY, "--spots-cloud", "aws,gcp", "--spot-max-replicas", "3",
                "--dry-run", "out", "--json")
    assert done.code == 0, done.stderr
    legs = {leg["service_name"]: leg for leg in done.json()["legs"]}
    assert set(legs) == {f"{NAME}-serverless", f"{NAME}-spot", f"{NAME}-router"}
    assert "truss" in legs[f"{NAME}-serverless"]["validated_by"]
    assert "SkyPilot 0.14.1" in legs[f"{NAME}-spot"]["validated_by"]
    spot = yaml.safe_load((tmp_path / "out" / "spot" / "spot.yaml").read_text())
    assert spot["service"]["replica_policy"]["max_replicas"] == 3
    assert [place["infra"] for place in spot["resources"]["any_of"]] == ["aws", "gcp"]
    assert spot["service"]["readiness_probe"]["path"] == "/health"
    router = yaml.safe_load((tmp_path / "out" / "router" / "router.yaml").read_text())
    assert router["secrets"] == {"TUNA_ROUTER_KEY": None, "TUNA_ROUTER_SPOT_KEY": None,
                                 "TUNA_ROUTER_SERVERLESS_HEADERS": None}
    assert API_KEY not in json.dumps(router) + json.dumps(spot)


@pytest.mark.parametrize("args, words", [
    (("--spots-cloud", "mars"), "--spots-cloud: expected some of aws"),
    (("--spot-min-replicas", "3", "--spot-max-replicas", "2"), "--spot-max-replicas"),
    (("--service-name", "a" * 55), "too long for a hybrid service"),
])
def test_bad_hybrid_input_is_one_line_and_creates_nothing(tuna, fake, state_dir, sky_env, args,
                                                          words):
    done = tuna(*DEPLOY, *args, env=sky_env)
    assert done.code == 2 and words in done.stderr and "Traceback" not in done.stderr
    assert not fake.pushed and not (state_dir / "state.db").exists() or not _records(state_dir)


def test_hybrid_flags_without_hybrid_and_the_spot_plugin_alone_are_refused(tuna):
    alone = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--spots-cloud", "aws",
                 "--dry-run", "x")
    assert alone.code == 2 and "--spots-cloud sets the spot fleet" in alone.stderr
    router = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--router", "local",
                  "--dry-run", "x")
    assert router.code == 2 and "--router goes with --hybrid" in router.stderr
    spot = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "skyserve", "--dry-run", "x")
    assert spot.code == 2 and "runs the spot fleet of a hybrid service" in spot.stderr


def test_a_private_modal_leg_is_refused_before_anything_exists(tuna, state_dir, sky_env,
                                                               modal_fake):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "modal", "--hybrid", env=sky_env)
    assert done.code == 2 and "`--public` serves it" in done.stderr
    assert not (state_dir / "state.db").exists() or not _records(state_dir)


def test_an_unreachable_skypilot_server_stops_the_deploy_before_anything_exists(tuna, fake,
                                                                                  state_dir):
    from tests.test_router import _free_port

    done = tuna(*DEPLOY, env={"SKYPILOT_API_SERVER_ENDPOINT": f"http://127.0.0.1:{_free_port()}"})
    assert done.code == 1 and "SkyPilot API server" in done.stderr
    assert not fake.pushed and (not (state_dir / "state.db").exists() or not _records(state_dir))


def test_end_to_end_local_router_with_a_preemption_then_destroy(tuna, tuna_env, fake, skypilot,
                                                                legs, sky_env, state_dir,
                                                                monkeypatch, tmp_path):
    _loop, spot, serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    done = tuna(*DEPLOY, "--router", "local", "--min-replicas", "1", "--spot-max-replicas", "2",
                env=sky_env)
    assert done.code == 0, done.stderr
    assert "tuna router serve qwen3-0-6b" in done.stdout
    assert _records(state_dir) == {NAME: ("hybrid", "active"),
                                   f"{NAME}-serverless": ("baseten", "active"),
                                   f"{NAME}-spot": ("skyserve", "active")}
    # The router as users start it: `tuna router serve NAME`, from the state and the key files.
    from tuna import keys

    monkeypatch.setenv("TUNA_STATE_DIR", str(state_dir))
    spot.behaviour.key = keys.read(f"{NAME}-spot")  # vLLM on the replicas holds the same key
    router_key = keys.read(f"{NAME}-router")
    with _router_serve(tuna_env, sky_env, tmp_path) as url:
        import openai

        client = openai.OpenAI(base_url=f"{url}/v1", api_key=router_key, max_retries=0)
        chat = {"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "Hi"}]}
        first = client.chat.completions.create(**chat)  # spot not known yet: serverless
        assert first.choices[0].message.content and len(serverless.seen) == 1
        _until(lambda: _health(url)["spot_ready"])  # that request had the router probe spot
        answer = client.chat.completions.create(**chat)
        assert answer.choices[0].message.content.startswith("w0") and len(spot.seen) == 1
        stream = client.chat.completions.create(**chat, stream=True)
        assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == \
            "w0 w1 w2 w3 w4 "
        # Preemption: the replica is gone while the load balancer still lists it.
        spot.behaviour.status = spot.behaviour.metrics_status = 503
        answer = client.chat.completions.create(**chat)
        assert answer.choices[0].message.content and len(serverless.seen) == 2
        assert serverless.seen[-1]["headers"]["Authorization"] == f"Api-Key {API_KEY}"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()

    status = tuna("status", NAME, "--json", env=sky_env)
    assert status.code == 0, status.stderr
    assert set(status.json()["legs"]) == {"serverless", "spot"}
    destroyed = tuna("destroy", NAME, "--yes", env=sky_env)
    assert destroyed.code == 0, destroyed.stderr
    assert {status for _, status in _records(state_dir).values()} == {"destroyed"}
    assert not skypilot.services and fake.model_named(f"{NAME}-serverless") is None
    assert keys.read(f"{NAME}-spot") is None and keys.read(f"{NAME}-router") is None


def _until(condition, seconds: float = 20) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def _health(url: str) -> dict:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/router/health", timeout=2) as answer:
            return json.loads(answer.read())
    except OSError:
        return {}


@contextlib.contextmanager
def _router_serve(tuna_env, sky_env, cwd):
    import signal
    import subprocess
    import sys

    from tests.test_router import _free_port

    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "tuna", "router", "serve", NAME, "--port",
                                str(port)], env={**tuna_env, **sky_env}, cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: process.poll() is not None or bool(_health(url)))
        assert process.poll() is None, process.communicate()
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in err, err
    assert f"Router for {NAME} on {url}/v1" in out


def test_a_skyserve_router_gets_its_keys_as_secrets_and_the_state_holds_none(
        tuna, fake, skypilot, legs, sky_env, state_dir):
    _loop, spot, _serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    skypilot.endpoints[f"{NAME}-router"] = "http://127.0.0.1:30002"
    done = tuna(*DEPLOY, "--min-replicas", "1", "--json", env=sky_env)
    assert done.code == 0, done.stderr
    assert done.stdout.startswith("{"), done.stdout  # one JSON document, nothing else
    assert done.json()["endpoint_url"] == "http://127.0.0.1:30002/v1"
    sent = list(yaml.safe_load_all(skypilot.services[f"{NAME}-router"].task))[-1]
    secrets = sent["secrets"]
    assert json.loads(secrets["TUNA_ROUTER_SERVERLESS_HEADERS"]) == {
        "Authorization": f"Api-Key {API_KEY}"}
    assert sent["envs"]["TUNA_ROUTER_SPOT_URL"] == spot.url
    # The router's code travels with the task (SkyPilot zips its file mounts to the server).
    import io
    import zipfile

    (archive,) = skypilot.uploaded.values()
    assert any(name.endswith("tuna/router/app.py")
               for name in zipfile.ZipFile(io.BytesIO(archive)).namelist())
    state = (state_dir / "state.db").read_bytes()
    for value in (secrets["TUNA_ROUTER_KEY"], secrets["TUNA_ROUTER_SPOT_KEY"], API_KEY):
        assert value.encode() not in state and value not in done.stdout + done.stderr
    remote = tuna("list", "--remote", "--json", env=sky_env).json()
    assert "skyserve" in remote["searched"]
    assert {(s["service_name"], s["tracked"]) for s in remote["services"]
            if s["provider"] == "skyserve"} == {(f"{NAME}-spot", True), (f"{NAME}-router", True)}
    assert tuna("destroy", NAME, "--yes", env=sky_env).code == 0
    assert not skypilot.services


def test_another_skypilot_server_never_writes_a_leg_off(tuna, fake, skypilot, legs, sky_env,
                                                        state_dir):
    _loop, spot, _serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    assert tuna(*DEPLOY, "--router", "local", "--min-replicas", "1", env=sky_env).code == 0
    other = FakeSkyPilot(user="bob")
    try:
        done = tuna("destroy", NAME, "--yes", env={**sky_env,
                                                    "SKYPILOT_API_SERVER_ENDPOINT": other.url})
    finally:
        other.close()
    assert done.code == 1 and "nothing is written off" in done.stderr
    records = _records(state_dir)
    assert records[f"{NAME}-spot"] == ("skyserve", "active") and records[NAME][1] != "destroyed"
    assert f"{NAME}-spot" in skypilot.services
    assert tuna("destroy", NAME, "--yes", env=sky_env).code == 0  # from its own server: gone
    assert not skypilot.services


AWS_CATALOG = """InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone
g6.xlarge,L4,1.0,4.0,16.0,"{'Gpus': [{'Name': 'L4', 'Count': 1, 'MemoryInfo': {'SizeInMiB': 22888}}]}",0.8048,0.3921,us-east-1,use1-az1
g6.xlarge,L4,1.0,4.0,16.0,"{'Gpus': [{'Name': 'L4', 'Count': 1, 'MemoryInfo': {'SizeInMiB': 22888}}]}",0.8048,0.4102,us-west-2,usw2-az1
g6.12xlarge,L4,4.0,48.0,192.0,"{'Gpus': [{'Name': 'L4', 'Count': 4, 'MemoryInfo': {'SizeInMiB': 22888}}]}",4.6016,1.9812,us-east-1,use1-az1
"""


def test_spot_prices_come_from_skypilots_catalog_or_say_why_not(tuna, tmp_path):
    """A catalog on this machine (in SkyPilot's CSV format, where SkyPilot keeps it) is read; one
    that is not, and cannot be fetched (the proxies point at a closed port), is said so."""
    from tests.test_router import _free_port

    catalogs = tmp_path / "home" / ".sky" / "catalogs" / "v8" / "aws"
    catalogs.mkdir(parents=True)
    (catalogs / "vms.csv").write_text(AWS_CATALOG)
    closed = f"http://127.0.0.1:{_free_port()}"
    offline = {"HTTPS_PROXY": closed, "HTTP_PROXY": closed, "https_proxy": closed,
               "http_proxy": closed}
    done = tuna("show-gpus", "--spot", "--gpu", "l4", "--spots-cloud", "aws,gcp", "--json",
                env=offline)
    assert done.code == 0, done.stderr
    found = done.json()
    assert [(o["instance_type"], o["gpus"], o["spot_per_hour"], o["region"])
            for o in found["spot"]["skyserve"]] == [("g6.xlarge", 1, 0.3921, "us-east-1"),
                                                    ("g6.12xlarge", 4, 1.9812, "us-east-1")]
    assert "gcp catalog is not on this machine" in found["unavailable"]["skyserve gcp"]
    none = tuna("show-gpus", "--spot", "--gpu", "L4", "--spots-cloud", "gcp", env=offline)
    assert none.code == 1 and "could not be fetched" in none.stdout
    assert tuna("show-gpus", "--spot").code == 2  # which GPU?


def test_ctrl_c_during_the_spot_launch_leaves_records_destroy_follows(tuna_env, tuna, fake,
                                                                      skypilot, sky_env,
                                                                      state_dir, tmp_path):
    import signal
    import subprocess
    import sys
    import threading
    import time

    skypilot.hold_up = threading.Event()
    process = subprocess.Popen([sys.executable, "-m", "tuna", *DEPLOY, "--router", "local"],
                               env={**tuna_env, **sky_env}, cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while "up" not in skypilot.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "up" in skypilot.calls, "tuna never reached sky serve up"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    skypilot.hold_up.set()  # the launch goes on server-side, as SkyPilot's would
    assert process.returncode == 130 and "Traceback" not in stderr
    assert f"`tuna destroy {NAME}` removes them all" in stderr
    records = _records(state_dir)
    assert records[f"{NAME}-spot"][0] == "skyserve"  # recorded before `sky serve up`
    assert records[NAME][1] != "destroyed"
    for _ in range(100):  # the held launch completes on the stand-in
        if f"{NAME}-spot" in skypilot.services:
            break
        time.sleep(0.02)
    done = tuna("destroy", NAME, "--yes", env=sky_env)
    assert done.code == 0, done.stderr
    assert {status for _, status in _records(state_dir).values()} == {"destroyed"}
    assert not skypilot.services and fake.model_named(f"{NAME}-serverless") is None


@pytest.mark.parametrize("provider, extra", [("runpod", ()), ("modal", ("--public",)),
                                             ("cloudrun", ("--public", "--gcp-project", "p"))])
def test_every_serverless_provider_renders_as_a_hybrid_leg(tuna, tmp_path, provider, extra):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--hybrid",
                "--serverless-provider", provider, *extra, "--dry-run", "out", "--json")
    assert done.code == 0, done.stderr
    providers = [leg["provider"] for leg in done.json()["legs"]]
    assert providers == [provider, "skyserve", "skyserve"]


def test_an_update_rolls_both_legs_behind_the_same_endpoints(tuna, fake, skypilot, legs, sky_env,
                                                             state_dir):
    _loop, spot, _serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    assert tuna(*DEPLOY, "--router", "local", "--min-replicas", "1", env=sky_env).code == 0
    model = fake.model_named(f"{NAME}-serverless")
    before = set(model.deployments)
    moved = tuna(*DEPLOY, "--router", "skyserve", "--update", env=sky_env)
    assert moved.code == 2 and "cannot move it" in moved.stderr
    done = tuna(*DEPLOY, "--router", "local", "--min-replicas", "1", "--spot-max-replicas", "3",
                "--max-model-len", "8192", "--update", env=sky_env)
    assert done.code == 0, done.stderr
    assert set(fake.model_named(f"{NAME}-serverless").deployments) > before  # a new deployment
    service = skypilot.services[f"{NAME}-spot"]
    assert service.version == 2 and "--max-model-len 8192" in service.task
    assert "max_replicas: 3" in service.task
    status = tuna("status", NAME, "--json", env=sky_env).json()
    assert status["status"] == "active" and status["hybrid"]["spot_max_replicas"] == 3
    assert tuna("destroy", NAME, "--yes", env=sky_env).code == 0


def test_cost_splits_the_legs_and_the_fleets_on_demand_fallback(state_dir, monkeypatch):
    """Observations as status records them; the estimate integrates each leg's."""
    from tuna.hybrid import manage
    from tuna.lifecycle import StatusReport
    from tuna.models import DeployRequest, Record, Status
    from tuna.state import StateStore

    store = StateStore(state_dir)
    request = DeployRequest("Qwen/Qwen3-0.6B", "L4", service_name=NAME)
    parent = store.create(Record(NAME, "hybrid", Status.ACTIVE, request,
                                 hybrid={"serverless_provider": "baseten"}))
    legs = {}
    for leg, provider in (("serverless", "baseten"), ("spot", "skyserve")):
        legs[leg] = store.create(Record(f"{NAME}-{leg}", provider, Status.ACTIVE, request,
                                        parent_id=parent.id))
    start = legs["spot"].created_at
    store.observe(legs["serverless"], 1, 0.85, at=start)
    store.observe(legs["spot"], 2, None, at=start, on_demand_replicas=0)
    store.observe(legs["spot"], 2, None, at=start + 1800, on_demand_replicas=1)  # a preemption
    monkeypatch.setattr("time.time", lambda: start + 3600)
    reports = {leg: StatusReport(store.get(record.service_name), None)
               for leg, record in legs.items()}
    found = manage.cost(store, manage.HybridStatus(parent, reports))
    assert found.estimates["serverless"].estimated_usd == pytest.approx(0.85, rel=1e-3)
    hours, why = found.unpriced["spot"]
    assert hours == pytest.approx(2.0, rel=1e-3) and "SkyPilot" in why  # 2 replicas, 1 h
    assert found.on_demand_hours == pytest.approx(0.5, rel=1e-3)
    assert "0.50 of them on-demand fallback" in "\n".join(found.lines())


def test_a_load_test_through_the_hybrid_router(tuna, tuna_env, fake, skypilot, legs, sky_env,
                                               state_dir, tmp_path, monkeypatch):
    from tuna import keys

    _loop, spot, serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    assert tuna(*DEPLOY, "--router", "local", "--min-replicas", "1", env=sky_env).code == 0
    monkeypatch.setenv("TUNA_STATE_DIR", str(state_dir))
    spot.behaviour.key = keys.read(f"{NAME}-spot")
    refused = tuna("benchmark", "load-test", NAME, "--requests", "4", env=sky_env)
    assert refused.code == 2 and "tuna router serve" in refused.stderr  # where is the router?
    with _router_serve(tuna_env, sky_env, tmp_path) as url:
        done = tuna("benchmark", "load-test", NAME, "--requests", "12", "--concurrency", "3",
                    "--url", f"{url}/v1", "--json", env=sky_env)
    assert done.code == 0, done.stderr
    found = done.json()
    assert found["completed"] == 12 and len(spot.seen) + len(serverless.seen) == 12
    assert found["usd_per_million_output_tokens"] is None  # the spot leg's price is SkyPilot's
    assert "no price for skyserve" in found["price_note"]


def test_a_cold_start_of_a_hybrid_service_at_zero_on_both_legs(tuna, tuna_env, fake, skypilot,
                                                               legs, sky_env, state_dir,
                                                               tmp_path, monkeypatch):
    from tuna import keys

    _loop, spot, serverless = legs
    skypilot.endpoints[f"{NAME}-spot"] = spot.url
    skypilot.script = ["CONTROLLER_INIT", "NO_REPLICA"]  # the fleet at zero
    spot.behaviour.status = spot.behaviour.metrics_status = 503  # its balancer: no replica
    assert tuna(*DEPLOY, "--router", "local", env=sky_env).code == 0

    def baseten_says(word: str) -> None:
        found = fake.model_named(f"{NAME}-serverless")
        deployment = found.deployments[found.production_id]
        deployment.script, deployment.reads = [word], 0

    serverless.on_status = baseten_says
    serverless.behaviour.cold_start_s, serverless.behaviour.idle_to_zero_s = 0.4, 0.4
    serverless.to_zero()
    monkeypatch.setenv("TUNA_STATE_DIR", str(state_dir))
    with _router_serve(tuna_env, sky_env, tmp_path) as url:
        done = tuna("benchmark", "cold-start", NAME, "--runs", "1", "--url", f"{url}/v1",
                    "--json", env=sky_env)
    assert done.code == 0, done.stderr
    found = done.json()
    assert 0.4 <= found["ttft_s"]["min"] < 0.9 and spot.seen == []
    words = [step["status"] for step in found["per_run"][0]["provider_timeline"]]
    assert words[-1].startswith("serverless:ACTIVE") and "spot:SCALED_TO_ZERO" in words[-1]
    assert keys.read(f"{NAME}-router")  # the router's key, from its file: never printed
    assert keys.read(f"{NAME}-router") not in done.stdout + done.stderr


def test_a_serverless_leg_refused_at_its_preflight_leaves_no_live_record(tuna, fake, skypilot,
                                                                         sky_env, state_dir):
    done = tuna(*DEPLOY, "--router", "local", env={**sky_env, "BASETEN_API_KEY": ""})
    assert done.code == 1 and "BASETEN_API_KEY" in done.stderr
    assert tuna("list", "--json").json() == [] and not fake.pushed and not skypilot.services
    # Refused by the model check, after the parent was written: it is written off, as nothing
    # remote exists.
    big = tuna("deploy", "--model", "meta-llama/Llama-3.3-70B-Instruct", "--gpu", "L4",
               "--serverless-provider", "baseten", "--hybrid", "--router", "local",
               "--hf-secret", "hf", env={**sky_env, "HF_TOKEN": "hf_test"})
    assert big.code in (1, 2) and "Traceback" not in big.stderr, big.stderr
    assert tuna("list", "--json").json() == [] and not fake.pushed and not skypilot.services
    assert [r["status"] for r in tuna("list", "--all", "--json").json()] == ["destroyed"]
