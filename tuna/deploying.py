"""Deploy a request, or render it offline: one call from the CLI each.

The state store never claims what the provider does not: a record is written before anything
remote is created, gets the provider's ids as soon as they exist, and is marked failed or
destroyed only on the provider's word.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from tuna import cost, model_check
from tuna.errors import (Interrupted, NameTaken, PreflightFailed, StillDeploying, TunaError,
                         UsageError)
from tuna.models import DeploymentResult, DeployRequest, Feature, Plan, Record, Status
from tuna.model_check import ModelReport
from tuna.prepare import Prepared, prepare
from tuna.provider import DeployEvents, InferenceProvider, Preflight
from tuna.state import KEEP, StateStore

# Beside the files of a dry run: which service they were rendered for, so a later dry run
# overwrites only its own files.
OWNER_FILE = ".tuna-service"
DRY_RUN_HUB_TIMEOUT_S = 3.0  # a dry run checks the model only if the Hub answers this fast


@dataclass(frozen=True)
class DryRun:
    plan: Plan
    directory: str
    written: list[str]
    validated_by: str
    model_check: ModelReport | None = None
    model_not_checked: str | None = None  # why, when the Hub did not answer quickly

    def to_json(self) -> dict:
        return {"dry_run": True, **self.plan.to_json(), "directory": self.directory,
                "files": self.written, "validated_by": self.validated_by,
                "model_check": self.model_check and self.model_check.to_json(),
                "model_not_checked": self.model_not_checked}


@dataclass(frozen=True)
class Deployed:
    result: DeploymentResult
    plan: Plan
    model_check: ModelReport | None = None  # None: not checked (skipped, or no Hub)

    def to_json(self) -> dict:
        return {**self.result.to_json(), "summary": self.plan.summary,
                "model_check": self.model_check and self.model_check.to_json()}


def _owner(service_name: str, provider: str) -> str:
    return f"{service_name} {provider}\n"


def write_files(plan: Plan, directory: str, force: bool) -> list[str]:
    """Write the plan's files; refuse to overwrite files tuna did not render for this service."""
    owner = os.path.join(directory, OWNER_FILE)
    mine = _owner(plan.request.service_name, plan.provider)
    targets = [os.path.join(directory, relative) for relative in plan.files]
    try:
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise UsageError(f"--dry-run: {directory} is a file, not a directory")
        rendered = open(owner).read() if os.path.isfile(owner) else None
        held = os.path.isdir(directory) and os.listdir(directory)
        if not force and rendered not in (None, mine):
            raise UsageError(f"--dry-run: {directory} holds tuna's render of "
                             f"{rendered.split()[0]} on {rendered.split()[-1]}; choose another "
                             "directory or pass --force")
        if not force and held and rendered is None:
            raise UsageError(f"--dry-run: {directory} already holds other files; choose a new or "
                             "empty directory (default: ./<service>-<provider>) or pass --force")
        for path, content in zip(targets, plan.files.values()):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as file:
                file.write(content)
        with open(owner, "w") as file:
            file.write(mine)
    except OSError as exc:
        raise UsageError(f"--dry-run: cannot write to {directory}: {exc.strerror}") from None
    return targets


def _quick_model_check(prepared: Prepared) -> tuple[ModelReport | None, str | None,
                                                     DeployRequest]:
    """The model check, if the Hub answers fast, and the request as checked; else why it could
    not run."""
    request = prepared.request
    try:
        facts = model_check.fetch(request.model, request.revision, DRY_RUN_HUB_TIMEOUT_S)
    except model_check.HubUnreachable as exc:
        return None, (f"the model was not checked: {exc}; `tuna check --model {request.model} "
                      f"--gpu {request.gpu}` tries again"), request
    # Offline, a provider's own secret is unknown: a gated model is not refused here.
    report = prepared.check_model(facts, request, token_reaches_provider=True)
    return report, None, _as_checked(request, facts)


def dry_run(request: DeployRequest, provider_name: str | None, directory: str | None,
            force: bool, events: DeployEvents, skip_model_check: bool = False) -> DryRun:
    """Render and validate into a directory with no account; check the model too when the Hub
    answers within a few seconds, and say so when it did not."""
    prepared = prepare(request, provider_name)
    if prepared.choice:
        events.progress(prepared.choice)
    report, not_checked = None, "the model was not checked (--skip-model-check)"
    request = prepared.request
    if not skip_model_check:
        report, not_checked, request = _quick_model_check(prepared)
    plan = prepared.provider.plan(request)
    validated_by = prepared.provider.validate(plan)
    directory = directory or f"{plan.request.service_name}-{plan.provider}"
    return DryRun(plan, directory, write_files(plan, directory, force), validated_by, report,
                  not_checked)


