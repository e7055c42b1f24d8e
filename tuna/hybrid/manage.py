"""Status, cost and destroy of a hybrid service: each leg through its own provider, the parent
following them. The parent is written off only after every leg's own engine confirmed it gone."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuna import keys
from tuna.errors import TunaError
from tuna.hybrid import HybridSettings, leg_name
from tuna.models import Record, Status
from tuna.state import StateStore

# The order a hybrid service comes down in: nothing routes to a leg that is already gone.
DESTROY_ORDER = ("router", "spot", "serverless")


def _leg(record: Record, parent: Record) -> str:
    return record.service_name.removeprefix(parent.service_name + "-")


@dataclass(frozen=True)
class HybridStatus:
    parent: Record
    legs: dict[str, object]  # leg -> lifecycle.StatusReport
    routing: dict[str, float] = field(default_factory=dict)  # from the router's /metrics

    def to_json(self) -> dict:
        return {**self.parent.to_json(), "hybrid": self.parent.hybrid,
                "legs": {leg: report.to_json() for leg, report in self.legs.items()},
                "routing": self.routing}

    def lines(self) -> list[str]:
        settings = HybridSettings.from_json(self.parent.hybrid)
        out = [f"{self.parent.service_name}: hybrid, {self.parent.status.value} "
               f"(router: {settings.router})"]
        for leg, report in self.legs.items():
            remote = report.remote
            replicas = "" if remote is None or remote.active_replicas is None else \
                f", {remote.active_replicas} replica(s)"
            word = f" [{remote.provider_status}]" if remote else ""
            out.append(f"  {leg:<10} {report.record.service_name} on {report.record.provider}: "
                       f"{report.record.status.value}{word}{replicas}")
        if self.routing:
            out.append("  routing: " + ", ".join(f"{k} {v:g}" for k, v in self.routing.items()))
        if self.parent.endpoint_url:
            out.append(f"  endpoint: {self.parent.endpoint_url}")
        return out


def _parent_status(legs: dict[str, Record], settings: HybridSettings) -> Status:
    """Serving when the serverless leg and the router serve; the spot fleet may be at zero."""
    serverless, router = legs.get("serverless"), legs.get("router")
    if serverless is None:
        return Status.PENDING
    if any(leg.status is Status.FAILED for leg in legs.values()):
        return Status.FAILED
    if serverless.status.deployed and (settings.router == "local" or (
            router is not None and router.status.deployed)):
        return Status.ACTIVE
    return Status.DEPLOYING


def status(store: StateStore, parent: Record) -> HybridStatus:
    from tuna import lifecycle

    reports = {}
    for record in store.legs(parent):
        reports[_leg(record, parent)] = lifecycle.status(store, record.service_name)
    settings = HybridSettings.from_json(parent.hybrid)
    if parent.is_live:
        parent = store.update(parent.id, status=_parent_status(
            {leg: report.record for leg, report in reports.items()}, settings))
    return HybridStatus(parent, reports, routing_counts(parent, reports))


def routing_counts(parent: Record, reports: dict) -> dict[str, float]:
    """The router's own counts (its /metrics), when it answers."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    router = reports.get("router")
    url = router and router.record.endpoint_url
    if not url or not router.record.is_live:
        return {}
    try:
        with urllib.request.urlopen(url.removesuffix("/v1") + "/metrics", timeout=3) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tuna_router_requests_total":
                key = f"{sample.labels['leg']} {sample.labels['outcome']}"
                counts[key] = counts.get(key, 0) + sample.value
            elif sample.name == "tuna_router_failovers_total":
                counts["failovers"] = counts.get("failovers", 0) + sample.value
    return counts


@dataclass
class HybridDestroyed:
    parent: Record
    destroyed: list[str] = field(default_factory=list)
    failed: dict[str, TunaError] = field(default_factory=dict)


def destroy(store: StateStore, parent: Record) -> HybridDestroyed:
    """Router, spot, serverless, each confirmed by its own engine; the parent last, and only when
    all three are gone. A failed leg does not stop the others."""
    from tuna import lifecycle

    outcome = HybridDestroyed(parent)
    legs = {_leg(record, parent): record for record in store.legs(parent)}
    for leg in DESTROY_ORDER:
        record = legs.get(leg)
        if record is None or not record.is_live:
            continue
        try:
            lifecycle.destroy(store, record.service_name)
        except TunaError as exc:
            outcome.failed[record.service_name] = exc
        else:
            outcome.destroyed.append(record.service_name)
    if not outcome.failed:
        keys.forget(leg_name(parent.service_name, "router"))
        outcome.parent = store.update(parent.id, status=Status.DESTROYED, error=None)
        outcome.destroyed.append(parent.service_name)
    return outcome


@dataclass(frozen=True)
class HybridCost:
    """Each leg's estimate where tuna knows its price; else the replica-hours it observed."""

    status: HybridStatus
    estimates: dict[str, object]  # leg -> cost.CostEstimate
    unpriced: dict[str, tuple[float, str]]  # leg -> (replica-hours observed, why no price)
    on_demand_hours: float = 0.0  # of the spot leg's, its on-demand fallback's

    @property
    def total_usd(self) -> float:
        return sum(estimate.estimated_usd for estimate in self.estimates.values())

    def to_json(self) -> dict:
        return {"service_name": self.status.parent.service_name, "provider": "hybrid",
                "legs": {leg: estimate.to_json() for leg, estimate in self.estimates.items()},
                "unpriced": {leg: {"replica_hours": round(hours, 4), "why": why}
                             for leg, (hours, why) in self.unpriced.items()},
                "spot_on_demand_fallback_hours": round(self.on_demand_hours, 4),
                "estimated_usd": round(self.total_usd, 4)}

    def lines(self) -> list[str]:
        out = [f"{self.status.parent.service_name}: hybrid, an estimate from the replica counts "
               "tuna observed"]
        for leg, estimate in self.estimates.items():
            out.append(f"  {leg:<10} ${estimate.estimated_usd:.2f} "
                       f"(${estimate.replica_price_per_hour:.2f}/hour a replica)")
        for leg, (hours, why) in self.unpriced.items():
            fallback = (f" ({self.on_demand_hours:.2f} of them on-demand fallback)"
                        if leg == "spot" and self.on_demand_hours else "")
            out.append(f"  {leg:<10} {hours:.2f} replica-hours observed{fallback}, not priced: "
                       f"{why}")
        out.append(f"  priced total: ${self.total_usd:.2f}"
                   + (" (plus the unpriced legs above)" if self.unpriced else ""))
        return out


def replica_hours(observations: list[tuple], until: float) -> float:
    """Replicas held from each observation to the next (or `until`), in hours."""
    ends = [at for at, *_ in observations[1:]] + [until]
    return sum(replicas * max(0.0, end - at) for (at, replicas, *_), end in
               zip(observations, ends)) / 3600


def cost(store: StateStore, report: HybridStatus) -> HybridCost:
    import time

    from tuna import cost as costs

    estimates, unpriced, on_demand = {}, {}, 0.0
    for leg, leg_report in report.legs.items():
        record = leg_report.record
        seen = store.observations(record)
        try:
            estimates[leg] = costs.estimate(record, seen, time.time())
        except TunaError as no_price:
            until = time.time() if record.is_live else record.updated_at
            unpriced[leg] = (replica_hours(seen, until), str(no_price))
            if leg == "spot":
                on_demand = replica_hours(store.on_demand_observations(record), until)
    return HybridCost(report, estimates, unpriced, on_demand)
