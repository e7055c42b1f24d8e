"""Settings read from the environment that the host and providers share."""

import os


def poll_interval_cap(default: float) -> float:
    """The longest pause between status or log reads (TUNA_POLL_INTERVAL, seconds)."""
    return float(os.environ.get("TUNA_POLL_INTERVAL") or default)
