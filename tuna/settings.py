"""Settings read from the environment that the host and providers share, checked up front."""

import math
import os

from tuna.errors import UsageError


def _poll_interval() -> float | None:
    text = os.environ.get("TUNA_POLL_INTERVAL", "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):  # 0 would poll without pause
        raise UsageError(f"TUNA_POLL_INTERVAL: expected seconds above 0 such as 2 or 0.5, "
                         f"got {text!r}")
    return value


def validate() -> None:
    """Refuse a bad setting before any command does anything."""
    _poll_interval()


def poll_interval_cap(default: float) -> float:
    """The longest pause between status or log reads (TUNA_POLL_INTERVAL, seconds)."""
    return _poll_interval() or default
