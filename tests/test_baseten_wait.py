"""The readiness wait with a simulated clock: no real sleeping."""

from __future__ import annotations

import pytest

from tuna.models import Status
from tuna.providers.baseten import wait


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def statuses(script):
    it = iter(script)
    last = [None]

    def read():
        last[0] = next(it, last[0])
        return last[0]

    return read


def run(script, timeout=1800.0):
    clock, changes = Clock(), []
    outcome = wait.wait_until_ready(statuses(script), lambda s, t: changes.append((s, t)),
                                    timeout, clock=clock, sleep=clock.sleep)
    return outcome, changes, clock


@pytest.mark.parametrize("ready", ["ACTIVE", "SCALED_TO_ZERO", "WAKING_UP"])
def test_ready_statuses(ready):
    outcome, changes, _ = run(["BUILDING", "DEPLOYING", ready])
    assert outcome.ready and outcome.status == ready and outcome.reads == 3
    assert [s for s, _ in changes] == ["BUILDING", "DEPLOYING", ready]


@pytest.mark.parametrize("failed", ["BUILD_FAILED", "BUILD_STOPPED", "DEPLOY_FAILED", "FAILED"])
def test_failed_statuses_end_the_wait(failed):
    outcome, _, _ = run(["BUILDING", failed])
    assert not outcome.ready and outcome.status == failed


def test_only_changes_are_reported_with_elapsed_time():
    outcome, changes, _ = run(["BUILDING"] * 5 + ["SOMETHING_NEW"] * 2 + ["ACTIVE"])
    assert [s for s, _ in changes] == ["BUILDING", "SOMETHING_NEW", "ACTIVE"]
    assert changes[0][1] == 0 and changes[1][1] > 0


def test_timeout_is_respected_exactly():
    with pytest.raises(wait.WaitTimedOut, match="still BUILDING after 60 s"):
        run(["BUILDING"], timeout=60)


def test_twenty_second_build_is_polled_gently_and_noticed_quickly(monkeypatch):
    monkeypatch.delenv("TUNA_POLL_INTERVAL", raising=False)
    clock, changes = Clock(), []

    def read():
        return "ACTIVE" if clock.now >= 20 else "BUILDING"

    outcome = wait.wait_until_ready(read, lambda s, t: changes.append((s, t)), 1800,
                                    clock=clock, sleep=clock.sleep)
    assert outcome.ready
    assert outcome.reads <= 40
    assert outcome.elapsed_s - 20 <= 2.0  # noticed within 2 s of turning ACTIVE
    assert max(clock.sleeps) <= wait.MAX_INTERVAL_S


def test_long_builds_back_off_to_the_cap(monkeypatch):
    monkeypatch.delenv("TUNA_POLL_INTERVAL", raising=False)
    clock, reads = Clock(), []

    def read():
        reads.append(clock.now)
        return "BUILDING"

    with pytest.raises(wait.WaitTimedOut):
        wait.wait_until_ready(read, lambda *_: None, 3600, clock=clock, sleep=clock.sleep)
    assert max(clock.sleeps) == wait.MAX_INTERVAL_S
    # An hour of building: a few hundred reads (0.12 a second; Baseten allows 100), not thousands.
    assert len(reads) <= 450


def test_poll_interval_environment_caps_the_pause(monkeypatch):
    monkeypatch.setenv("TUNA_POLL_INTERVAL", "0.01")
    assert wait.poll_intervals() == (0.01, 0.01)


@pytest.mark.parametrize("baseten, tuna", [
    ("ACTIVE", Status.ACTIVE), ("SCALED_TO_ZERO", Status.ACTIVE), ("WAKING_UP", Status.ACTIVE),
    ("BUILDING", Status.DEPLOYING), ("LOADING_MODEL", Status.DEPLOYING),
    ("DEPLOY_FAILED", Status.FAILED), ("INACTIVE", Status.INACTIVE),
    ("UNHEALTHY", Status.UNHEALTHY), ("BRAND_NEW_STATE", Status.DEPLOYING),
])
def test_status_mapping(baseten, tuna):
    assert wait.tuna_status(baseten) is tuna


def flaky(script):
    """Statuses, where an ApiError instance in the script is raised instead."""
    it = iter(script)

    def read():
        item = next(it)
        if isinstance(item, Exception):
            raise item
        return item

    return read


def test_transient_api_errors_do_not_end_the_wait():
    from tuna.http_errors import ApiError

    clock, errors = Clock(), []
    script = ["BUILDING", ApiError("GET", "/x", 503, ""), ApiError("GET", "/x", None, "reset"),
              ApiError("GET", "/x", 429, ""), "ACTIVE"]
    outcome = wait.wait_until_ready(flaky(script), lambda *_: None, 1800, on_error=errors.append,
                                    clock=clock, sleep=clock.sleep)
    assert outcome.ready and len(errors) == 3


def test_transient_errors_until_the_deadline_time_out_with_the_last_error():
    from tuna.http_errors import ApiError

    clock = Clock()
    with pytest.raises(wait.WaitTimedOut, match=r"still BUILDING after 120 s .*HTTP 502"):
        wait.wait_until_ready(flaky(["BUILDING"] + [ApiError("GET", "/x", 502, "")] * 1000),
                              lambda *_: None, 120, clock=clock, sleep=clock.sleep)
    assert clock.now == 120


def test_permanent_api_errors_end_the_wait_at_once():
    from tuna.http_errors import KeyRejected, NotFound

    for error in (KeyRejected("GET", "/x", 401, "rejected"), NotFound("GET", "/x", 404, "")):
        with pytest.raises(type(error)):
            wait.wait_until_ready(flaky([error]), lambda *_: None, 60, sleep=lambda _: None)


def test_a_deployment_about_to_be_promoted_is_read_again_soon(monkeypatch):
    monkeypatch.delenv("TUNA_POLL_INTERVAL", raising=False)
    clock = Clock()

    def read():
        return "ACTIVE" if clock.now >= 31 else "PROMOTING" if clock.now >= 30 else "BUILDING"

    outcome = wait.wait_until_ready(read, lambda *_: None, 1800, clock=clock, sleep=clock.sleep)
    assert outcome.ready
    assert outcome.elapsed_s - 31 <= wait.MIN_INTERVAL_S / 2  # not the 1.5 s a 30 s build waits
