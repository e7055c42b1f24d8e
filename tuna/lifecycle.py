"""Inspect, operate and destroy deployed services: the host's logic between the CLI and the
providers. A record is marked destroyed only after the provider confirms the teardown."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from tuna import cost, registry, settings
from tuna.errors import TunaError, UsageError
from tuna.models import Check, Feature, LogLine, Record, RemoteService, ServiceStatus, Status
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


def check_model(request, provider_name: str | None) -> CheckReport:
    """The model check a deploy runs, alone: read the model from the Hub and refuse what
    cannot serve on this GPU."""
    from tuna import model_check
    from tuna.prepare import prepare

    import os

    prepared = prepare(request, provider_name)
    title = (f"{request.model} on {prepared.request.tp_size} x {prepared.request.gpu} "
             f"({prepared.provider.name})")
    # Failures are checks too, as an account's are: in --json, with the next step.
    try:
        facts = model_check.fetch(request.model, request.revision)
    except model_check.HubUnreachable as exc:
        return CheckReport(title, [Check("Hub", False, f"{exc}: the model was not checked",
                                         "check the network, and HF_ENDPOINT (now "
                                         f"{os.environ.get('HF_ENDPOINT') or 'the default'})")])
    try:
        report = prepared.check_model(facts, prepared.request, token_reaches_provider=True)
    except UsageError as refused:
        return CheckReport(title, [Check("model", False, str(refused),
                                         "change what it names, or choose another model")])
    if facts.gated:
        report.not_checked.append("it is gated: `tuna deploy` checks that a Hugging Face token "
                                  "reaches the provider")
    return CheckReport(title, report.checks())


def listing(store: StateStore, include_destroyed: bool) -> Listing:
    return Listing(store.list(include_destroyed=include_destroyed))


def _reconcile(store: StateStore, record: Record, remote: ServiceStatus) -> Record:
    """Bring the record in line with the provider's answer, which came from where it lives."""
    changes: dict = {"status": remote.status, "endpoint_url": remote.endpoint_url,
                     "provider_ids": remote.provider_ids,
                     # A deploy that timed out may since have become ready.
                     "error": None if remote.status.deployed else record.error}
    if remote.update_outcome == "promoted":  # an update that was left waiting now serves
        changes.update(request=record.candidate or record.request, candidate=None, error=None)
    elif remote.update_outcome == "failed":
        changes.update(candidate=None, error="update failed: its deployment did not deploy; "
                                             "the previous deployment keeps serving")
    return store.update(record.id, **changes)


def _hybrid(record: Record) -> bool:
    from tuna.hybrid import PROVIDER

    return record.provider == PROVIDER


def status(store: StateStore, service_name: str) -> StatusReport:
    """Ask the provider, and bring the record in line with its answer."""
    record = store.require(service_name)
    if _hybrid(record):
        from tuna.hybrid import manage

        return manage.status(store, record)
    if not record.is_live:
        return StatusReport(record, None)
    remote = registry.load(record.provider).status(record)
    record = _reconcile(store, record, remote)
    if remote.active_replicas is None or not record.is_live:
        return StatusReport(record, remote)
    store.observe(record, remote.active_replicas, cost.replica_price(record),
                  on_demand_replicas=remote.details.get("on_demand_replicas"))
    return StatusReport(record, remote, cost.burn_rate(record, remote.active_replicas))


def wait(store: StateStore, service_name: str, events, timeout: float) -> Record:
    """Wait again for a deployment whose deploy stopped waiting (--timeout, --no-wait, Ctrl-C)."""
    from tuna.deploying import record_failure, record_outcome

    record = store.require(service_name)
    if not record.is_live:
        raise UsageError(f"service {service_name!r} is {record.status.value}; nothing to wait for")
    if _hybrid(record):
        for leg in store.legs(record):
            if leg.is_live and not leg.status.deployed:
                wait(store, leg.service_name, events, timeout)
        return status(store, service_name).parent
    updating = record.candidate is not None
    try:
        result = registry.load(record.provider).wait(record, events, timeout)
    except TunaError as exc:
        record_failure(store, record, exc, updating)
        raise
    return record_outcome(store, record, result, record.candidate or record.request, updating)


