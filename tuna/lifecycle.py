"""Deploy, inspect and destroy services: the host's logic between the CLI and the providers.

The state store never claims what the provider does not: a record is written before anything
remote is created, gets the provider's ids as soon as they exist, and is marked destroyed only
after the provider confirms the teardown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tuna import catalog, cost, registry, settings
from tuna.errors import Interrupted, TunaError, UsageError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, ServiceStatus,
                         Status)
from tuna.provider import DeployEvents, Feature, Provider
from tuna.state import NameTaken, Record, StateStore


LOG_FOLLOW_INTERVAL_S = 5.0  # polite to an API whose rate limit the whole workspace shares


class PreflightFailed(TunaError):
    def __init__(self, provider: str, failed: list[Check]):
        self.failed = failed
        super().__init__(f"{provider} preflight failed: " + "; ".join(c.name for c in failed))


def choose_provider(request: DeployRequest, requested: str | None) -> tuple[Provider, str | None]:
    """The provider to use and, when tuna chose it, a sentence saying why: the cheapest
    installed provider that offers the GPU and can serve the request."""
    cat = catalog.load()
    offers = cat.offers_for(gpu=request.gpu)
    if requested:
        provider = registry.load(requested)
        if cat.offer(request.gpu, provider.name) is None:
            others = ", ".join(o.provider for o in offers) or "no provider"
            raise UsageError(f"{provider.name} does not offer {request.gpu} (offered by: {others})")
        return provider, None
    installed = {p.name: p for p in registry.available()}
    refused = []
    for offer in offers:
        provider = installed.get(offer.provider)
        if provider is None:
            continue
        reasons = provider.refusals(request)
        if reasons:
            refused.extend(reasons)
            continue
        return provider, (
            f"No --serverless-provider given: using {offer.provider}, the cheapest installed "
            f"provider offering {request.gpu} (${offer.price_per_gpu_hour:.2f}/GPU-hour)"
        )
    raise UsageError(
        f"no installed provider can serve this on {request.gpu}"
        + (f": {'; '.join(refused)}" if refused else f"; installed: {', '.join(installed) or 'none'}")
    )


def plan(request: DeployRequest, provider: Provider) -> Plan:
    """Refuse what the provider cannot do, then render offline."""
    reasons = provider.refusals(request)
    if reasons:
        raise UsageError("; ".join(reasons))
    return provider.plan(request)


class _RecordingEvents:
    """Passes events on to the user interface, recording remote ids the moment they exist.
    An update records nothing until it succeeds: the record's model already holds it."""

    def __init__(self, store: StateStore, service_name: str, ui: DeployEvents, updating: bool):
        self.store, self.service_name, self.ui, self.updating = store, service_name, ui, updating

    def created(self, provider_ids: dict[str, str]) -> None:
        if not self.updating:
            self.store.update(self.service_name, status=Status.DEPLOYING, provider_ids=provider_ids)
        self.ui.created(provider_ids)

    def progress(self, message: str) -> None:
        self.ui.progress(message)

    def status(self, provider_status: str, elapsed_s: float) -> None:
        self.ui.status(provider_status, elapsed_s)


def _service_to_update(store: StateStore, provider: Provider, name: str, update: bool) -> Record | None:
    existing = store.get(name)
    live = existing is not None and existing.is_live
    if live and not update:
        raise NameTaken(name, existing.status.value)  # early: before preflight's API calls
    if not update:
        return None
    provider.require(Feature.UPDATE)
    if not live:
        raise UsageError(f"--update needs a live service named {name!r}; deploy it first")
    if existing.provider != provider.name:
        raise UsageError(f"service {name!r} runs on {existing.provider}, not {provider.name}")
    if not existing.provider_ids:
        raise UsageError(f"service {name!r} has no deployment yet; destroy it and deploy again")
    return existing


def deploy(store: StateStore, provider: Provider, deploy_plan: Plan, ui: DeployEvents,
           wait_timeout: float | None, update: bool = False) -> DeploymentResult:
    request = deploy_plan.request
    name = request.service_name
    previous = _service_to_update(store, provider, name, update)
    failed = [c for c in provider.preflight(request, previous) if not c.ok]
    if failed:
        raise PreflightFailed(provider.name, failed)
    if previous is None:
        store.create(Record(name, provider.name, Status.PENDING, request))
        store.observe(name, 0)
    events = _RecordingEvents(store, name, ui, updating=previous is not None)
    try:
        result = provider.deploy(deploy_plan, events, wait_timeout, previous)
    except KeyboardInterrupt:
        # The remote deployment goes on; the record keeps its ids so it can be destroyed.
        store.update(name, error="interrupted while deploying")
        raise Interrupted(
            f"interrupted; {name} may still be deploying on {provider.name}: "
            f"`tuna status --service-name {name}` follows it, `tuna destroy --service-name {name}` "
            "removes it") from None
    except Exception as exc:
        if previous is None:
            store.update(name, status=Status.FAILED, error=str(exc))
        else:  # the previous deployment still serves the endpoint
            store.update(name, error=f"update failed: {exc}")
        raise
    store.update(name, status=result.status, provider_ids=result.provider_ids,
                 endpoint_url=result.endpoint_url, request=request, error=None)
    if result.active_replicas is not None:
        store.observe(name, result.active_replicas)
    return result


@dataclass(frozen=True)
class StatusReport:
    record: Record
    remote: ServiceStatus | None  # None when nothing remote is left to ask
    burn_rate: float | None = None  # USD per hour right now


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


def estimate_cost(store: StateStore, service_name: str) -> tuple[StatusReport, cost.CostEstimate]:
    """A fresh look at the service, then the estimate of what it has cost since creation."""
    report = status(store, service_name)
    return report, cost.estimate(report.record, store.observations(service_name), time.time())


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


def destroy_each(store: StateStore, names: list[str]) -> Iterator[tuple[str, TunaError | None]]:
    """Destroy services one by one; one failure does not stop the others."""
    for name in names:
        try:
            destroy(store, name)
        except TunaError as exc:
            yield name, exc
        else:
            yield name, None
