"""Waiting for a provider's deployment to become ready: one pure loop with an injected clock,
judged only from the provider's management API (never by calling the model, which would wake a
scaled-to-zero deployment and bill GPU time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tuna import settings
from tuna.errors import StillDeploying
from tuna.http_errors import ApiError

MIN_INTERVAL_S = 0.5
MAX_INTERVAL_S = 10.0


def poll_intervals() -> tuple[float, float]:
    """Shortest and longest pause between status reads; TUNA_POLL_INTERVAL caps the longest."""
    longest = settings.poll_interval_cap(MAX_INTERVAL_S)
    return min(MIN_INTERVAL_S, longest), longest


class WaitTimedOut(StillDeploying):
    pass


@dataclass(frozen=True)
class Outcome:
    status: str  # the provider's word for the last status read
    ready: bool
    reads: int
    elapsed_s: float


def wait_until_ready(read_status: Callable[[], str], on_change: Callable[[str, float], None],
                     timeout_s: float, ready: frozenset[str], failed: frozenset[str],
                     imminent: frozenset[str] = frozenset(),
                     on_error: Callable[[str], None] = lambda _: None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Poll until ready or failed. The pause grows with the elapsed time (a twentieth of it,
    within the bounds of poll_intervals), so a quick deploy is noticed quickly and a long build
    does not spend the workspace's shared rate limit; an `imminent` status is read again after
    half the shortest pause. `ready` and `failed` are the provider's words that end the wait.
    Transient API errors (after the HTTP layer's own retries) do not end the wait; the deadline
    does."""
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
        if status in ready or status in failed:
            return Outcome(status, status in ready, reads, elapsed)
        if elapsed >= timeout_s:
            raise WaitTimedOut(
                f"deployment still {status or 'unknown'} after {elapsed:.0f} s "
                f"(--timeout {timeout_s:g})" + (f"; last API error: {error}" if error else "")
                + "; it keeps deploying remotely"
            )
        pause = shortest / 2 if status in imminent else max(elapsed / 20, shortest)
        sleep(min(pause, longest, timeout_s - elapsed))


def wait_until_gone(read_state: Callable[[], str], gone: frozenset[str], timeout_s: float,
                    unconfirmed: str) -> None:
    """After a delete: read until the provider's word is one of `gone`; past timeout_s, a
    ProviderError saying `unconfirmed` (the record then stays live for the next destroy)."""
    from tuna.errors import ProviderError

    try:
        wait_until_ready(read_state, lambda *_: None, timeout_s, gone, frozenset())
    except WaitTimedOut:
        raise ProviderError(f"{unconfirmed}; `tuna destroy` asks again") from None
