"""Waits for a Baseten deployment to become ready, judged only from the management API.

The inference host is never probed: any request there wakes a scaled-to-zero model and bills
GPU minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tuna import settings
from tuna.errors import StillDeploying
from tuna.models import Status
from tuna.providers.baseten.errors import ApiError

READY = frozenset({"ACTIVE", "SCALED_TO_ZERO", "WAKING_UP"})
FAILED = frozenset({"BUILD_FAILED", "BUILD_STOPPED", "DEPLOY_FAILED", "FAILED"})
STOPPED = frozenset({"DEACTIVATING", "INACTIVE"})

MIN_INTERVAL_S = 0.5
MAX_INTERVAL_S = 10.0
# Ready but not yet production: Baseten promotes within moments, so look again soon.
IMMINENT = frozenset({"PROMOTING"})


def tuna_status(baseten_status: str) -> Status:
    """Baseten's deployment status in tuna's lifecycle terms. BUILDING, DEPLOYING, LOADING_MODEL,
    UPDATING, and statuses Baseten may add later, count as in progress."""
    if baseten_status in READY:
        return Status.ACTIVE
    if baseten_status in FAILED:
        return Status.FAILED
    if baseten_status in STOPPED:
        return Status.INACTIVE
    if baseten_status == "UNHEALTHY":
        return Status.UNHEALTHY
    return Status.DEPLOYING


def poll_intervals() -> tuple[float, float]:
    """Shortest and longest pause between status reads; TUNA_POLL_INTERVAL caps the longest."""
    longest = settings.poll_interval_cap(MAX_INTERVAL_S)
    return min(MIN_INTERVAL_S, longest), longest


class WaitTimedOut(StillDeploying):
    pass


@dataclass(frozen=True)
class Outcome:
    status: str  # Baseten's word for the last status read
    ready: bool
    reads: int
    elapsed_s: float


def wait_until_ready(read_status: Callable[[], str], on_change: Callable[[str, float], None],
                     timeout_s: float, on_error: Callable[[str], None] = lambda _: None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Poll until ready or failed. The pause grows with the elapsed time (a twentieth of it,
    within the bounds of poll_intervals), so a quick deploy is noticed quickly and a long build
    does not spend the workspace's shared rate limit; an IMMINENT status is read again at the
    shortest pause. Transient API errors (after the HTTP layer's own retries) do not end the
    wait; the deadline does."""
    shortest, longest = poll_intervals()
    start = clock()
    last, reads, error = None, 0, None
    while True:
        try:
            status = read_status()
            error = None
        except ApiError as exc:
            if not exc.transient:
                raise
            status, error = last, str(exc)
            on_error(error)
        reads += 1
        elapsed = clock() - start
        if status is not None and status != last:
            on_change(status, elapsed)
            last = status
        if status in READY or status in FAILED:
            return Outcome(status, status in READY, reads, elapsed)
        if elapsed >= timeout_s:
            raise WaitTimedOut(
                f"deployment still {status or 'unknown'} after {elapsed:.0f} s "
                f"(--timeout {timeout_s:g})" + (f"; last API error: {error}" if error else "")
                + "; it keeps deploying remotely"
            )
        pause = shortest if status in IMMINENT else max(elapsed / 20, shortest)
        sleep(min(pause, longest, timeout_s - elapsed))