class _RecordingEvents:
    """Passes events on to the user interface, recording remote ids the moment they exist."""

    def __init__(self, store: StateStore, record: Record, ui: DeployEvents, updating: bool):
        self.store, self.record, self.ui, self.updating = store, record, ui, updating

    def created(self, provider_ids: dict[str, str]) -> None:
        # An update's ids are its candidate's: the record keeps following what serves.
        self.store.update(self.record.id, provider_ids=provider_ids,
                          status=None if self.updating else Status.DEPLOYING)
        self.ui.created(provider_ids)

    def progress(self, message: str) -> None:
        self.ui.progress(message)

    def status(self, provider_status: str, elapsed_s: float) -> None:
        self.ui.status(provider_status, elapsed_s)


def _service_to_update(store: StateStore, provider: InferenceProvider, request: DeployRequest,
                       update: bool, replace_model: bool) -> Record | None:
    name = request.service_name
    existing = store.get(name)
    live = existing is not None and existing.is_live
    if live and not update:  # early: before preflight's API calls
        raise NameTaken(name, existing.status.value, existing.request.model, request.model)
    if not update:
        return None
    provider.require(Feature.UPDATE)
    if not live:
        raise UsageError(f"--update needs a live service named {name!r}; deploy it first")
    if existing.provider != provider.name:
        raise UsageError(f"service {name!r} runs on {existing.provider}, not {provider.name}")
    if not existing.provider_ids:
        raise UsageError(f"service {name!r} has no deployment yet; destroy it and deploy again")
    if existing.request.model != request.model and not replace_model:
        raise UsageError(f"--update would replace {existing.request.model} with {request.model} "
                         f"behind {name}; pass --yes to do that, or choose another --service-name")
    return existing


def record_outcome(store: StateStore, record: Record, result: DeploymentResult,
                   request: DeployRequest, updating: bool) -> Record:
    """Bring the record in line with a deploy or wait that ended well. An update that is not yet
    serving changes nothing of what the record says serves."""
    serving = not updating or result.status.deployed
    changed = store.update(record.id, error=None,
                           provider_ids=result.provider_ids if serving else None,
                           status=result.status if serving else None,
                           endpoint_url=result.endpoint_url if serving else None,
                           request=request if serving else None,
                           candidate=None if serving else KEEP)
    if changed.status is Status.DESTROYED:
        raise TunaError(f"{record.service_name} was destroyed by another tuna process meanwhile")
    if serving and result.active_replicas is not None:
        store.observe(changed, result.active_replicas, cost.replica_price(changed))
    return changed


def record_failure(store: StateStore, record: Record, exc: Exception, updating: bool) -> None:
    """A timeout leaves the record deploying; a failed update leaves the serving one as it was."""
    if isinstance(exc, StillDeploying):
        changed = store.update(record.id, error=str(exc))
    elif updating:
        changed = store.update(record.id, error=f"update failed: {exc}", candidate=None,
                               provider_ids={"candidate_deployment_id": None})
    else:
        changed = store.update(record.id, status=Status.FAILED, error=str(exc))
    if changed.status is Status.DESTROYED:
        raise TunaError(f"{record.service_name} was destroyed by another tuna process while "
                        "tuna waited for it") from None


def _check_model(hub: Future | None, prepared: Prepared, preflight: Preflight,
                 ui: DeployEvents) -> tuple[ModelReport | None, DeployRequest]:
    """Refuse what the model cannot serve, and stop when the Hub cannot say
    (`--skip-model-check` is the way past a Hub out of reach). Returns the report and the request to plan, with the weights' size when the Hub told it and
    the revision pinned to the commit checked, so the weights served are the ones checked (a
    branch may move, and a weight cache may not notice)."""
    if hub is None:
        ui.progress("Model not checked (--skip-model-check)")
        return None, preflight.request
    try:
        facts = hub.result()
    except model_check.HubUnreachable as exc:
        # Unchecked, a model that cannot load or fit would still start a paid build.
        raise model_check.HubUnreachable(
            f"the model was not checked: {exc}; nothing was deployed. Check the network and "
            "HF_ENDPOINT, or pass --skip-model-check to deploy without the check") from None
    report = prepared.check_model(facts, preflight.request,
                                  token_reaches_provider=preflight.request.hf_secret is not None)
    ui.progress("Model checked: " + "; ".join(f"{k} {v}" for k, v in report.checked.items()))
    return report, _as_checked(preflight.request, facts)


