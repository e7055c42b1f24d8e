"""Inspect, operate and destroy deployed services: the host's logic between the CLI and the
providers. A record is marked destroyed only after the provider confirms the teardown."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tuna import cost, registry, settings
from tuna.errors import TunaError, UsageError
from tuna.models import Check, Feature, LogLine, Record, ServiceStatus, Status
from tuna.state import StateStore

LOG_FOLLOW_INTERVAL_S = 5.0  # polite to an API whose rate limit the whole workspace shares


@dataclass(frozen=True)
class StatusReport:
    record: Record
    remote: ServiceStatus | None  # None when nothing remote is left to ask
    burn_rate: float | None = None  # USD per hour right now

    def to_json(self) -> dict:
        remote = self.remote
        return {**self.record.to_json(),
                "provider_status": remote.provider_status if remote else None,
                "active_replicas": remote.active_replicas if remote else None,
                **(remote.details if remote else {}),
                "burn_rate_per_hour": self.burn_rate}


@dataclass(frozen=True)
class CostReport:
    status: StatusReport
    estimate: cost.CostEstimate

    def to_json(self) -> dict:
        record = self.status.record
        return {"service_name": record.service_name, "provider": record.provider,
                "gpu": record.request.gpu, **self.estimate.to_json(),
                "burn_rate_per_hour": self.status.burn_rate}


@dataclass(frozen=True)
class Listing:
    records: list[Record]

    def to_json(self) -> list[dict]:
        return [record.to_json() for record in self.records]


@dataclass(frozen=True)
class CheckReport:
    provider: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict:
        return {"provider": self.provider, "ok": self.ok,
                "checks": [check.to_json() for check in self.checks]}


@dataclass
class DestroyReport:
    destroyed: list[str] = field(default_factory=list)
    failed: dict[str, TunaError] = field(default_factory=dict)  # service -> why

    def to_json(self) -> dict:
        return {"destroyed": self.destroyed,
                "failed": {name: str(error) for name, error in self.failed.items()}}


def check(provider_name: str) -> CheckReport:
    provider = registry.load(provider_name)
    return CheckReport(provider.name, provider.check_account())


def listing(store: StateStore, include_destroyed: bool) -> Listing:
    return Listing(store.list(include_destroyed=include_destroyed))


def status(store: StateStore, service_name: str) -> StatusReport:
    """Ask the provider, and bring the record in line with its answer."""
    record = store.require(service_name)
    if not record.is_live:
        return StatusReport(record, None)
    remote = registry.load(record.provider).status(record)
    if remote.status is not record.status or remote.endpoint_url != record.endpoint_url:
        # A deploy that timed out may since have become ready: its old error no longer holds.
        error = None if remote.status is Status.ACTIVE else record.error
        record = store.update(service_name, status=remote.status, endpoint_url=remote.endpoint_url,
                              error=error)
    if remote.active_replicas is None:
        return StatusReport(record, remote)
    store.observe(service_name, remote.active_replicas)
    return StatusReport(record, remote, cost.burn_rate(record, remote.active_replicas))


def estimate_cost(store: StateStore, service_name: str) -> CostReport:
    """A fresh look at the service, then the estimate of what it has cost since creation."""
    report = status(store, service_name)
    return CostReport(report, cost.estimate(report.record, store.observations(service_name),
                                            time.time()))


def logs(store: StateStore, service_name: str, since_ms: int, follow: bool = False,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[LogLine]:
    """Log lines since since_ms, oldest first, each once; with `follow`, keep polling."""
    record = store.require(service_name)
    provider = registry.load(record.provider)
    provider.require(Feature.LOGS)
    if not record.provider_ids:
        raise UsageError(f"service {service_name!r} has no deployment to show logs of")
    seen: set[tuple[int, str]] = set()
    while True:
        for line in provider.logs(record, since_ms):
            if (line.timestamp_ns, line.message) in seen:
                continue  # each read starts at the newest millisecond already shown
            seen.add((line.timestamp_ns, line.message))
            since_ms = max(since_ms, line.timestamp_ns // 1_000_000)
            yield line
        if not follow:
            return
        seen = {key for key in seen if key[0] >= since_ms * 1_000_000}
        sleep(settings.poll_interval_cap(LOG_FOLLOW_INTERVAL_S))


def destroy(store: StateStore, service_name: str) -> Record:
    """Tear the service down; the record says destroyed only once the provider confirms it."""
    record = store.require(service_name)
    if not record.is_live:
        return record
    registry.load(record.provider).destroy(record)
    store.observe(service_name, 0)
    return store.update(service_name, status=Status.DESTROYED, error=None)


def live_services(store: StateStore) -> list[str]:
    return [record.service_name for record in store.list()]


def destroy_each(store: StateStore, names: list[str]) -> DestroyReport:
    """Destroy services one by one; one failure does not stop the others."""
    report = DestroyReport()
    for name in names:
        try:
            destroy(store, name)
        except TunaError as exc:
            report.failed[name] = exc
        else:
            report.destroyed.append(name)
    return report
