"""Baseten as a workspace is today: secrets and model names belong to a team, instances and prices
are the workspace's own, and an update is promoted with its autoscaling in the same call. Through
the real CLI and truss against the loopback fake."""

from __future__ import annotations

import pytest

from tests.fake_baseten import instance_type
from tests.test_baseten_e2e import DEPLOY

NAME = "qwen3-0-6b"
PROMOTE = r"/v1/models/[^/]+/environments/production/promote"


def several_teams(fake) -> None:
    fake.secrets.add("hf_access_token")  # the default team's
    fake.add_team("t2", "Research")


def test_a_team_uses_only_its_own_secrets(tuna, fake):
    several_teams(fake)
    done = tuna(*DEPLOY, "--team", "Research", "--hf-secret", "hf_access_token", "--no-wait")
    # The org-wide list shows the Default team's secret; a Research deployment could not use it.
    assert done.code == 1 and "workspace secret 'hf_access_token' is missing" in done.stderr
    assert fake.models == {}
    assert fake.count("GET", r"/v1/teams/t2/secrets") == 1 and fake.count("GET", r"/v1/secrets") == 0
    # Nor is it picked up by default for the other team's weights.
    assert tuna(*DEPLOY, "--team", "Research", "--no-wait").code == 0
    config = next(iter(fake.model_named(NAME).deployments.values())).config
    assert config["weights"][0]["auth_secret_name"] is None


def test_model_names_are_free_per_team(tuna, fake):
    several_teams(fake)
    fake.add_model(NAME)  # another model of that name, in the Default team
    assert tuna(*DEPLOY, "--team", "Default", "--no-wait").code == 1
    done = tuna(*DEPLOY, "--team", "Research", "--no-wait")
    assert done.code == 0, done.stderr
    mine = [m for m in fake.models.values() if m.team["id"] == "t2"]
    assert [m.name for m in mine] == [NAME]
    status = tuna("status", "--service-name", NAME, "--json").json()
    assert status["model_id"] == mine[0].id


def test_a_gpu_the_workspace_lacks_is_refused_before_the_push(tuna, fake):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "H200",
                "--serverless-provider", "baseten", "--no-wait")
    assert done.code == 1, done.stderr
    assert "this workspace has no H200 instance (it has: A100, A100:2" in done.stderr
    assert "H200 and B200 instances are available on request from Baseten" in done.stderr
    assert fake.models == {} and not fake.pushed


def test_a_count_baseten_does_not_offer_is_refused_offline(tuna):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--tp-size", "8",
                "--serverless-provider", "baseten", "--dry-run")
    assert done.code == 2
    assert "baseten offers L4 instances of 1, 2, 4 GPUs, not 8" in done.stderr


def test_the_summary_and_cost_show_the_workspaces_own_instance_price(tuna, fake):
    fake.instance_types = [e for e in fake.instance_types
                           if e["instance_type"]["gpu_type"] != "L4"] + [instance_type("L4", 2, 2.10)]
    done = tuna(*DEPLOY, "--tp-size", "2")
    assert done.code == 0, done.stderr
    assert "$2.10/hour per replica (2 x L4, the account's own price), billed per minute" in done.stdout
    report = tuna("cost", "--service-name", NAME, "--json").json()
    assert report["replica_price_per_hour"] == pytest.approx(2.10)
    assert report["price_source"] == "the account's own price, read now"


def test_without_the_prices_endpoint_the_catalog_price_stands(tuna, fake):
    fake.fail("GET", r"/v1/instance_type_prices", 404)
    done = tuna(*DEPLOY, "--tp-size", "2", "--no-wait")
    assert done.code == 0, done.stderr
    assert "workspace prices not read" in done.stdout
    assert "$2.40/hour per replica (2 x L4)" in done.stdout  # the box, not 2 x $0.85


def test_an_update_never_serves_with_default_autoscaling(tuna, fake):
    assert tuna(*DEPLOY, "--min-replicas", "1", "--max-replicas", "2").code == 0
    first = fake.model_named(NAME).production_id
    fake.live_history.clear()
    fake.requests.clear()
    done = tuna(*DEPLOY, "--update", "--max-model-len", "8192", "--min-replicas", "2",
                "--max-replicas", "4", "--concurrency", "8", "--json")
    assert done.code == 0, done.stderr
    new = done.json()["deployment_id"]
    model = fake.model_named(NAME)
    assert model.production_id == new != first
    # Every moment the new deployment served, it served with the asked autoscaling.
    served = [settings for deployment, settings in fake.live_history if deployment == new]
    assert served and all((s["min_replica"], s["max_replica"], s["concurrency_target"])
                          == (2, 4, 8) for s in served)
    assert fake.count("POST", PROMOTE) == 1
    # Nothing left to correct afterwards: the promotion carried the settings.
    patches = [p for m, p in fake.requests if m == "PATCH"]
    assert patches == []


def test_an_update_without_waiting_is_promoted_by_wait(tuna, fake):
    assert tuna(*DEPLOY).code == 0
    first = fake.model_named(NAME).production_id
    done = tuna(*DEPLOY, "--update", "--max-replicas", "3", "--no-wait")
    assert done.code == 0, done.stderr
    assert "`tuna wait --service-name qwen3-0-6b` promotes it" in done.stdout
    assert fake.model_named(NAME).production_id == first and fake.count("POST", PROMOTE) == 0
    waited = tuna("wait", "--service-name", NAME)
    assert waited.code == 0, waited.stderr
    model = fake.model_named(NAME)
    assert model.production_id != first and model.autoscaling["max_replica"] == 3
    assert fake.count("POST", PROMOTE) == 1
