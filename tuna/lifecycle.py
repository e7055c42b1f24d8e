"""Deploy, inspect and destroy services: the host's logic between the CLI and the providers.

The state store never claims what the provider does not: a record is written before anything
remote is created, gets the provider's ids as soon as they exist, and is marked destroyed only
after the provider confirms the teardown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuna import catalog, registry
from tuna.errors import Interrupted, TunaError, UsageError
from tuna.models import Check, DeploymentResult, DeployRequest, Plan, ServiceStatus, Status
from tuna.provider import DeployEvents, Provider
from tuna.state import Record, StateStore


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


def write_plan(deploy_plan: Plan, directory: Path) -> list[Path]:
    written = []
    for relative, content in deploy_plan.files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written


class _RecordingEvents:
    """Passes events on to the user interface, recording remote ids the moment they exist."""

    def __init__(self, store: StateStore, service_name: str, ui: DeployEvents):
        self.store, self.service_name, self.ui = store, service_name, ui

    def created(self, provider_ids: dict[str, str]) -> None:
        self.store.update(self.service_name, status=Status.DEPLOYING, provider_ids=provider_ids)
        self.ui.created(provider_ids)

    def progress(self, message: str) -> None:
        self.ui.progress(message)

    def status(self, provider_status: str, elapsed_s: float) -> None:
        self.ui.status(provider_status, elapsed_s)


def deploy(store: StateStore, provider: Provider, deploy_plan: Plan, ui: DeployEvents,
           wait_timeout: float | None) -> DeploymentResult:
    request = deploy_plan.request
    existing = store.get(request.service_name)
    if existing and existing.is_live:
        raise UsageError(
            f"service {request.service_name!r} already exists ({existing.status.value}); "
            "destroy it first or choose another --service-name"
        )
    failed = [c for c in provider.preflight(request) if not c.ok]
    if failed:
        raise PreflightFailed(provider.name, failed)
    store.create(Record(request.service_name, provider.name, Status.PENDING, request))
    try:
        result = provider.deploy(deploy_plan, _RecordingEvents(store, request.service_name, ui),
                                 wait_timeout)
    except KeyboardInterrupt:
        # The remote deployment goes on; the record keeps its ids so it can be destroyed.
        store.update(request.service_name, error="interrupted while deploying")
        name = request.service_name
        raise Interrupted(
            f"interrupted; {name} may still be deploying on {provider.name}: "
            f"`tuna status --service-name {name}` follows it, `tuna destroy --service-name {name}` "
            "removes it") from None
    except Exception as exc:
        store.update(request.service_name, status=Status.FAILED, error=str(exc))
        raise
    store.update(request.service_name, status=result.status, provider_ids=result.provider_ids,
                 endpoint_url=result.endpoint_url,
                 error=result.details.get("error"))
    return result


@dataclass(frozen=True)
class StatusReport:
    record: Record
    remote: ServiceStatus | None  # None when nothing remote is left to ask


def status(store: StateStore, service_name: str) -> StatusReport:
    """Ask the provider, and bring the record in line with its answer."""
    record = store.require(service_name)
    if not record.is_live:
        return StatusReport(record, None)
    remote = registry.load(record.provider).status(record)
    if remote.status is not record.status or remote.endpoint_url != record.endpoint_url:
        record = store.update(service_name, status=remote.status, endpoint_url=remote.endpoint_url,
                              error=record.error if remote.status is Status.FAILED else None)
    return StatusReport(record, remote)


def destroy(store: StateStore, service_name: str) -> Record:
    """Tear the service down; the record says destroyed only once the provider confirms it."""
    record = store.require(service_name)
    if not record.is_live:
        return record
    registry.load(record.provider).destroy(record)
    return store.update(service_name, status=Status.DESTROYED, error=None)