def _as_checked(request: DeployRequest, facts: model_check.ModelFacts) -> DeployRequest:
    """The request as what was checked serves it: the weights' size, the checkpoint's own
    quantization, and the revision pinned to the commit read."""
    return replace(request, weights_gb=model_check.weights_gb(facts),
                   checkpoint_quantization=model_check.checkpoint_quantization(facts.config),
                   revision=facts.sha or request.revision)


def deploy(store: StateStore, request: DeployRequest, provider_name: str | None,
           ui: DeployEvents, wait_timeout: float | None, update: bool = False,
           replace_model: bool = False, skip_model_check: bool = False,
           parent_id: int | None = None) -> Deployed:
    """Prepare once (provider, offer, refusals), check with the provider, plan what it will
    serve, then deploy that plan."""
    prepared = prepare(request, provider_name, need_credentials=True)
    provider, name = prepared.provider, prepared.request.service_name
    if prepared.choice:
        ui.progress(prepared.choice)
    previous = _service_to_update(store, provider, prepared.request, update, replace_model)
    provider.warm_up()
    # The Hub is read while the provider checks the account: the check adds little wall time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hub = None if skip_model_check else pool.submit(
            model_check.fetch, prepared.request.model, prepared.request.revision)
        preflight = provider.preflight(prepared.request, previous)
        try:
            report, request = _check_model(hub, prepared, preflight, ui)
        except TunaError as refused:
            # Every reason at once, the account's first: a missing key is the real blocker.
            if preflight.failed:
                raise PreflightFailed(provider.name, preflight.failed, also=str(refused)) \
                    from None
            raise
    if preflight.failed:
        raise PreflightFailed(provider.name, preflight.failed)
    for check in preflight.checks:
        if check.warning:
            ui.progress(f"Warning: {check.name}: {check.detail}")
    plan = provider.plan(request)
    if preflight.replica_price is not None:
        plan = replace(plan, summary={**plan.summary, "price": prepared.offer.replica_price(
            request.gpu_count, account_hourly=preflight.replica_price)})
    return Deployed(run_recorded(store, provider, plan, ui, wait_timeout, preflight, previous,
                                 parent_id), plan, report)


def run_recorded(store: StateStore, provider: InferenceProvider, plan: Plan, ui: DeployEvents,
                 wait_timeout: float | None, preflight: Preflight, previous: Record | None = None,
                 parent_id: int | None = None, run=None) -> DeploymentResult:
    """Deploy a plan under a record written first, holding the provider's ids the moment they
    exist; `run(plan, events)` deploys it (default: the provider's deploy)."""
    name = plan.request.service_name
    if previous is None:
        record = store.create(Record(name, provider.name, Status.PENDING, plan.request,
                                     location=preflight.location, parent_id=parent_id))
        store.observe(record, 0, preflight.replica_price or cost.replica_price(record))
    else:
        record = store.update(previous.id, candidate=plan.request)
    events = _RecordingEvents(store, record, ui, updating=previous is not None)
    try:
        result = (run or (lambda plan_, events_: provider.deploy(plan_, events_, wait_timeout,
                                                                  previous)))(plan, events)
    except KeyboardInterrupt:
        # The remote deployment goes on; the record keeps its ids so it can be followed.
        store.update(record.id, error="interrupted while deploying")
        raise Interrupted(
            f"interrupted; {name} may still be deploying on {provider.name}: "
            f"`tuna wait --service-name {name}` follows it, `tuna destroy --service-name {name}` "
            "removes it") from None
    except Exception as exc:
        record_failure(store, record, exc, updating=previous is not None)
        if isinstance(exc, StillDeploying):
            raise StillDeploying(f"{exc}: `tuna wait --service-name {name}` waits again, "
                                 f"`tuna destroy --service-name {name}` removes it") from None
        raise
    record_outcome(store, record, result, plan.request, updating=previous is not None)
    return result
