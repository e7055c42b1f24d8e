"""The spot fleet's and the router's SkyServe YAML, checked by SkyPilot's own parser and SkyServe's
own validation (`sky.Task.from_yaml_config`, `sky.serve.validate_service_task`)."""

from __future__ import annotations

import itertools

import pytest
import yaml

from tuna.errors import InvalidValue, TunaError
from tuna.models import DeployRequest, Scaling
from tuna.providers.skyserve import render, sky_client

# The stand-ins in these tests speak this release's wire format and run its load balancer.
SKYPILOT = "0.14.1"


def test_the_pinned_skypilot_is_the_one_installed():
    assert sky_client.version() == SKYPILOT


def _request(**changes) -> DeployRequest:
    return DeployRequest(**{"model": "Qwen/Qwen3-0.6B", "gpu": "L4", "service_name": "q-spot",
                            **changes})


FLEETS = [render.SpotFleet(), render.SpotFleet(clouds=("aws", "gcp"), fallback="dynamic"),
          render.SpotFleet(clouds=("aws",), regions=("us-east-1", "us-west-2"), fallback="base:1",
                           target_qps=0.5),
          render.SpotFleet(clouds=("gcp", "aws"), regions=("aws/us-east-1",))]
REQUESTS = [_request(), _request(tp_size=2, hf_secret="hf", vllm_version="0.34.0",
                                 scaling=Scaling(min_replicas=1, max_replicas=4)),
            _request(quantization="fp8", weights_gb=60.0, max_model_len=32768)]


@pytest.mark.parametrize("request_, fleet", list(itertools.product(REQUESTS, FLEETS)))
def test_every_spot_rendering_is_a_service_skyserve_accepts(request_, fleet):
    text = render.render_spot(request_, "L4", fleet)
    task = sky_client.task_from_yaml(text)
    service = task.service
    assert (service.min_replicas, service.max_replicas) == (request_.scaling.min_replicas,
                                                           request_.scaling.max_replicas)
    assert service.target_qps_per_replica == fleet.target_qps
    assert (service.base_ondemand_fallback_replicas or 0, bool(service.dynamic_ondemand_fallback)) \
        == fleet.fallback_fields()
    assert service.readiness_path == "/health"
    assert all(resources.use_spot for resources in task.resources)
    assert {str(r.accelerators) for r in task.resources} == {f"{{'L4': {request_.tp_size}}}"}
    places = yaml.safe_load(text)["resources"]["any_of"]
    assert len(places) == len(task.resources) >= 1
    assert f"--tensor-parallel-size {request_.tp_size}" in task.run
    assert '--api-key "$VLLM_API_KEY"' in task.run


def test_secret_values_never_enter_the_files():
    task = sky_client.task_from_yaml(render.render_spot(_request(hf_secret="hf"), "L4",
                                                        render.SpotFleet()),
                                     secrets={"VLLM_API_KEY": "s3cret-spot", "HF_TOKEN": "hf_x"})
    assert {name: value.get_secret_value() for name, value in task.secrets.items()} == {
        "VLLM_API_KEY": "s3cret-spot", "HF_TOKEN": "hf_x"}
    setup = render.RouterSetup("q-router", "http://10.0.0.1:30001", "https://x/v1", 32, 600)
    router = render.render_router(setup, "aws", "3.14.5")
    spot = render.render_spot(_request(hf_secret="hf"), "L4", render.SpotFleet())
    for text in (router, spot):
        assert "s3cret" not in text and "hf_x" not in text
    assert set(yaml.safe_load(router)["secrets"]) == set(render.ROUTER_SECRETS)


def test_the_router_is_one_on_demand_cpu_replica_skyserve_accepts():
    setup = render.RouterSetup("q-router", "http://10.0.0.1:30001",
                               "https://model-x.api.baseten.co/environments/production/sync/v1",
                               spot_cap=128, idle_s=600)
    task = sky_client.task_from_yaml(render.render_router(setup, "aws/us-east-1", "3.14.5"))
    assert task.service.readiness_path == "/router/health"
    assert task.service.min_replicas == 1 and task.service.max_replicas in (None, 1)  # fixed
    assert not any(r.use_spot or r.accelerators for r in task.resources)
    assert task.envs["TUNA_ROUTER_SPOT_CAP"] == "128"
    assert "python -m tuna.router" in task.run


def test_skyserves_own_words_when_it_refuses():
    broken = render.render_spot(_request(), "L4", render.SpotFleet()).replace(
        "min_replicas: 0", "min_replicas: 5")
    with pytest.raises(TunaError, match="SkyPilot refuses the service: max_replicas must be"):
        sky_client.task_from_yaml(broken)


@pytest.mark.parametrize("fleet, flag", [
    (dict(clouds=("mars",)), "--spots-cloud"),
    (dict(clouds=()), "--spots-cloud"),
    (dict(clouds=("aws", "gcp"), regions=("us-east-1",)), "--region"),
    (dict(regions=("us-east-1\nrun: rm -rf /",)), "--region"),
    (dict(regions=("gcp/us-central1",)), "--region"),
    (dict(fallback="base:0"), "--spot-fallback"),
    (dict(fallback="always"), "--spot-fallback"),
    (dict(target_qps=0), "--spot-target-qps"),
    (dict(target_qps=float("inf")), "--spot-target-qps"),
])
def test_hostile_or_wrong_fleet_values_are_refused_by_flag(fleet, flag):
    with pytest.raises(InvalidValue) as refused:
        render.SpotFleet(**fleet)
    assert refused.value.flag == flag


def test_a_model_id_cannot_become_yaml_or_shell():
    # Request values are validated where they enter; whatever passes is JSON in the YAML and
    # shell-quoted in the command.
    text = render.render_spot(_request(revision="v1.0_rc"), "L4", render.SpotFleet())
    task = sky_client.task_from_yaml(text)
    assert "--revision v1.0_rc" in task.run
    assert set(yaml.safe_load(text)) == {"name", "service", "resources", "secrets", "envs", "run"}