def estimate_cost(store: StateStore, service_name: str) -> CostReport:
    """A fresh look at the service, then the estimate of what it has cost since creation."""
    if _hybrid(store.require(service_name)):
        from tuna.hybrid import manage

        return manage.cost(store, status(store, service_name))
    report = status(store, service_name)
    record = report.record
    live = registry.load(record.provider).replica_price(record.candidate or record.request)
    return CostReport(report, cost.estimate(record, store.observations(record), time.time(),
                                            live))


def logs(store: StateStore, service_name: str, since_ms: int, follow: bool = False,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[LogLine]:
    """Log lines since since_ms, oldest first, each once; with `follow`, keep polling."""
    record = store.require(service_name)
    if _hybrid(record):
        raise UsageError(f"{service_name} is hybrid: its logs are its legs', e.g. `tuna logs "
                         f"{service_name}-serverless`")
    provider = registry.load(record.provider)
    provider.require(Feature.LOGS)
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
    """Tear the service down; the record says destroyed only once the provider confirms it. A
    record already destroyed is checked with the provider again before tuna says so."""
    record = store.require(service_name)
    if _hybrid(record):
        from tuna.hybrid import manage

        outcome = manage.destroy(store, record)
        if outcome.failed:
            raise TunaError(f"{service_name} is not gone: " + "; ".join(
                f"{leg}: {error}" for leg, error in outcome.failed.items())
                + f" (`tuna destroy {service_name}` tries again)")
        return outcome.parent
    provider = registry.load(record.provider)
    if not record.is_live and provider.status(record).status is Status.DESTROYED:
        return record
    provider.destroy(record)
    store.observe(record, 0, cost.replica_price(record))
    return store.update(record.id, status=Status.DESTROYED, error=None)


def untracked(store: StateStore, service_name: str) -> RemoteService | None:
    """A service tuna made that the local state does not know (lost, or never written)."""
    from tuna.models import is_service_name

    if store.get(service_name) is not None:
        return None
    if not is_service_name(service_name):
        store.require(service_name)  # no such name can exist anywhere: say it is unknown
    return next((s for s in remote_listing(store).services if s.service_name == service_name),
                None)


def destroy_untracked(remote: RemoteService) -> DestroyReport:
    """Remove a service tuna made that its state does not know (found by its labels)."""
    from tuna.models import DeployRequest

    # The provider needs only the ids; the request is not known and is not recorded.
    stand_in = Record(remote.service_name, remote.provider, Status.ACTIVE,
                      DeployRequest("unknown/unknown", "unknown", service_name=remote.service_name),
                      provider_ids=remote.provider_ids)
    registry.load(remote.provider).destroy(stand_in)
    return DestroyReport(destroyed=[remote.service_name])


@dataclass(frozen=True)
class RemoteListing:
    services: list[RemoteService]
    not_searched: dict[str, str]  # provider -> why
    searched: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"services": [s.to_json() for s in self.services], "searched": self.searched,
                "not_searched": self.not_searched}


def remote_listing(store: StateStore) -> RemoteListing:
    """What tuna made on each installed provider whose credentials are set, marked tracked when
    a live local record knows it."""
    live = {(r.provider, r.service_name) for r in store.list()}
    found, skipped, searched = [], {}, []
    for provider in registry.available():
        if not provider.has_credentials():
            skipped[provider.name] = "no credentials (" + ", ".join(provider.credentials) + ")"
            continue
        found += [replace(s, tracked=(s.provider, s.service_name) in live)
                  for s in provider.find_services()]
        searched.append(provider.name)
    return RemoteListing(found, skipped, searched)


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
