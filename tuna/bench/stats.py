"""Summaries of measured times: percentiles as numpy's default (linear) would give them."""

from __future__ import annotations

import statistics


def percentiles(values: list[float], wanted=(50, 90, 99)) -> dict[str, float | None]:
    """p50/p90/p99 (inclusive method: a p99 of few samples stays within them)."""
    if not values:
        return {f"p{p}": None for p in wanted}
    if len(values) == 1:
        return {f"p{p}": values[0] for p in wanted}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{p}": cuts[p - 1] for p in wanted}


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}
