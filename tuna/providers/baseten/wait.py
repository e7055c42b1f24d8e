"""Baseten's deployment statuses in tuna's terms, and the readiness wait over them
(tuna.waiting's loop)."""

from __future__ import annotations

from tuna import waiting
from tuna.models import Status
from tuna.waiting import MAX_INTERVAL_S, MIN_INTERVAL_S, WaitTimedOut, poll_intervals

__all__ = ["MAX_INTERVAL_S", "MIN_INTERVAL_S", "WaitTimedOut", "poll_intervals",
           "wait_until_ready", "tuna_status"]

READY = frozenset({"ACTIVE", "SCALED_TO_ZERO", "WAKING_UP"})
FAILED = frozenset({"BUILD_FAILED", "BUILD_STOPPED", "DEPLOY_FAILED", "FAILED"})
STOPPED = frozenset({"DEACTIVATING", "INACTIVE"})
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



def wait_until_ready(read_status, on_change, timeout_s: float, **options) -> waiting.Outcome:
    return waiting.wait_until_ready(read_status, on_change, timeout_s, READY, FAILED, IMMINENT,
                                    **options)
