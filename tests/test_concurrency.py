"""Many tuna processes deploying and destroying different services at once lose nothing."""

from __future__ import annotations

import subprocess
import sys

from tests.test_baseten_e2e import DEPLOY

SERVICES = [f"svc-{i}" for i in range(4)]


def run_all(tuna_env, tmp_path, commands):
    processes = [subprocess.Popen([sys.executable, "-m", "tuna", *c], env=tuna_env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in commands]
    return [(p.wait(timeout=300), p.stderr.read()) for p in processes]


def test_parallel_deploys_then_parallel_destroys(tuna_env, tuna, fake, tmp_path):
    results = run_all(tuna_env, tmp_path,
                      [(*DEPLOY, "--service-name", name) for name in SERVICES])
    assert [code for code, _ in results] == [0] * 4, results
    records = {r["service_name"]: r for r in tuna("list", "--json").json()}
    assert set(records) == set(SERVICES)
    assert {records[n]["model_id"] for n in SERVICES} == {fake.model_named(n).id for n in SERVICES}
    assert all(r["status"] == "active" for r in records.values())

    results = run_all(tuna_env, tmp_path,
                      [("destroy", "--service-name", name) for name in SERVICES])
    assert [code for code, _ in results] == [0] * 4, results
    assert fake.models == {}
    everything = tuna("list", "--all", "--json").json()
    assert sorted((r["service_name"], r["status"]) for r in everything) == [
        (name, "destroyed") for name in SERVICES]
