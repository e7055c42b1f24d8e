"""What tuna makes of a RunPod endpoint's workers (tuna.providers.runpod.remote), read as a
spec: every mix of worker states the v2 worker list can show."""

from __future__ import annotations

import pytest

from tests.fake_runpod import POOLS
from tuna import catalog
from tuna.models import Status
from tuna.providers.runpod import remote, render


def listing(*states: str, stale: int = 0) -> dict:
    return {"workers": [{"id": f"w{i}", "status": s, "isStale": i < stale, "gpuCount": 1}
                        for i, s in enumerate(states)], "endpointVersion": 3}


def endpoint(min_workers: int = 0, max_workers: int = 2) -> dict:
    return {"id": "ep1", "workers": {"min": min_workers, "max": max_workers}}


@pytest.mark.parametrize("minimum, states, stale, loaded_before, word", [
    # No minimum: an accepted endpoint with no worker is cold, not ready, until tuna has seen
    # a worker of this configuration load the model.
    (0, (), 0, False, "COLD"),
    (0, (), 0, True, "SCALED_TO_ZERO"),
    (0, ("INITIALIZING",), 0, False, "INITIALIZING"),
    (0, ("IDLE",), 0, False, "READY"),
    (0, ("RUNNING", "INITIALIZING"), 0, False, "READY"),
    (0, ("THROTTLED",), 0, False, "THROTTLED"),
    (0, ("UNHEALTHY",), 0, False, "UNHEALTHY"),
    # A minimum: as many loaded workers as it asks.
    (1, (), 0, False, "INITIALIZING"),
    (1, (), 0, True, "INITIALIZING"),
    (2, ("IDLE", "INITIALIZING"), 0, False, "INITIALIZING"),
    (2, ("IDLE", "RUNNING"), 0, False, "READY"),
    (1, ("UNHEALTHY", "UNHEALTHY"), 0, False, "UNHEALTHY"),
    (1, ("THROTTLED", "INITIALIZING"), 0, False, "INITIALIZING"),
    (1, ("THROTTLED",), 0, False, "THROTTLED"),
    # A stale worker runs the configuration an update replaces: it proves nothing of the new one.
    (1, ("IDLE",), 1, False, "INITIALIZING"),
    (1, ("IDLE", "IDLE"), 1, False, "READY"),
    (1, ("RUNNING", "UNHEALTHY"), 1, False, "UNHEALTHY"),
])
def test_worker_states_read_as(minimum, states, stale, loaded_before, word):
    assert remote.endpoint_status(endpoint(minimum), listing(*states, stale=stale),
                                  loaded_before) == word


def test_max_workers_cut_to_zero_by_runpod_is_scaled_down_whatever_the_workers():
    assert remote.endpoint_status(endpoint(0, 0), listing("IDLE"), True) == "SCALED_DOWN"
    assert remote.STATUSES["SCALED_DOWN"] is Status.INACTIVE


def test_statuses_map_to_tuna_words_and_cold_is_not_active():
    assert remote.STATUSES["COLD"] is Status.COLD and Status.COLD.deployed
    assert remote.STATUSES["READY"] is Status.ACTIVE
    assert set(remote.READY) | set(remote.FAILED) <= set(remote.STATUSES)


def test_billed_workers_are_a_range_between_the_docs_pages():
    assert remote.billed_workers(listing("RUNNING", "IDLE", "INITIALIZING", "THROTTLED",
                                         "UNHEALTHY")) == (1, 3)
    assert remote.billed_workers(listing()) == (0, 0)


def test_every_runpod_offer_is_one_gpu_of_a_pool_the_spec_knows():
    for offer in catalog.load().offers_for(provider="runpod"):
        selection = render.gpu_selection(offer.provider_gpu_id, 1)
        (pool,) = selection["pools"]
        assert set(POOLS[pool]) - set(selection["excludedTypes"]) == {offer.provider_gpu_id}
